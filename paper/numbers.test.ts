// reports/paper.md carries the same numbers and verdicts as when the baseline was recorded
// (paper/paper-numbers.json): a change to the workbench or the library that moves a measured
// number fails here after `npm run paper`, naming the number. A change of numbers that is meant
// (new fixtures, another measurement) records a new baseline: `npx tsx paper/numbers.ts --write`.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BASELINE, numberDifferences, paperNumbers, type PaperNumbers } from './numbers.js';

describe('reports/paper.md numbers', () => {
  it('are the baseline numbers and verdicts, section by section', () => {
    const baseline = JSON.parse(readFileSync(BASELINE, 'utf8')) as PaperNumbers;
    const count = Object.values(baseline).reduce((s, v) => s + v.length, 0);
    // A baseline of nothing would let any report pass.
    expect(count).toBeGreaterThan(100);
    expect(numberDifferences(baseline, paperNumbers(readFileSync('reports/paper.md', 'utf8')))).toEqual([]);
  });

  it('a changed number, verdict or missing section is named; times of measurement are not numbers', () => {
    const md = [
      '# Title 1',
      '## Setup and how it differs',
      '| model | 12 |',
      '## Verdicts',
      '| Fig. 1 | **partly reproduced** | Density 0.170 at lambda 0 to 0.088 | 2026-12-02T11:01:17.098Z |',
      '## Fig. 1: average density',
      'accuracy 58.1%-60.4% [1,000 images]',
    ].join('\n');
    const base = paperNumbers(md);
    expect(base).toEqual({ Verdicts: ['1', 'partly reproduced', '0.170', '0', '0.088'], 'Fig. 1: average density': ['58.1%', '60.4%', '1,000'] });
    expect(numberDifferences(base, paperNumbers(md.replace('2026-12-02T11:01:17.098Z', '2027-01-01T00:00:00.000Z').replace('| model | 12 |', '| model | 13 |')))).toEqual([]);
    expect(numberDifferences(base, paperNumbers(md.replace('0.088', '0.089')))).toEqual([expect.stringMatching(/"Verdicts", token 5: was 0\.088, now 0\.089/)]);
    expect(numberDifferences(base, paperNumbers(md.replace('partly reproduced', 'reproduced')))).toEqual([expect.stringMatching(/token 2: was partly reproduced, now reproduced/)]);
    expect(numberDifferences(base, paperNumbers(md.replace('## Fig. 1: average density\n', ''))).join('\n')).toMatch(/section "Fig. 1: average density" is missing/);
  });
});
