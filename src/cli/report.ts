import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RobustnessRecord } from '../record/record.js';
import { isReportSection, type ReportSection } from '../report/extension.js';
import { screenshotReport } from '../report/screenshot.js';
import { writeHtmlReport } from '../report/write.js';
import { parseFlags } from './args.js';

export const usage = `usage: robustness report [--report reports/robustness.json] [--screenshot reports/screenshot.png [--first-screen]]

Rebuilds reports/index.html from reports/robustness.json (or the --report given, which is only
read); --screenshot also renders it in headless
Chromium and saves a full-page PNG (--first-screen: only the first 1280x900, the tables).`;

/** What keeps a record from being drawn in the page, or undefined. */
function recordProblem(r: Record<string, unknown>): string | undefined {
  const missing: string[] = ['spec', 'test', 'model', 'metric', 'method'].filter((k) => typeof r[k] !== 'string');
  if (typeof r.n !== 'number') missing.push('n');
  if (typeof r.pass !== 'boolean') missing.push('pass');
  // A value is a number, or null where the measurement was NaN (JSON has no NaN).
  if (typeof r.value !== 'number' && r.value !== null) missing.push('value');
  const t = r.threshold as { op?: unknown; value?: unknown } | undefined;
  if (!t || typeof t !== 'object' || typeof t.op !== 'string') missing.push('threshold');
  if (r.artefacts !== undefined && !Array.isArray(r.artefacts)) missing.push('artefacts');
  if (r.params !== undefined && (typeof r.params !== 'object' || r.params === null)) missing.push('params');
  return missing.length ? `(model ${JSON.stringify(r.model)}, test ${JSON.stringify(r.test)}) lacks ${missing.join(', ')} or has the wrong type there` : undefined;
}

export async function run(args: string[]): Promise<number> {
  const values = parseFlags('report', { args, options: { report: { type: 'string' }, screenshot: { type: 'string' }, 'first-screen': { type: 'boolean' } } }).values;
  const path = values.report ?? 'reports/robustness.json';
  if (!existsSync(path)) throw new Error(`${path} does not exist. Run \`npx vitest specs\` first.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is not valid JSON (${(err as Error).message}); it is not a report of \`npx vitest specs\`. Run the specs again, or give --report the right file. Nothing was written.`);
  }
  const records = (parsed as { records?: unknown } | null)?.records;
  if (!Array.isArray(records) || !records.every((r) => r && typeof r === 'object' && !Array.isArray(r))) {
    throw new Error(`${path} is not a robustness report: it has no "records" list of checks (as reports/robustness.json has). Give --report the right file. Nothing was written.`);
  }
  records.forEach((r, i) => {
    const problem = recordProblem(r as Record<string, unknown>);
    if (problem) throw new Error(`${path}: record ${i} ${problem}; it is not a record of \`npx vitest specs\`. Run the specs again, or give --report the right file. Nothing was written.`);
  });
  // The report extensions' sections (the paper's, say) as the run that wrote the report kept them.
  const sections = (parsed as { sections?: unknown }).sections;
  if (sections !== undefined && !(Array.isArray(sections) && sections.every(isReportSection))) {
    throw new Error(`${path}: "sections" is not a list of { id, title, html } strings, as the reporter writes it; it is not a report of \`npx vitest specs\`. Run the specs again, or give --report the right file. Nothing was written.`);
  }
  // Only the page is rebuilt: the report it reads (perhaps another run's, given with --report)
  // stays as it is, and so does reports/robustness.json.
  const generated = (parsed as { generated?: unknown }).generated;
  const html = writeHtmlReport(records as RobustnessRecord[], process.cwd(), typeof generated === 'string' ? generated : undefined, (sections ?? []) as ReportSection[]);
  const extra = sections?.length ? `, ${sections.length} extension section${sections.length === 1 ? '' : 's'}` : '';
  console.log(`report: ${html} (${records.length} checks${extra})`);
  if (values.screenshot) {
    const check = await screenshotReport(html, resolve(values.screenshot), { fullPage: !values['first-screen'] });
    console.log(`screenshot: ${values.screenshot} (${check.rows} rows, ${check.images} images, ${check.brokenImages} broken)`);
  }
  return 0;
}
