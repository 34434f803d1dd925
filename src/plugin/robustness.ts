import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vitest/config';
import RobustnessReporter, { ROBUSTNESS_REPORTER } from '../reporter.js';
import { type RobustnessPluginOptions, resolvePluginOptions } from './options.js';

// The setup entry and global setup beside this module: dist/*.js in the package, src/*.ts when this
// repository's own config loads the sources.
const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const file = (relative: string) => fileURLToPath(new URL(`${relative}${ext}`, import.meta.url));
export const SETUP_FILE = file('../setup');
export const GLOBAL_SETUP_FILE = file('./globalSetup');

const toArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function isRobustnessReporter(entry: unknown): boolean {
  const ref = Array.isArray(entry) ? entry[0] : entry;
  if (typeof ref === 'string') return ref === 'vitest-robustness/reporter';
  return typeof ref === 'object' && ref !== null && (ref as { [ROBUSTNESS_REPORTER]?: boolean })[ROBUSTNESS_REPORTER] === true;
}

/**
 * The Vitest plugin: `plugins: [robustness()]` in vitest.config.ts. It adds the setup entry
 * (backend, fast kernels, matchers) before your own setup files, the robustness reporter beside
 * your reporters, its global setup, and test and hook timeouts that fit attacks where your config
 * sets none.
 *
 * @param options - report and snapshot folders, a thresholds file to gate every run on, the timeout
 * @example
 * ```ts
 * import { defineConfig } from 'vitest/config';
 * import { robustness } from 'vitest-robustness/plugin';
 *
 * export default defineConfig({ plugins: [robustness({ thresholds: 'robustness.thresholds.json' })] });
 * ```
 */
export function robustness(options: RobustnessPluginOptions = {}): Plugin {
  const o = resolvePluginOptions(options);
  return {
    name: 'vitest-robustness',
    config(config) {
      const root = resolve(config.root ?? process.cwd());
      const test = (config.test ??= {});
      // First, so the backend is chosen before a setup file of yours makes a tensor.
      const setupFiles = toArray(test.setupFiles);
      if (!setupFiles.includes(SETUP_FILE)) test.setupFiles = [SETUP_FILE, ...setupFiles];
      const globalSetup = toArray(test.globalSetup);
      if (!globalSetup.includes(GLOBAL_SETUP_FILE)) test.globalSetup = [...globalSetup, GLOBAL_SETUP_FILE];
      test.testTimeout ??= o.timeout;
      test.hookTimeout ??= o.timeout;
      // Folders reach the workers (and the reporter) through the environment, resolved against the
      // root so every process agrees; an environment variable you set yourself wins.
      if (o.reportDir) process.env.ROBUSTNESS_REPORT_DIR ??= resolve(root, o.reportDir);
      if (o.snapshotDir) process.env.ROBUSTNESS_SNAPSHOT_DIR ??= resolve(root, o.snapshotDir);
    },
    configureVitest({ vitest }) {
      // Attacks share the cores among the test files Vitest runs at once (src/workers/pool.ts):
      // its maxWorkers, or when unset its default (cores - 1 in a run, half the cores in watch mode).
      const cores = availableParallelism();
      const files = Number(vitest.config.maxWorkers ?? (vitest.config.watch ? Math.max(Math.floor(cores / 2), 1) : Math.max(cores - 1, 1)));
      if (Number.isInteger(files) && files > 0) process.env.ROBUSTNESS_PARALLEL_FILES ??= String(files);
      // Reporters are created after this hook; one robustness reporter per run, even when several
      // projects use the plugin or the config already lists it.
      const reporters = vitest.config.reporters as unknown[];
      if (reporters.some(isRobustnessReporter)) return;
      reporters.push(new RobustnessReporter({ ignore: o.ignore, thresholds: o.thresholds, extensions: o.extensions }));
    },
  };
}
