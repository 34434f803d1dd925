import { join } from 'node:path';
import { writeFileAtomic } from '../data/atomic.js';
import { renderHtml } from './html.js';
import { readClaims, type PaperClaim } from './paper.js';
import type { RobustnessRecord } from './record.js';
import { reportDir } from './reportDir.js';

/** The paper claims for the HTML report; a damaged claim file costs only the paper section. */
function paperClaims(root: string): PaperClaim[] {
  try {
    return readClaims(root);
  } catch (err) {
    console.warn(`[vitest-robustness] the paper section is left out of the report: ${(err as Error).message}`);
    return [];
  }
}

/**
 * Writes only the self-contained index.html in the report folder (reports/ unless configured): the
 * records' tables and images, and the paper reproduction section when reports/paper/*.claim.json
 * exist.
 */
export function writeHtmlReport(records: readonly RobustnessRecord[], root = process.cwd(), generated = new Date().toISOString()): string {
  const html = join(reportDir(root), 'index.html');
  writeFileAtomic(html, renderHtml(records, { generated, root, paper: paperClaims(root) }));
  return html;
}

/** Writes reports/robustness.json and the self-contained reports/index.html. */
export function writeReport(records: readonly RobustnessRecord[], root = process.cwd()): { json: string; html: string } {
  const json = join(reportDir(root), 'robustness.json');
  const generated = new Date().toISOString();
  writeFileAtomic(json, `${JSON.stringify({ generated, records }, null, 2)}\n`);
  return { json, html: writeHtmlReport(records, root, generated) };
}
