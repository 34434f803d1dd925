import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkGate, parseThresholds } from '../report/gate.js';
import type { RobustnessRecord } from '../report/record.js';
import { argError } from './args.js';

export const usage = `usage: robustness gate [--report reports/robustness.json] [--thresholds robustness.thresholds.json]

Checks the measurements of the last \`npx vitest specs\` run against release thresholds and exits 1
naming every breached rule (or a rule with no measurement). Thresholds file:
  { "rules": [ { "model": "resnet20-base", "metric": "robustAccuracy", "method": "pgd", "min": 0.3 } ] }
metrics: robustAccuracy, successRate, ssd, density, snapshotDiffPixels, invariance`;

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new Error(`${what} ${path} does not exist.${what === 'report' ? ' Run `npx vitest specs` first.' : ''}`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${what} ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({ args, options: { report: { type: 'string' }, thresholds: { type: 'string' } } }).values;
  } catch (err) {
    throw argError('gate', err);
  }
  const reportPath = values.report ?? 'reports/robustness.json';
  const thresholdsPath = values.thresholds ?? 'robustness.thresholds.json';
  const records = ((readJson(reportPath, 'report') as { records?: RobustnessRecord[] }).records ?? []) as RobustnessRecord[];
  const rules = parseThresholds(readJson(thresholdsPath, 'thresholds file'), thresholdsPath);
  const breaches = checkGate(records, rules);
  if (breaches.length) {
    console.error(`robustness gate: ${breaches.length} breach(es) of ${rules.length} rule(s):`);
    for (const b of breaches) console.error(`  - ${b.reason}`);
    return 1;
  }
  console.log(`robustness gate: all ${rules.length} rule(s) hold over ${records.length} measurement(s).`);
  return 0;
}
