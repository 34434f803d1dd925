import type { ReportSection } from './extension.js';
import { renderCurvePlot } from './curvePlot.js';
import { renderCheckExtras } from './checkExtras.js';
import { renderPanels } from './panels.js';
import { budget, esc, num as plainNum, paramsLine } from './format.js';
import { isEmbeddedSample, type RobustnessRecord } from '../record/record.js';

const passed = (r: RobustnessRecord) => r.pass === true;
/** A number as escaped text: a damaged or hand-edited report may hold anything there. */
const num = (v: unknown) => esc(plainNum(v));
/** A sort key attribute: numbers only. */
const key = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? ` data-v="${v}"` : '');

/** The check a row is, without its model: what a comparison lines up across models. */
function checkKey(r: RobustnessRecord): string {
  return `${r.test} · ${r.method} · ${r.metric}`;
}

function valueText(r: RobustnessRecord): string {
  const v = num(r.value);
  return r.interval ? `${v} <span class="ci">[${num(r.interval.lower)}, ${num(r.interval.upper)}]</span>` : v;
}

function thresholdText(r: RobustnessRecord): string {
  return r.threshold ? `${esc(r.threshold.op)} ${(num(r.threshold.value))}` : '';
}

/** What was checked: the method with its budget first ('pgd at eps 8/255'), then the other parameters. */
function checkText(r: RobustnessRecord, inline = false): string {
  const params = r.params && typeof r.params === 'object' ? r.params : {};
  const eps = typeof params.eps === 'number' ? ` at eps ${budget(params.eps)}` : '';
  return `<b>${esc(r.method)}</b>${esc(eps)}${inline ? ` (<span class="params">${esc(paramsLine(params))}</span>)` : `<div class="params">${esc(paramsLine(params))}</div>`}`;
}

type Card = { cleanAccuracy?: { value: unknown; n: unknown }; spec?: { arch?: unknown }; training?: { epochs?: unknown; seed?: unknown }; data?: unknown; source?: unknown; format?: unknown; preprocessing?: unknown };

function modelSummary(models: string[], records: readonly RobustnessRecord[], index: Map<RobustnessRecord, number>): string {
  return models
    .map((m) => {
      const rs = records.filter((r) => r.model === m);
      const ok = rs.filter(passed).length;
      const card = rs.find((r) => r.card)?.card as Card | undefined;
      const clean = card?.cleanAccuracy;
      const acc = clean ? (typeof clean.value === 'number' ? `${(clean.value * 100).toFixed(2)}% clean (n=${esc(clean.n)})` : `clean accuracy ${esc(JSON.stringify(clean.value))}`) : 'no card';
      const failed = rs.filter((r) => !passed(r)).map((r) => `<a href="#check-${index.get(r)}">${esc(r.test)}</a>`).join('<br>');
      // An imported model has no architecture spec; its card says where it is from and what input it takes.
      const arch = card?.format ? `${String(card.format)}${card.source ? `: ${String(card.source)}` : ''}; preprocessing ${JSON.stringify(card.preprocessing)}` : card?.spec?.arch ?? '';
      const cardHtml = card ? `<details><summary>model card</summary><pre>${esc(JSON.stringify(card, null, 2))}</pre></details>` : '';
      return `<tr class="${ok === rs.length ? 'pass' : 'fail'}"><td>${esc(m)}${cardHtml}</td><td>${esc(arch)}</td><td>${acc}</td><td class="${ok === rs.length ? 'pass' : 'fail'}">${ok} / ${rs.length}</td><td>${failed}</td></tr>`;
    })
    .join('\n');
}

/** One table, models as columns, for the checks that two or more models went through. */
function comparison(models: string[], records: readonly RobustnessRecord[], index: Map<RobustnessRecord, number>): string {
  if (models.length < 2) return '';
  const keys = [...new Set(records.map(checkKey))].filter((k) => new Set(records.filter((r) => checkKey(r) === k).map((r) => r.model)).size >= 2);
  if (!keys.length) return '';
  const rows = keys.map((k) => {
    const any = records.find((r) => checkKey(r) === k)!;
    const cells = models.map((m) => {
      const r = records.find((x) => x.model === m && checkKey(x) === k);
      return r ? `<td class="${passed(r) ? 'pass' : 'fail'}"><a href="#check-${index.get(r)}">${valueText(r)}</a></td>` : '<td class="none">—</td>';
    });
    return `<tr><td>${esc(any.test)}</td><td>${checkText(any)}</td><td>${esc(any.metric)} ${thresholdText(any)}</td>${cells.join('')}</tr>`;
  });
  return `<h2 id="compare">Models side by side</h2>
<p>Checks that several models went through (same test, method and metric); each cell links to the check.</p>
<table id="comparison"><thead><tr><th>test</th><th>check</th><th>metric and threshold</th>${models.map((m) => `<th>${esc(m)}</th>`).join('')}</tr></thead><tbody>
${rows.join('\n')}
</tbody></table>`;
}

/** The model of a check; for a comparison, the candidate and its baseline. */
function modelText(r: RobustnessRecord): string {
  const base = r.comparison && typeof r.comparison === 'object' ? r.comparison.baseline?.model : undefined;
  return `${esc(r.model)}${base !== undefined ? ` <span class="vs">vs ${esc(base)}</span>` : ''}`;
}

function checkRow(r: RobustnessRecord, i: number): string {
  const ok = passed(r);
  const msg = !ok && r.message ? `<div class="message">${esc(r.message)}</div>` : '';
  const images = Array.isArray(r.artefacts) && r.artefacts.length ? `images (${r.artefacts.length})` : 'details';
  return (
    `<tr class="${ok ? 'pass' : 'fail'}" id="row-${i}"><td class="verdict">${ok ? 'pass' : 'FAIL'}</td><td>${modelText(r)}</td><td class="test"><span title="${esc(r.spec)}">${esc(r.test)}</span>${msg}</td><td>${checkText(r)}</td><td>${esc(r.metric)}</td>` +
    `<td${key(r.value)}>${valueText(r)}</td><td>${thresholdText(r)}</td><td${key(r.n)}>${(num(r.n))}</td><td class="${isEmbeddedSample(r) ? 'sample' : ''}">${esc(r.data ?? '')}</td><td>${esc(r.backend)}</td>` +
    `<td><a class="to-images" href="#check-${i}">${images}</a></td></tr>`
  );
}

function checkDetail(r: RobustnessRecord, i: number, root: string): string {
  const ok = passed(r);
  return `<section class="check ${ok ? 'pass' : 'fail'}" id="check-${i}"><h3><span class="verdict ${ok ? 'pass' : 'fail'}">${ok ? 'pass' : 'FAIL'}</span> ${modelText(r)} · ${esc(r.test)}</h3>
<p class="where">${esc(r.spec)} · ${esc(r.matcher)} · ${checkText(r, true)} · ${esc(r.metric)} ${valueText(r)}, threshold ${thresholdText(r)}, n = ${(num(r.n))} <a href="#row-${i}">back to the table</a></p>
${r.message ? (ok ? `<details><summary>the matcher's message (what a failure would have said)</summary><pre class="note">${esc(r.message)}</pre></details>` : `<pre class="message">${esc(r.message)}</pre>`) : ''}
${renderCheckExtras(r)}
${renderCurvePlot(r)}
${renderPanels(r, root, `c${i}`)}
</section>`;
}

/**
 * A self-contained HTML report (inline CSS, script and images; nothing fetched): a summary per
 * model, models side by side, a sortable table of every check with a failures-only filter, each
 * check's message and labelled images, then the sections of report extensions (linked from the header).
 */
export function renderHtml(records: readonly RobustnessRecord[], meta: { generated: string; root: string; sections?: readonly ReportSection[] }): string {
  const sections = meta.sections ?? [];
  const links = sections.map((s) => ` · <a href="#${esc(s.id)}">${esc(s.title)}</a>`).join('');
  const extra = sections.map((s) => `<section id="${esc(s.id)}" class="extension">\n${s.html}\n</section>`).join('\n');
  const models = [...new Set(records.map((r) => r.model))].sort();
  const index = new Map(records.map((r, i) => [r, i]));
  const failures = records.filter((r) => !passed(r)).length;
  const onSample = records.filter(isEmbeddedSample).length;
  const sampleNote = onSample
    ? `<p class="sample">${onSample} of ${records.length} checks ran on the embedded 200-image sample of CIFAR-10 (20 test images per class), not on a full test split: their figures rest on few images. Run with network (CIFAR-10 is downloaded once into the cache), or set CIFAR10_DIR, for the full set.</p>\n`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Robustness report</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:12px 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3;cursor:pointer}tr.fail td.verdict,td.fail,span.verdict.fail{background:#f8c9c9;font-weight:bold}tr.pass td.verdict,td.pass,span.verdict.pass{background:#cdeccd}
tr.fail td{background:#fff3f3}td.none{color:#999}
div.params,span.params{font:12px monospace;overflow-wrap:anywhere;color:#555;max-width:360px}div.message{font-size:12px;color:#8a1c1c;max-width:520px;margin-top:4px}span.ci{color:#666;font-size:12px}
div.flags li.failing{color:#8a1c1c}div.flags li.warning{color:#8a5a00}table.per-class td{font-size:12px}span.vs{color:#555;font-size:12px}tr.difference td{font-weight:600}
pre.note{white-space:pre-wrap;color:#555;max-width:1100px}pre.message{white-space:pre-wrap;background:#fff3f3;border-left:4px solid #c33;padding:8px;max-width:1100px}
td.sample,p.sample{background:#fff4d6}td.test{min-width:260px;max-width:520px}
.figs{display:flex;flex-wrap:wrap;gap:16px}figure{margin:8px 0}figure img,.crop{image-rendering:pixelated;border:1px solid #ddd;display:block}
figcaption{font-size:12px;color:#333;margin-top:4px}.path{font-size:11px;color:#888}.labels{display:flex;font-size:12px;font-weight:600}.labels span{text-align:center}
b.flip{color:#b00}.legend{display:flex;align-items:center;gap:8px;font-size:12px;margin:4px 0 12px}.legend .bar{display:inline-block;width:240px;height:12px;border:1px solid #999}
.stack{position:relative}.stack .top{position:absolute;top:0;right:0;overflow:hidden;direction:rtl}.stack .top .crop{direction:ltr;border:0}
section.check{border-top:1px solid #ddd;padding-top:8px;margin-top:16px}p.where{font-size:12px;color:#555}
body.failures-only tr.pass,body.failures-only section.check.pass{display:none}
p.missing{color:#a60}
</style></head><body>
<h1>Robustness report</h1>
<p>Generated ${esc(meta.generated)} · ${records.length} checks · ${records.length - failures} passed · <b>${failures} failed</b> · ${models.length} model${models.length === 1 ? '' : 's'}${links}</p>
${sampleNote}${records.length === 0 ? '<p>No robustness matcher checks were recorded in this run.</p>' : ''}<label><input type="checkbox" id="failures-only"> show failures only</label>
<h2>Per model</h2>
<table id="models"><thead><tr><th>model</th><th>arch</th><th>clean accuracy</th><th>checks passed</th><th>failed checks</th></tr></thead><tbody>
${modelSummary(models, records, index)}
</tbody></table>
${comparison(models, records, index)}
<h2>Every check</h2>
<table id="checks" class="sortable"><thead><tr><th>verdict</th><th>model</th><th>test</th><th>check</th><th>metric</th><th>value [95% interval]</th><th>threshold</th><th>n</th><th>data</th><th>backend</th><th>images</th></tr></thead><tbody>
${records.map(checkRow).join('\n')}
</tbody></table>
<h2>Each check: message and images</h2>
<p>Attack panels: original, adversarial, and the perturbation amplified (grey is no change). Attribution panels: the image, then its maps as colour overlays. Snapshot diffs: expected, actual and diff, enlarged.</p>
${records.map((r, i) => checkDetail(r, i, meta.root)).join('\n')}
${extra}
<script>
document.getElementById('failures-only').addEventListener('change', (e) => document.body.classList.toggle('failures-only', e.target.checked));
document.querySelectorAll('input[type=range][data-target]').forEach((s) => s.addEventListener('input', () => { document.getElementById(s.dataset.target).style.width = (100 - Number(s.value)) + '%'; }));
document.querySelectorAll('table.sortable th').forEach((th, col) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0];
  const rows = [...body.rows];
  const key = (r) => { const c = r.cells[col]; const v = c.dataset.v; return v !== undefined ? Number(v) : c.textContent; };
  const dir = th.dataset.dir === 'asc' ? -1 : 1; th.dataset.dir = dir === 1 ? 'asc' : 'desc';
  rows.sort((a, b) => (key(a) > key(b) ? dir : key(a) < key(b) ? -dir : 0)).forEach((r) => body.appendChild(r));
}));
</script>
</body></html>
`;
}
