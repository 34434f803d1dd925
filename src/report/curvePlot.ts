// A robustness curve as an inline SVG plot: drawn here, so the report stays one self-contained file.
import { budget, esc } from './format.js';
import type { RecordedCurvePoint, RobustnessRecord } from '../record/record.js';

const W = 560;
const H = 260;
const M = { left: 48, right: 30, top: 16, bottom: 44 };
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The points when every one is a finite eps > 0 with accuracy and bounds in [0, 1]; else undefined. */
function validPoints(ps: unknown): RecordedCurvePoint[] | undefined {
  if (!Array.isArray(ps) || ps.length === 0) return undefined;
  const ok = ps.every((p) => p && typeof p === 'object' && finite(p.eps) && p.eps > 0 && [p.robustAccuracy, p.lower, p.upper].every((v) => finite(v) && v >= 0 && v <= 1));
  return ok ? (ps as RecordedCurvePoint[]) : undefined;
}

/**
 * Robust accuracy against eps (ticks as k/255), the 95% interval as a band with error bars, the
 * stored snapshot curve dashed when there is one, and the minimums as red marks. A record with no
 * curve draws nothing; a damaged one says so instead of drawing a wrong plot.
 */
export function renderCurvePlot(r: RobustnessRecord): string {
  const c = r.curve as unknown;
  if (c === undefined) return '';
  const curve = c as RobustnessRecord['curve'] & object;
  const points = validPoints(curve?.points);
  if (!points) return '<p class="missing">The robustness curve of this check is not drawn: its recorded points are missing or damaged.</p>';
  const stored = validPoints(curve.snapshot?.points);
  const min = Array.isArray(curve.min) && curve.min.length === points.length && curve.min.every((v) => finite(v) && v >= 0 && v <= 1) ? curve.min : undefined;
  const maxEps = Math.max(...points.map((p) => p.eps), ...(stored ?? []).map((p) => p.eps));
  const x = (e: number) => M.left + ((W - M.left - M.right) * e) / maxEps;
  const y = (v: number) => H - M.bottom - (H - M.top - M.bottom) * v;
  const f = (v: number) => v.toFixed(1);
  const line = (ps: readonly RecordedCurvePoint[]) => ps.map((p) => `${f(x(p.eps))},${f(y(p.robustAccuracy))}`).join(' ');
  const band = [...points.map((p) => `${f(x(p.eps))},${f(y(p.upper))}`), ...[...points].reverse().map((p) => `${f(x(p.eps))},${f(y(p.lower))}`)].join(' ');
  const yTicks = [0, 0.25, 0.5, 0.75, 1]
    .map((v) => `<line x1="${M.left}" x2="${W - M.right}" y1="${f(y(v))}" y2="${f(y(v))}" stroke="#eee"/><text x="${M.left - 6}" y="${f(y(v) + 4)}" text-anchor="end">${v}</text>`)
    .join('');
  const xTicks = points.map((p) => `<line x1="${f(x(p.eps))}" x2="${f(x(p.eps))}" y1="${H - M.bottom}" y2="${H - M.bottom + 4}" stroke="#555"/><text x="${f(x(p.eps))}" y="${H - M.bottom + 16}" text-anchor="middle">${esc(budget(p.eps))}</text>`).join('');
  const bars = points
    .map((p) => `<line class="bar" x1="${f(x(p.eps))}" x2="${f(x(p.eps))}" y1="${f(y(p.lower))}" y2="${f(y(p.upper))}" stroke="#1f5fa8"/><circle class="pt" cx="${f(x(p.eps))}" cy="${f(y(p.robustAccuracy))}" r="3.5" fill="#1f5fa8"><title>eps ${esc(budget(p.eps))}: ${p.robustAccuracy.toFixed(3)} [${p.lower.toFixed(3)}, ${p.upper.toFixed(3)}]</title></circle>`)
    .join('');
  const storedSvg = stored
    ? `<polyline class="stored" points="${line(stored)}" fill="none" stroke="#777" stroke-dasharray="5 3"/>${stored.map((p) => `<circle class="stored-pt" cx="${f(x(p.eps))}" cy="${f(y(p.robustAccuracy))}" r="2.5" fill="#777"><title>stored: eps ${esc(budget(p.eps))}: ${p.robustAccuracy.toFixed(3)} [${p.lower.toFixed(3)}, ${p.upper.toFixed(3)}]</title></circle>`).join('')}`
    : '';
  const minSvg = min ? points.map((p, i) => `<line class="min" x1="${f(x(p.eps) - 9)}" x2="${f(x(p.eps) + 9)}" y1="${f(y(min[i]!))}" y2="${f(y(min[i]!))}" stroke="#c33" stroke-width="2"><title>min ${min[i]} at eps ${esc(budget(p.eps))}</title></line>`).join('') : '';
  const legend = [
    '<tspan fill="#1f5fa8">● robust accuracy, bars and band: 95% interval</tspan>',
    stored ? '<tspan fill="#777" dx="10">- - stored snapshot</tspan>' : '',
    min ? '<tspan fill="#c33" dx="10">— minimum</tspan>' : '',
  ].join('');
  const snapNote = curve.snapshot ? `<figcaption>Curve snapshot <span class="path">${esc(curve.snapshot.path)}</span>: ${esc(curve.snapshot.status)}${curve.snapshot.points && !stored ? ' (its stored points are damaged and not drawn)' : ''}</figcaption>` : '';
  return `<figure class="curve"><svg xmlns="http://www.w3.org/2000/svg" class="curve" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="robust accuracy against eps under ${esc(curve.attack)}" font-size="11" font-family="system-ui,sans-serif">
<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#ccc"/>${yTicks}${xTicks}
<polygon class="band" points="${band}" fill="#1f5fa8" fill-opacity="0.15" stroke="none"/>${storedSvg}${minSvg}
<polyline class="curve" points="${line(points)}" fill="none" stroke="#1f5fa8" stroke-width="2"/>${bars}
<text x="${(M.left + W - M.right) / 2}" y="${H - 14}" text-anchor="middle">eps under ${esc(curve.attack)}</text>
<text transform="translate(12 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">robust accuracy</text>
<text x="4" y="${H - 2}">${legend}</text>
</svg>${snapNote}</figure>`;
}
