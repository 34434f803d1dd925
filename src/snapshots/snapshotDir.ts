import { resolve } from 'node:path';

/**
 * The folder heatmap snapshots live in: `snapshots/` under the project root, or
 * `ROBUSTNESS_SNAPSHOT_DIR` (the plugin's `snapshotDir` option sets it for the run).
 */
export function snapshotDir(root = process.cwd(), env: NodeJS.ProcessEnv = process.env): string {
  return resolve(root, env.ROBUSTNESS_SNAPSHOT_DIR || 'snapshots');
}
