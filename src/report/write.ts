import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { renderMarkdownSummary } from './markdown.js';
import type { ReportSection } from './extension.js';
import type { RobustnessRecord } from '../record/record.js';
import { reportDir } from '../record/reportDir.js';

/**
 * Writes only the self-contained index.html in the report folder (reports/ unless configured): the
 * records' tables and images, then the sections report extensions added.
 */
export function writeHtmlReport(records: readonly RobustnessRecord[], root = process.cwd(), generated = new Date().toISOString(), sections: readonly ReportSection[] = []): string {
  const html = join(reportDir(root), 'index.html');
  writeFileAtomic(html, renderHtml(records, { generated, root, sections }));
  return html;
}

/**
 * Writes robustness.json, the self-contained index.html and junit.xml (one testcase per check,
 * for a CI system's test view) in the report folder (reports/ unless configured). The extensions'
 * sections are kept in robustness.json too, so that `robustness report` rebuilds the same page.
 */
export function writeReport(records: readonly RobustnessRecord[], root = process.cwd(), sections: readonly ReportSection[] = []): { json: string; html: string; junit: string } {
  const json = join(reportDir(root), 'robustness.json');
  const junit = join(reportDir(root), 'junit.xml');
  const generated = new Date().toISOString();
  const body = sections.length ? { generated, records, sections } : { generated, records };
  writeFileAtomic(json, `${JSON.stringify(body, null, 2)}\n`);
  writeFileAtomic(junit, renderJunit(records, generated));
  return { json, html: writeHtmlReport(records, root, generated, sections), junit };
}

/**
 * Appends the run's Markdown summary to the file GitHub Actions names in $GITHUB_STEP_SUMMARY
 * (appending is that file's protocol: other steps write to it too); returns it, or undefined when
 * the variable is not set.
 */
export function writeStepSummary(records: readonly RobustnessRecord[], env: NodeJS.ProcessEnv = process.env, extra: readonly string[] = []): string | undefined {
  const path = env.GITHUB_STEP_SUMMARY;
  if (!path) return undefined;
  appendFileSync(path, `${[renderMarkdownSummary(records), ...extra].join('\n\n')}\n`);
  return path;
}
