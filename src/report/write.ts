import { resolve } from 'node:path';
import { writeFileAtomic } from '../data/atomic.js';
import { renderHtml } from './html.js';
import type { RobustnessRecord } from './record.js';

/** Writes reports/robustness.json and the self-contained reports/index.html. */
export function writeReport(records: readonly RobustnessRecord[], root = process.cwd()): { json: string; html: string } {
  const json = resolve(root, 'reports', 'robustness.json');
  const html = resolve(root, 'reports', 'index.html');
  const generated = new Date().toISOString();
  writeFileAtomic(json, `${JSON.stringify({ generated, records }, null, 2)}\n`);
  writeFileAtomic(html, renderHtml(records, { generated, root }));
  return { json, html };
}
