import { esc } from './format.js';
import type { RobustnessRecord } from '../record/record.js';

const pct = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : esc(String(v)));

/**
 * A check's evaluation flags (failing or warnings), its per-class breakdown and where its
 * per-sample outcomes are, for its section of the HTML report. Anything a hand-edited or damaged
 * report holds there is escaped, and skipped when it has the wrong shape.
 */
export function renderCheckExtras(r: RobustnessRecord): string {
  const parts: string[] = [renderComparison(r)].filter(Boolean);
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

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const num = (v: unknown) => (finite(v) ? v.toFixed(3) : esc(String(v)));
const withInterval = (s: { robustAccuracy?: unknown; lower?: unknown; upper?: unknown } | undefined, value = s?.robustAccuracy) => `${num(value)} <span class="ci">[${num(s?.lower)}, ${num(s?.upper)}]</span>`;

/**
 * A comparison check's table (toBeMoreRobustThan): candidate, baseline, the paired difference with
 * its interval, and what the interval shows (the verdict of the measurement, before .not and flags),
 * then both models per class. Nothing for other checks.
 */
function renderComparison(r: RobustnessRecord): string {
  const c = r.comparison as unknown;
  if (c === undefined) return '';
  const cmp = c as NonNullable<RobustnessRecord['comparison']>;
  if (!cmp || typeof cmp !== 'object' || !cmp.candidate || !cmp.baseline || !cmp.difference) return '<p class="missing">The comparison of this check is not shown: its record is missing or damaged.</p>';
  const d = cmp.difference;
  const level = finite(d.level) ? `${Math.round(d.level * 100)}%` : '';
  const shown = finite(d.lower) && finite(d.upper) ? (d.lower > 0 ? 'candidate more robust: the interval lies above 0' : d.upper < 0 ? 'baseline more robust: the interval lies below 0' : 'no difference shown: the interval contains 0') : 'damaged interval';
  const row = (role: string, m: typeof cmp.candidate) => `<tr><td>${role}</td><td>${esc(m.model)}</td><td>${withInterval(m)}</td><td>${pct(m.clean)}</td></tr>`;
  const parts = [
    `<table class="comparison"><thead><tr><th></th><th>model</th><th>robust accuracy [95% interval]</th><th>clean</th></tr></thead><tbody>${row('candidate', cmp.candidate)}${row('baseline', cmp.baseline)}` +
      `<tr class="difference"><td>difference</td><td>candidate - baseline (paired bootstrap ${esc(level)} interval)</td><td>${withInterval(d, d.estimate)}</td><td></td></tr>` +
      `<tr class="verdict"><td>verdict</td><td colspan="3">${esc(shown)}; samples only the candidate stayed correct on: ${esc(cmp.onlyCandidate)}, only the baseline: ${esc(cmp.onlyBaseline)}</td></tr></tbody></table>`,
  ];
  const classes = Array.isArray(cmp.perClass) ? cmp.perClass.filter((k) => k && typeof k === 'object' && k.candidate && k.baseline) : [];
  if (classes.length) {
    parts.push(
      `<details class="per-class"><summary>per class: both models' clean and robust accuracy (${classes.length} classes)</summary><table class="per-class"><thead><tr><th>class</th><th>n</th><th>candidate clean</th><th>candidate robust</th><th>baseline clean</th><th>baseline robust</th></tr></thead><tbody>${classes
        .map((k) => `<tr><td>${esc(k.class ?? k.label)}</td><td>${esc(k.n)}</td><td>${pct(k.candidate.clean)}</td><td>${pct(k.candidate.robust)}</td><td>${pct(k.baseline.clean)}</td><td>${pct(k.baseline.robust)}</td></tr>`)
        .join('')}</tbody></table></details>`,
    );
  }
  return parts.join('\n');
}
