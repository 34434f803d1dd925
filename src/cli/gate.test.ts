import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from './main.js';

const root = mkdtempSync(join(tmpdir(), 'cli-gate-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const record = (value: unknown) => ({ spec: 's.spec.ts', test: 'g > t', matcher: 'toResistAttack', model: 'm', backend: 'wasm', method: 'pgd', params: { eps: 8 / 255 }, metric: 'robustAccuracy', value, threshold: { op: '>=', value: 0.3 }, n: 50, pass: true, artefacts: [], time: '' });
const file = (name: string, content: unknown) => {
  const path = join(root, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};
const rules = file('rules.json', { rules: [{ model: 'm', metric: 'robustAccuracy', method: 'pgd', eps: '8/255', min: 0.3 }] });

/** Runs `robustness gate ...` and returns its exit code and what it printed. */
async function gate(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const error = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    const code = await main(['gate', ...args]);
    return { code, out: log.mock.calls.map((c) => String(c[0])).join('\n'), err: error.mock.calls.map((c) => String(c[0])).join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('robustness gate exit codes', () => {
  it('exits 0 when every rule holds, printing the table', async () => {
    const r = await gate('--report', file('ok.json', { records: [record(0.4)] }), '--thresholds', rules);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/m robustAccuracy \(pgd, eps 8\/255\)\s+0\.4000\s+>= 0\.3\s+ok/);
  });

  it('exits 1 on a breach, naming it', async () => {
    const r = await gate('--report', file('low.json', { records: [record(0.2)] }), '--thresholds', rules);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/0\.2000 < min 0\.3/);
  });

  it('exits 1 when the report holds null where a value should be (NaN in the run)', async () => {
    const r = await gate('--report', file('nan.json', { records: [record(null)] }), '--thresholds', rules);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/the value is null, not a finite number/);
  });

  it('exits 2 on a thresholds file that breaks the rules of the format, naming the file', async () => {
    const r = await gate('--report', file('ok2.json', { records: [record(0.4)] }), '--thresholds', file('pct.json', { rules: [{ model: 'm', metric: 'robustAccuracy', min: '90%' }] }));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/pct\.json: rule 0 \(m robustAccuracy\): "min" must be a number; got "90%"/);
  });

  it('exits 2 on a missing report', async () => {
    const r = await gate('--report', join(root, 'nope.json'), '--thresholds', rules);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/report .*nope\.json does not exist/);
  });

  it('exits 2 on a report that is not JSON, naming the file', async () => {
    const r = await gate('--report', file('broken.json', '{"records": [ {"model"'), '--thresholds', rules);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/report .*broken\.json is not valid JSON/);
  });

  it('exits 2 on JSON that is not a report', async () => {
    const r = await gate('--report', file('list.json', [record(0.4)]), '--thresholds', rules);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/list\.json has no "records" list/);
  });

  it('exits 2 on a missing thresholds file', async () => {
    const r = await gate('--report', file('ok3.json', { records: [record(0.4)] }), '--thresholds', join(root, 'none.json'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/thresholds file .*none\.json does not exist/);
  });

  it('exits 2 on an unknown flag or a stray argument', async () => {
    const r = await gate('--treshold', rules);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Unknown option '--treshold'.*robustness gate --help/);
    expect((await gate('reports/robustness.json')).code).toBe(2);
  });
});

describe('robustness gate: other unreadable inputs', () => {
  it('exits 2 on a report path that is a folder, naming it', async () => {
    const r = await gate('--report', root, '--thresholds', rules);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/report .* cannot be read \(EISDIR\); give the path of a JSON file/);
  });
});
