import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { type BackendInfo, describeBackend } from './select.js';

/**
 * The file whose creation claims the run's one backend line. The plugin's global setup names a
 * fresh one per run (and removes it after); without the plugin it is keyed by the Vitest process,
 * which is the parent of a forked worker and the process of a thread worker.
 */
export function announceMarker(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ROBUSTNESS_ANNOUNCE_MARKER) return env.ROBUSTNESS_ANNOUNCE_MARKER;
  const runner = isMainThread ? process.ppid : process.pid;
  return join(tmpdir(), `vitest-robustness-announced-${runner}`);
}

/**
 * Prints `[vitest-robustness] tfjs backend: ...` once per Vitest run: Vitest 4 starts a fresh
 * worker per spec file, so a per-process flag would print it once per file. The first worker to
 * create the marker file prints; the others see it exists. Returns whether this call printed.
 */
export function announceOncePerRun(info: BackendInfo, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.ROBUSTNESS_QUIET) return false;
  try {
    writeFileSync(announceMarker(env), `${process.pid}\n`, { flag: 'wx' });
  } catch (err) {
    // Another worker printed it. Any other failure (no writable temp folder) prints rather than
    // leaving the run without its backend line.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
  }
  process.stderr.write(`[vitest-robustness] ${describeBackend(info)}\n`);
  return true;
}
