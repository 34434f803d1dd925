import { esc } from './format.js';
import type { RobustnessRecord } from '../record/record.js';

const pct = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : esc(String(v)));

/**
 * A check's evaluation flags (failing or warnings), its per-class breakdown and where its
 * per-sample outcomes are, for its section of the HTML report. Anything a hand-edited or damaged
 * report holds there is escaped, and skipped when it has the wrong shape.
 */
export function renderCheckExtras(r: RobustnessRecord): string {
  const parts: string[] = [];
  const flags = Array.isArray(r.flags) ? r.flags.filter((f) => f && typeof f === 'object') : [];
  if (flags.length) {
    parts.push(
      `<div class="flags"><b>Evaluation flags</b><ul>${flags
        .map((f) => `<li class="${f.failing === true ? 'failing' : 'warning'}"><b>${esc(f.name)}</b> (${f.failing === true ? 'failed the check' : 'warning only'}): ${esc(f.message)}</li>`)
        .join('')}</ul></div>`,
    );
  }
  const classes = Array.isArray(r.perClass) ? r.perClass.filter((c) => c && typeof c === 'object') : [];
  if (classes.length) {
    parts.push(
      `<details class="per-class"><summary>per class: clean and robust accuracy (${classes.length} classes)</summary><table class="per-class"><thead><tr><th>class</th><th>n</th><th>clean</th><th>robust</th></tr></thead><tbody>${classes
        .map((c) => `<tr><td>${esc(c.class ?? c.label)}</td><td>${esc(c.n)}</td><td>${pct(c.clean)}</td><td>${pct(c.robust)}</td></tr>`)
        .join('')}</tbody></table></details>`,
    );
  }
  if (typeof r.samples === 'string') parts.push(`<p class="samples">per-sample outcomes: <code>${esc(r.samples)}</code></p>`);
  return parts.join('\n');
}
