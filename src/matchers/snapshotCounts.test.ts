// Heatmap snapshots in Vitest's own "Snapshots" summary line, read from a child Vitest run the way
// a user sees it: written ones as "written", a mismatch and a snapshot missing in CI as "failed".
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = process.cwd();
// Inside the checkout (ignored by git) so the spec resolves vitest and tfjs from its node_modules.
const root = resolve(repo, '.scratch', `snapshot-counts-${process.pid}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const src = (p: string) => JSON.stringify(resolve(repo, 'src', p));

const config = `import { defineConfig } from 'vitest/config';
export default defineConfig({ test: {
  include: ['specs/**/*.spec.ts'],
  setupFiles: [${src('test-support/setup-env.ts')}, ${src('setup.ts')}],
  reporters: ['default'],
  env: { ROBUSTNESS_OFFLINE: '1' },
  testTimeout: 60_000,
} });
`;

// The same 8x8 ramp twice: the second test shifts it, so it differs from the snapshot the first wrote.
const spec = `import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
const ramp = (s: number) => tf.tidy(() => tf.linspace(0, 1, 64).add(s).mod(1).reshape([8, 8]));
it('keeps the ramp', async () => { const m = ramp(0); await expect(m).toMatchHeatmapSnapshot('ramp'); m.dispose(); });
it('keeps the shifted ramp', async () => { const m = ramp(0.3); await expect(m).toMatchHeatmapSnapshot('ramp'); m.dispose(); });
`;

/** The child run's "Snapshots" summary, one line: e.g. "1 written 1 failed". */
function summary(ci: boolean): string {
  // Vitest reads CI from the environment (std-env), so a local run has no CI variable at all.
  const { CI: _, GITHUB_ACTIONS: __, ...env } = process.env;
  const run = spawnSync(process.execPath, [resolve(repo, 'node_modules/vitest/vitest.mjs'), 'run', '--root', root], { cwd: root, encoding: 'utf8', env: { ...env, NO_COLOR: '1', FORCE_COLOR: '0', GITHUB_STEP_SUMMARY: '', ...(ci ? { CI: 'true' } : {}) } });
  const out = `${run.stdout}\n${run.stderr}`;
  // Both tests ran and the shifted one failed: the counts below are of a real mismatch.
  expect(out, out).toMatch(/Tests\s+1 failed \| 1 passed \(2\)|Tests\s+2 failed \(2\)/);
  const lines = out.split('\n');
  const at = lines.findIndex((l) => /^\s*Snapshots\s/.test(l));
  expect(at, out).toBeGreaterThanOrEqual(0);
  const rest = lines.slice(at + 1).findIndex((l) => !/^\s+\d+ \w+\s*$/.test(l));
  return lines.slice(at, at + 1 + rest).join(' ').replace(/^\s*Snapshots\s+/, '').replace(/\s+/g, ' ').trim();
}

describe("heatmap snapshots in Vitest's summary", () => {
  it('shows a written snapshot as "written" and a mismatch, or a snapshot missing in CI, as "failed"', () => {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(join(root, 'specs'), { recursive: true });
    writeFileSync(join(root, 'vitest.config.ts'), config);
    writeFileSync(join(root, 'specs', 'ramp.spec.ts'), spec);
    // In CI nothing is written: both are missing, both fail.
    expect(summary(true)).toBe('2 failed');
    // Locally the first writes it and the shifted one then differs from it.
    expect(summary(false)).toBe('1 written 1 failed');
    // Now stored: the first matches (Vitest does not print matches), the shifted one fails again.
    expect(summary(false)).toBe('1 failed');
  }, 120_000);
});
