import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import RobustnessReporter from './reporter.js';
import type { RobustnessRecord } from './record/record.js';
import type { ReportExtension } from './report/extension.js';

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

describe('RobustnessReporter with report extensions', () => {
  /** A run in a fresh root with the given extensions and records; returns the root and stderr. */
  async function runWith(extensions: unknown[], records: RobustnessRecord[], shard?: { index: number; count: number }): Promise<{ root: string; errors: string }> {
    const root = mkdtempSync(join(tmpdir(), 'reporter-ext-'));
    roots.push(root);
    const reporter = new RobustnessReporter({ extensions: extensions as never });
    reporter.onInit({ config: { root, shard } });
    mkdirSync(join(root, 'reports/.results'), { recursive: true });
    if (records.length) writeFileSync(join(root, 'reports/.results/1.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await reporter.onTestRunEnd();
    return { root, errors: error.mock.calls.map((c) => c.join(' ')).join('\n') };
  }

  it('gives each hook the records and report folder, adds its sections (linked) and its files, and leaves out a hook that throws', async () => {
    const seen: unknown[] = [];
    const page: ReportExtension = {
      name: 'page',
      onReport(ctx) {
        seen.push({ n: ctx.records.length, dir: ctx.reportDir, root: ctx.root });
        writeFileSync(join(ctx.reportDir, 'page.md'), `${ctx.records.length} checks\n`);
        return { sections: [{ id: 'mine', title: 'my section', html: '<h2>Mine</h2><p>hello</p>' }] };
      },
    };
    const broken: ReportExtension = {
      name: 'broken',
      onReport() {
        throw new Error('claim file damaged');
      },
    };
    const { root, errors } = await runWith([broken, page], [record]);
    expect(seen).toEqual([{ n: 1, dir: join(root, 'reports'), root }]);
    expect(readFileSync(join(root, 'reports/page.md'), 'utf8')).toBe('1 checks\n');
    const html = readFileSync(join(root, 'reports/index.html'), 'utf8');
    expect(html).toContain('<section id="mine" class="extension">\n<h2>Mine</h2><p>hello</p>\n</section>');
    expect(html).toContain('<a href="#mine">my section</a>');
    expect(errors).toMatch(/report extension 'broken' failed, its part of the report is left out: claim file damaged/);
  });

  it('writes index.html for a run without matcher calls only when an extension says it wrote something, and runs none on a shard', async () => {
    const quiet = await runWith([{ name: 'q', onReport: () => ({ sections: [{ id: 'q', title: 'q', html: 'q' }] }) }], []);
    expect(existsSync(join(quiet.root, 'reports/index.html'))).toBe(false);
    const updated = await runWith([{ name: 'u', onReport: () => ({ sections: [{ id: 'u', title: 'u', html: '<p>u</p>' }], updated: true }) }], []);
    expect(readFileSync(join(updated.root, 'reports/index.html'), 'utf8')).toContain('<p>u</p>');
    let called = false;
    await runWith([{ name: 's', onReport: () => void (called = true) }], [record], { index: 1, count: 2 });
    expect(called).toBe(false);
  });

  it('loads an extension from a module path (its default export, or a function making it), and names one that is not an extension', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reporter-ext-mod-'));
    roots.push(dir);
    writeFileSync(join(dir, 'ext.mjs'), "export default () => ({ name: 'from a file', onReport: () => ({ sections: [{ id: 'file', title: 'file', html: '<p>from a file</p>' }] }) });\n");
    writeFileSync(join(dir, 'bad.mjs'), 'export default { onReport: 1 };\n');
    const { root, errors } = await runWith([join(dir, 'ext.mjs'), join(dir, 'bad.mjs')], [record]);
    expect(readFileSync(join(root, 'reports/index.html'), 'utf8')).toContain('<p>from a file</p>');
    expect(errors).toMatch(/report extension .*bad\.mjs could not be loaded.*must be an object \{ name: string, onReport\(ctx\) \}/);
  });

  it('refuses extensions that are not a list of extensions or paths when set up, and sections that are not well formed', async () => {
    expect(() => new RobustnessReporter({ extensions: {} as never })).toThrow(/extensions must be an array/);
    expect(() => new RobustnessReporter({ extensions: [{ name: 'x' }] as never })).toThrow(/extensions\[0\] must be an object \{ name: string, onReport\(ctx\) \}/);
    expect(() => new RobustnessReporter({ extensions: [''] })).toThrow(/extensions\[0\] is an empty path/);
    const { errors } = await runWith([{ name: 'bad id', onReport: () => ({ sections: [{ id: '1 x', title: 't', html: '' }] }) }], [record]);
    expect(errors).toMatch(/report extension 'bad id' failed.*a section must be \{ id/);
  });
});

describe('the reporter in Vitest\'s main process', () => {
  it('loads without TensorFlow.js (a report extension that imports the package through the module runner would otherwise make a second copy, and 300 "already registered" warnings)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', "await import('./src/plugin/index.ts'); await import('./src/reporter.ts'); console.log('tf loaded:', typeof globalThis._tfengine !== 'undefined');"], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('tf loaded: false');
  });
});
