import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { appendFileSync } from 'node:fs';
import { evaluateGate, gateTable, parseThresholds } from '../report/gate.js';
import { gateMarkdown } from '../report/gateMarkdown.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { RobustnessRecord } from '../record/record.js';
import { argError } from './args.js';

export const usage = `usage: robustness gate [--report reports/robustness.json] [--thresholds robustness.thresholds.json] [--markdown FILE]

Checks the measurements of the last \`npx vitest specs\` run against release thresholds, prints a
table of every rule against its measurements, and exits 1 naming every breached rule (a value
outside its bounds, a value that is not a number, or a rule with no measurement). Exit code 2: the
thresholds file or the report is missing or malformed, or an option is unknown. Thresholds file:
  { "rules": [ { "model": "resnet20-base", "metric": "robustAccuracy", "method": "pgd", "eps": "8/255", "min": 0.3 } ] }
rule keys: model ("*" for any), metric, min, max; selectors method, eps, params ({ "steps": 10 }),
test (full test name), spec (spec file)
metrics: robustAccuracy, successRate, ssd, density, snapshotDiffPixels, invariance
--markdown FILE writes the same table as Markdown; when $GITHUB_STEP_SUMMARY is set it is also
appended to the job summary.`;

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new Error(`${what} ${path} does not exist.${what === 'report' ? ' Run `npx vitest specs` with the vitest-robustness reporter first.' : ' Pass --thresholds FILE.'}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${what} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); give the path of a JSON file.`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} ${path} is not valid JSON (${(err as Error).message}).${what === 'report' ? ' Run the specs again to rewrite it.' : ''}`);
  }
}

/** The report's records, or an error naming the file when it is not a report written by our reporter. */
function readRecords(path: string): RobustnessRecord[] {
  const doc = readJson(path, 'report') as { records?: unknown } | null;
  const records = doc && typeof doc === 'object' && !Array.isArray(doc) ? doc.records : undefined;
  if (!Array.isArray(records)) throw new Error(`report ${path} has no "records" list; it is not a robustness report. Run \`npx vitest specs\` with the vitest-robustness reporter to write one.`);
  records.forEach((r, i) => {
    const rec = r as Partial<RobustnessRecord> | null;
    if (!rec || typeof rec !== 'object' || typeof rec.model !== 'string' || typeof rec.metric !== 'string') {
      throw new Error(`report ${path}: record ${i} is not a measurement (it needs "model" and "metric" strings). Run the specs again to rewrite the report.`);
    }
  });
  return records as RobustnessRecord[];
}

/** Exit 0 when every rule holds, 1 on a breach, 2 when the gate cannot judge (bad input). */
export async function run(args: string[]): Promise<number> {
  let records: RobustnessRecord[];
  let markdown: string | undefined;
  let rules;
  try {
    let values;
    try {
      values = parseArgs({ args, options: { report: { type: 'string' }, thresholds: { type: 'string' }, markdown: { type: 'string' } } }).values;
    } catch (err) {
      throw argError('gate', err);
    }
    markdown = values.markdown;
    const reportPath = values.report ?? 'reports/robustness.json';
    const thresholdsPath = values.thresholds ?? 'robustness.thresholds.json';
    rules = parseThresholds(readJson(thresholdsPath, 'thresholds file'), thresholdsPath);
    records = readRecords(reportPath);
  } catch (err) {
    console.error(`robustness gate: ${(err as Error).message}`);
    return 2;
  }
  const rows = evaluateGate(records, rules);
  const breaches = rows.filter((r) => !r.ok);
  console.log(gateTable(rows));
  const md = gateMarkdown(rows);
  if (markdown) writeFileAtomic(markdown, md);
  // Appending is the summary file's protocol: other steps write to it too.
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `${md}\n`);
  if (breaches.length) {
    console.error(`robustness gate: ${breaches.length} breach(es) of ${rules.length} rule(s):`);
    for (const b of breaches) console.error(`  - ${b.reason}`);
    return 1;
  }
  console.log(`robustness gate: all ${rules.length} rule(s) hold over ${rows.length} measurement(s).`);
  return 0;
}
