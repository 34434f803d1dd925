// `robustness gate --markdown FILE` and the job summary: the gate's table as Markdown.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from './main.js';

const root = mkdtempSync(join(tmpdir(), 'cli-gate-md-'));
afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(root, { recursive: true, force: true });
});

const record = (test: string, value: number) => ({ spec: 's.spec.ts', test, matcher: 'toResistAttack', model: 'm', backend: 'wasm', method: 'pgd', params: { eps: 8 / 255 }, metric: 'robustAccuracy', value, threshold: { op: '>=', value: 0.3 }, n: 50, pass: value >= 0.3, artefacts: [], time: '' });

describe('robustness gate --markdown', () => {
  it('writes the table as Markdown, breaches first, and appends it to $GITHUB_STEP_SUMMARY when set', async () => {
    const report = join(root, 'r.json');
    writeFileSync(report, JSON.stringify({ records: [record('g > a|b', 0.4), record('g > c', 0.2)] }));
    const rules = join(root, 'rules.json');
    writeFileSync(rules, JSON.stringify({ rules: [{ model: 'm', metric: 'robustAccuracy', method: 'pgd', min: 0.3 }] }));
    const summary = join(root, 'summary.md');
    writeFileSync(summary, 'earlier\n');
    vi.stubEnv('GITHUB_STEP_SUMMARY', summary);
    const md = join(root, 'gate.md');
    vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main(['gate', '--report', report, '--thresholds', rules, '--markdown', md])).toBe(1);
    } finally {
      vi.restoreAllMocks();
    }
    const text = readFileSync(md, 'utf8');
    expect(text).toContain('### Release gate: ❌ 1 breach (2 measurements)');
    const rows = text.split('\n').filter((l) => /^\| (✅|❌) \|/.test(l));
    expect(rows).toEqual([
      '| ❌ | m robustAccuracy (pgd) | 0.2000 | >= 0.3 | s.spec.ts > g > c (n=50) |',
      '| ✅ | m robustAccuracy (pgd) | 0.4000 | >= 0.3 | s.spec.ts > g > a\\|b (n=50) |',
    ]);
    expect(readFileSync(summary, 'utf8')).toBe(`earlier\n${text}\n`);
  });
});
