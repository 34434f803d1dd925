// The gate's verdict as Markdown, for a CI job summary or a pull-request comment.
import type { GateRow } from './gate.js';

const cell = (s: unknown) => String(s).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** The same rows as the gate's text table (rule, value, bound, verdict, where), breaches first. */
export function gateMarkdown(rows: readonly GateRow[]): string {
  const breaches = rows.filter((r) => !r.ok).length;
  const bound = (row: GateRow) => [row.rule.min !== undefined ? `>= ${row.rule.min}` : '', row.rule.max !== undefined ? `<= ${row.rule.max}` : ''].filter(Boolean).join(', ');
  const value = (row: GateRow) => (!row.record ? 'missing' : typeof row.record.value === 'number' && Number.isFinite(row.record.value) ? row.record.value.toFixed(4) : String(row.record.value));
  const lines = [
    `### Release gate: ${breaches ? `❌ ${breaches} breach${breaches > 1 ? 'es' : ''}` : '✅ every rule holds'} (${rows.length} measurement${rows.length === 1 ? '' : 's'})`,
    '',
    '| | rule | value | bound | measured in |',
    '| --- | --- | --- | --- | --- |',
    ...[...rows]
      .sort((a, b) => Number(a.ok) - Number(b.ok))
      .map((row) => `| ${row.ok ? '✅' : '❌'} | ${cell(row.label)} | ${cell(value(row))} | ${cell(bound(row))} | ${row.record ? cell(`${row.record.spec} > ${row.record.test} (n=${row.record.n})`) : '-'} |`),
  ];
  const reasons = rows.filter((r) => !r.ok && r.reason);
  if (reasons.length) lines.push('', ...reasons.map((r) => `- ${cell(r.reason)}`));
  return `${lines.join('\n')}\n`;
}
