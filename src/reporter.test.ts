import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import RobustnessReporter from './reporter.js';
import type { RobustnessRecord } from './record/record.js';

const record: RobustnessRecord = {
  spec: 'specs/a.spec.ts',
  test: 'resists',
  matcher: 'toResistAttack',
  model: 'm1',
  backend: 'wasm',
  method: 'pgd',
  params: {},
  metric: 'robustAccuracy',
  value: 0.4,
  threshold: { op: '>=', value: 0.3 },
  n: 100,
  pass: true,
  artefacts: [],
  time: '2026-12-02T00:00:00.000Z',
};

const roots: string[] = [];
const exitCode = process.exitCode;
afterEach(() => {
  process.exitCode = exitCode;
  vi.restoreAllMocks();
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** One run of the reporter over `records` in a fresh root, with a thresholds file of `rules`. */
async function run(rules: unknown[] | undefined, records: RobustnessRecord[] = [record]): Promise<{ code: typeof process.exitCode; errors: string }> {
  const root = mkdtempSync(join(tmpdir(), 'reporter-test-'));
  roots.push(root);
  if (rules) writeFileSync(join(root, 'gate.json'), JSON.stringify({ rules }));
  const reporter = new RobustnessReporter({ thresholds: 'gate.json' });
  reporter.onInit({ config: { root } });
  mkdirSync(join(root, 'reports/.results'), { recursive: true });
  writeFileSync(join(root, 'reports/.results/1.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  process.exitCode = undefined;
  await reporter.onTestRunEnd();
  expect(existsSync(join(root, 'reports/robustness.json'))).toBe(true);
  return { code: process.exitCode, errors: error.mock.calls.map((c) => c.join(' ')).join('\n') };
}

describe('RobustnessReporter with a thresholds file', () => {
  it('leaves the exit code alone when every rule holds', async () => {
    expect(await run([{ model: 'm1', metric: 'robustAccuracy', method: 'pgd', min: 0.3 }])).toEqual({ code: undefined, errors: '' });
  });

  it('fails the run naming a breached rule, a rule with no measurement, or a missing thresholds file', async () => {
    const breached = await run([{ model: 'm1', metric: 'robustAccuracy', method: 'pgd', min: 0.5 }]);
    expect(breached.code).toBe(1);
    expect(breached.errors).toMatch(/release gate: 1 breach\(es\) of gate\.json/);
    expect(breached.errors).toMatch(/m1 robustAccuracy \(pgd\): 0\.4000 < min 0\.5/);
    const unmeasured = await run([{ model: 'm2', metric: 'ssd', max: 20 }]);
    expect(unmeasured.code).toBe(1);
    expect(unmeasured.errors).toMatch(/m2 ssd: no measurement/);
    const missing = await run(undefined);
    expect(missing.code).toBe(1);
    expect(missing.errors).toMatch(/release gate not checked: the thresholds file .*gate\.json does not exist/);
  });
});
