import { resolve } from 'node:path';

/**
 * The folder robustness.json, index.html and the matchers' saved images go to: `reports/` under the
 * project root, or `ROBUSTNESS_REPORT_DIR` (the plugin's `reportDir` option sets it for the run).
 * The paper reproduction keeps its own place under reports/.
 */
export function reportDir(root = process.cwd(), env: NodeJS.ProcessEnv = process.env): string {
  return resolve(root, env.ROBUSTNESS_REPORT_DIR || 'reports');
}
