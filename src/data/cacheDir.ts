import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Where downloads and decoded datasets are kept: `ROBUSTNESS_CACHE`, else
 * `$XDG_CACHE_HOME/vitest-robustness`, else `~/.cache/vitest-robustness`.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ROBUSTNESS_CACHE) return resolve(env.ROBUSTNESS_CACHE);
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'vitest-robustness');
}
