import { checkExtensions, type ReportExtensionRef } from '../report/extension.js';

/** Options of the {@link robustness} Vitest plugin. */
export interface RobustnessPluginOptions {
  /**
   * Folder for robustness.json, index.html and the images the matchers save, relative to the
   * project root. @defaultValue 'reports'
   */
  reportDir?: string;
  /**
   * Folder of the heatmap snapshots `toMatchHeatmapSnapshot` compares with, relative to the root.
   * @defaultValue 'snapshots'
   */
  snapshotDir?: string;
  /**
   * A thresholds file (`{ "rules": [...] }`, the one `npx robustness gate` reads). When given, the
   * gate is checked at the end of every run and a breached rule fails the run.
   * @defaultValue undefined: the run does not gate; `npx robustness gate` does
   */
  thresholds?: string;
  /**
   * Test and hook timeout, in ms, for a config that sets none (your own `testTimeout` and
   * `hookTimeout` win). An attack on a few hundred images takes seconds to minutes on a CPU, far
   * beyond Vitest's 5 s default. @defaultValue 600_000 (10 minutes)
   */
  timeout?: number;
  /** Leave out of the report the records of spec files whose path matches this regex. */
  ignore?: string;
  /**
   * Report extensions: each adds sections to index.html, and pages or files of its own, from the
   * run's records: `{ name, onReport(ctx) }` objects (see ReportExtension), or paths of modules
   * whose default export is one, imported through Vitest at the end of the run. @defaultValue []
   */
  extensions?: readonly ReportExtensionRef[];
}

export type ResolvedPluginOptions = Required<Pick<RobustnessPluginOptions, 'timeout'>> & Omit<RobustnessPluginOptions, 'timeout'>;

/** 10 minutes: room for an attack on a few hundred images on a 2-core CPU. */
export const DEFAULT_TIMEOUT = 600_000;

const KEYS = ['reportDir', 'snapshotDir', 'thresholds', 'timeout', 'ignore', 'extensions'] as const;

function checkPath(options: RobustnessPluginOptions, key: 'reportDir' | 'snapshotDir' | 'thresholds'): void {
  const v = options[key];
  if (v !== undefined && (typeof v !== 'string' || v.trim() === '')) {
    throw new TypeError(`robustness(): ${key} must be a non-empty path relative to the project root; got ${JSON.stringify(v)}.`);
  }
}

/** Checks the plugin's options and fills the defaults (written once, here). */
export function resolvePluginOptions(options: RobustnessPluginOptions = {}): ResolvedPluginOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError(`robustness(): options must be an object; got ${String(options)}.`);
  const unknown = Object.keys(options).filter((k) => !(KEYS as readonly string[]).includes(k));
  if (unknown.length) throw new TypeError(`robustness(): unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; known: ${KEYS.join(', ')}.`);
  checkPath(options, 'reportDir');
  checkPath(options, 'snapshotDir');
  checkPath(options, 'thresholds');
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  if (!(Number.isInteger(timeout) && timeout > 0)) throw new RangeError(`robustness(): timeout must be a positive whole number of milliseconds; got ${String(options.timeout)}.`);
  if (options.ignore !== undefined) {
    try {
      new RegExp(options.ignore);
    } catch (err) {
      throw new TypeError(`robustness(): ignore must be a regular expression; ${(err as Error).message}.`);
    }
  }
  checkExtensions(options.extensions, 'robustness()');
  return { ...options, timeout };
}
