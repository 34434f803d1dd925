// The run as Markdown: what a CI job summary ($GITHUB_STEP_SUMMARY) or a pull-request comment shows.
import { budget, num } from './format.js';
import type { RobustnessRecord } from '../record/record.js';

const cell = (s: unknown) => String(s).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** A per-model count, then one row per check with its verdict, value, interval, threshold and n; failures first. */
export function renderMarkdownSummary(records: readonly RobustnessRecord[]): string {
  const models = [...new Set(records.map((r) => r.model))].sort();
  const failed = records.filter((r) => r.pass !== true).length;
  const lines = [`### Robustness: ${records.length - failed} of ${records.length} checks passed${failed ? `, **${failed} failed**` : ''}`, '', '| model | passed |', '| --- | --- |'];
  for (const m of models) {
    const rs = records.filter((r) => r.model === m);
    const ok = rs.filter((r) => r.pass === true).length;
    lines.push(`| ${cell(m)} | ${ok === rs.length ? '✅' : '❌'} ${ok} / ${rs.length} |`);
  }
  lines.push('', '| | model | test | check | value [95% interval] | threshold | n |', '| --- | --- | --- | --- | --- | --- | --- |');
  const ordered = [...records].sort((a, b) => Number(a.pass === true) - Number(b.pass === true));
  for (const r of ordered) {
    const eps = typeof r.params?.eps === 'number' ? ` eps ${budget(r.params.eps)}` : '';
    const interval = r.interval ? ` [${num(r.interval.lower)}, ${num(r.interval.upper)}]` : '';
    lines.push(`| ${r.pass === true ? '✅' : '❌'} | ${cell(r.model)} | ${cell(r.test)} | ${cell(r.method + eps)} ${cell(r.metric)} | ${num(r.value)}${interval} | ${cell(`${r.threshold?.op} ${r.threshold?.value}`)} | ${num(r.n)} |`);
  }
  const messages = records.filter((r) => r.pass !== true && r.message);
  if (messages.length) {
    lines.push('', '<details><summary>Failure messages</summary>', '');
    for (const r of messages) lines.push(`- **${cell(r.model)} · ${cell(r.test)}**: ${cell(r.message)}`);
    lines.push('', '</details>');
  }
  return `${lines.join('\n')}\n`;
}
