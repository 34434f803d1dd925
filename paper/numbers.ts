// The numbers and verdicts of reports/paper.md, per section, for the check that a change to the
// workbench (the move out of src/, the specs' switch to the matchers) leaves them as they were.
// Times of measurement are left out (they change on every run), and so is the setup section,
// whose models table lists whatever fixtures are present rather than what the claims measured.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from 'vitest-robustness';

const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z/g;
const NUMBER = /(?:(?<=^|[\s([|:;])[-+])?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?%?/gi;
const VERDICT = /\b(?:partly reproduced|not reproduced|reproduced|not measured|more robust|less robust|no difference)\b/g;

/** Per section heading of the report (setup left out): its numbers and verdict words in order. */
export type PaperNumbers = Record<string, string[]>;

export function paperNumbers(markdown: string): PaperNumbers {
  const out: PaperNumbers = {};
  let section = '(title)';
  for (const line of markdown.replace(/\r\n/g, '\n').split('\n')) {
    if (line.startsWith('## ')) {
      section = line.slice(3).trim();
      continue;
    }
    if (section.startsWith('Setup')) continue;
    const text = line.replace(ISO_TIME, '<time>');
    const tokens = [...text.matchAll(new RegExp(`${VERDICT.source}|${NUMBER.source}`, 'gi'))].map((m) => m[0]);
    if (tokens.length) (out[section] ??= []).push(...tokens);
  }
  delete out['(title)'];
  return out;
}

/** The first differences between two extractions, as readable lines (empty when they agree). */
export function numberDifferences(expected: PaperNumbers, actual: PaperNumbers, max = 20): string[] {
  const diffs: string[] = [];
  for (const section of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    const a = expected[section];
    const b = actual[section];
    if (!a || !b) {
      diffs.push(`section "${section}" is ${a ? 'missing from the report' : 'new in the report'}`);
      continue;
    }
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (a[i] !== b[i]) diffs.push(`"${section}", token ${i + 1}: was ${a[i] ?? '(none)'}, now ${b[i] ?? '(none)'} (context: ... ${b.slice(Math.max(0, i - 3), i + 3).join(' ')} ...)`);
    }
  }
  return diffs.slice(0, max);
}

export const BASELINE = fileURLToPath(new URL('./paper-numbers.json', import.meta.url));

// `npx tsx paper/numbers.ts --write` records the numbers of the current reports/paper.md as the
// baseline; do it only when a change of numbers is meant (new fixtures, a new measurement).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv.includes('--write')) {
  const numbers = paperNumbers(readFileSync('reports/paper.md', 'utf8'));
  writeFileAtomic(BASELINE, `${JSON.stringify(numbers, null, 1)}\n`);
  console.log(`${BASELINE}: ${Object.values(numbers).reduce((s, v) => s + v.length, 0)} numbers and verdicts in ${Object.keys(numbers).length} sections`);
}
