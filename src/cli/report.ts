import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { RobustnessRecord } from '../report/record.js';
import { screenshotReport } from '../report/screenshot.js';
import { writeReport } from '../report/write.js';
import { argError } from './args.js';

export const usage = `usage: robustness report [--report reports/robustness.json] [--screenshot reports/screenshot.png [--first-screen]]

Rebuilds reports/index.html from reports/robustness.json; --screenshot also renders it in headless
Chromium and saves a full-page PNG (--first-screen: only the first 1280x900, the tables).`;

export async function run(args: string[]): Promise<number> {
  let values;
  try {
    values = parseArgs({ args, options: { report: { type: 'string' }, screenshot: { type: 'string' }, 'first-screen': { type: 'boolean' } } }).values;
  } catch (err) {
    throw argError('report', err);
  }
  const path = values.report ?? 'reports/robustness.json';
  if (!existsSync(path)) throw new Error(`${path} does not exist. Run \`npx vitest specs\` first.`);
  const records = (JSON.parse(readFileSync(path, 'utf8')) as { records: RobustnessRecord[] }).records;
  const { html } = writeReport(records);
  console.log(`report: ${html} (${records.length} checks)`);
  if (values.screenshot) {
    const check = await screenshotReport(html, resolve(values.screenshot), { fullPage: !values['first-screen'] });
    console.log(`screenshot: ${values.screenshot} (${check.rows} rows, ${check.images} images, ${check.brokenImages} broken)`);
  }
  return 0;
}
