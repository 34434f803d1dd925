import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { announceMarker, announceOncePerRun } from './announce.js';
import type { BackendInfo } from './select.js';

const dir = mkdtempSync(join(tmpdir(), 'announce-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const info: BackendInfo = { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', forced: false, skipped: [] };

describe('announceOncePerRun', () => {
  it('prints the backend line for the first caller of a run and stays quiet for the rest', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const env = { ROBUSTNESS_ANNOUNCE_MARKER: join(dir, 'run-1') };
      expect(announceOncePerRun(info, env)).toBe(true);
      expect(announceOncePerRun(info, env)).toBe(false);
      expect(announceOncePerRun(info, { ROBUSTNESS_ANNOUNCE_MARKER: join(dir, 'run-2') })).toBe(true);
      expect(write.mock.calls.map((c) => c[0])).toEqual(['[vitest-robustness] tfjs backend: wasm from @tensorflow/tfjs-backend-wasm\n', '[vitest-robustness] tfjs backend: wasm from @tensorflow/tfjs-backend-wasm\n']);
      expect(announceOncePerRun(info, { ROBUSTNESS_QUIET: '1', ROBUSTNESS_ANNOUNCE_MARKER: join(dir, 'run-3') })).toBe(false);
      expect(existsSync(join(dir, 'run-3'))).toBe(false);
    } finally {
      write.mockRestore();
    }
  });

  it('keys the marker by the Vitest process without a plugin-made one', () => {
    expect(announceMarker({ ROBUSTNESS_ANNOUNCE_MARKER: '/x/y' })).toBe('/x/y');
    // Here, in a forked worker, the Vitest process is the parent.
    expect(announceMarker({})).toBe(join(tmpdir(), `vitest-robustness-announced-${process.ppid}`));
  });
});

describe('silenceNodeBanner', () => {
  // In a fresh process, since the cpu backend prints its banner once per process.
  const run = (silence: boolean) =>
    spawnSync(process.execPath, ['--import', 'tsx', '-e', `import * as tf from '@tensorflow/tfjs'; ${silence ? "const { silenceNodeBanner } = await import('./src/backend/banner.ts'); silenceNodeBanner();" : ''} await tf.setBackend('cpu'); tf.tensor([1, 2]).dispose();`], { encoding: 'utf8', timeout: 60_000 });

  it("keeps tfjs's Node.js banner from printing on the cpu backend (and the banner does print without it)", () => {
    const loud = run(false);
    expect(loud.status, loud.stderr).toBe(0);
    expect(loud.stdout + loud.stderr).toMatch(/running TensorFlow\.js in Node\.js/);
    const quiet = run(true);
    expect(quiet.status, quiet.stderr).toBe(0);
    expect(quiet.stdout + quiet.stderr).not.toMatch(/running TensorFlow\.js in Node\.js/);
  });
});
