import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { PaperClaim } from './paper.js';
import { renderPaperHtml } from './paperHtml.js';
import { isEmbeddedSample, type RobustnessRecord } from './record.js';
import { reportDir } from './reportDir.js';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * A saved image inlined as a data: URI, only when it is a PNG inside the report folder (reports/
 * unless ROBUSTNESS_REPORT_DIR says otherwise), after following links: a record is data, and a path in it ("../../.ssh/id_rsa", "/etc/passwd") must
 * not pull other files into a page that is shared as a CI artefact.
 */
function img(path: unknown, root: string): string {
  if (typeof path !== 'string') return '';
  const reports = reportDir(root);
  const inside = (p: string, dir: string) => {
    const r = relative(dir, p);
    return r !== '' && r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r);
  };
  const abs = resolve(root, path);
  if (!inside(abs, reports) || !abs.toLowerCase().endsWith('.png')) return `<p class="missing">${esc(path)} is not embedded: only PNG files under reports/ are.</p>`;
  if (!existsSync(abs)) return '';
  const real = realpathSync(abs);
  if (!inside(real, realpathSync(reports))) return `<p class="missing">${esc(path)} is not embedded: it links outside reports/.</p>`;
  return `<figure><img alt="${esc(path)}" src="data:image/png;base64,${readFileSync(real).toString('base64')}"><figcaption>${esc(path)}</figcaption></figure>`;
}

/** A number for a table cell; anything else from a hand-edited or damaged report shows as text. */
const fmt = (v: unknown) => (typeof v !== 'number' ? esc(v === null ? 'null' : v) : Number.isInteger(v) ? String(v) : Number.isFinite(v) ? v.toFixed(3) : String(v));
/** A sort key attribute: numbers only. */
const key = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? ` data-v="${v}"` : '');

/**
 * A self-contained HTML report (inline CSS, script and images; nothing fetched): a summary per
 * model, a sortable table of every matcher call, the saved images, and, when paper claims are
 * given, the paper reproduction section.
 */
export function renderHtml(records: readonly RobustnessRecord[], meta: { generated: string; root: string; paper?: readonly PaperClaim[] }): string {
  const paper = renderPaperHtml(meta.paper ?? [], meta.root);
  const models = [...new Set(records.map((r) => r.model))].sort();
  const summary = models
    .map((m) => {
      const rs = records.filter((r) => r.model === m);
      const passed = rs.filter((r) => r.pass === true).length;
      const card = rs.find((r) => r.card)?.card as { cleanAccuracy?: { value: unknown; n: unknown }; spec?: { arch?: unknown; width?: number } } | undefined;
      const clean = card?.cleanAccuracy;
      const acc = clean ? (typeof clean.value === 'number' ? `${(clean.value * 100).toFixed(2)}% clean (n=${clean.n})` : `clean accuracy ${JSON.stringify(clean.value)} (n=${clean.n})`) : 'no card';
      return `<tr><td>${esc(m)}</td><td>${esc(card?.spec?.arch ?? '')}</td><td>${esc(acc)}</td><td class="${passed === rs.length ? 'pass' : 'fail'}">${passed} / ${rs.length}</td></tr>`;
    })
    .join('\n');
  const rows = records
    .map(
      (r) =>
        `<tr class="${r.pass === true ? 'pass' : 'fail'}"><td>${esc(r.model)}</td><td>${esc(r.spec)}</td><td>${esc(r.test)}</td><td>${esc(r.method)}</td><td>${esc(r.metric)}</td>` +
        `<td${key(r.value)}>${fmt(r.value)}</td><td>${r.interval ? `${fmt(r.interval.lower)} – ${fmt(r.interval.upper)}` : ''}</td><td>${esc(r.threshold?.op)} ${fmt(r.threshold?.value)}</td>` +
        `<td${key(r.n)}>${fmt(r.n)}</td><td>${r.pass === true ? 'pass' : 'FAIL'}</td><td class="params">${esc(JSON.stringify(r.params))}</td><td>${esc(r.backend)}</td><td class="${isEmbeddedSample(r) ? 'sample' : ''}">${esc(r.data ?? '')}</td></tr>`,
    )
    .join('\n');
  const onSample = records.filter(isEmbeddedSample).length;
  const sampleNote = onSample
    ? `<p class="sample">${onSample} of ${records.length} checks ran on the embedded 200-image sample of CIFAR-10 (20 test images per class), not on a full test split: their figures rest on few images. Run with network (CIFAR-10 is downloaded once into the cache), or set CIFAR10_DIR, for the full set.</p>\n`
    : '';
  const figures = records
    .filter((r) => Array.isArray(r.artefacts) && r.artefacts.length)
    .map((r) => `<section><h3>${esc(r.model)} · ${esc(r.test)}</h3><div class="figs">${r.artefacts.map((a) => img(a, meta.root)).join('')}</div></section>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Robustness report</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;margin:12px 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3;cursor:pointer}tr.fail td,td.fail{background:#fde8e8}tr.pass td:nth-child(10),td.pass{background:#e8f6e8}
td.params{font:12px monospace;max-width:420px;word-break:break-all}
td.sample,p.sample{background:#fff4d6}
td.partly,span.partly{background:#fff4d6}span.pass{background:#e8f6e8}span.fail{background:#fde8e8}p.setup,p.measured{font-size:12px;color:#555}figure img.paper{image-rendering:auto;max-width:100%}
.figs{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}figure img{image-rendering:pixelated;border:1px solid #ddd}figcaption{font-size:11px;color:#666}
</style></head><body>
<h1>Robustness report</h1>
<p>Generated ${esc(meta.generated)} · ${records.length} checks · ${records.filter((r) => r.pass === true).length} passed${paper ? ' · <a href="#paper">paper reproduction</a>' : ''}</p>
${sampleNote}${records.length === 0 ? '<p>No robustness matcher checks were recorded in this run.</p>' : ''}<h2>Per model</h2>
<table id="models"><thead><tr><th>model</th><th>arch</th><th>clean accuracy</th><th>checks passed</th></tr></thead><tbody>
${summary}
</tbody></table>
<h2>Every check</h2>
<table id="checks" class="sortable"><thead><tr><th>model</th><th>spec</th><th>test</th><th>method</th><th>metric</th><th>value</th><th>95% interval</th><th>threshold</th><th>n</th><th>verdict</th><th>parameters</th><th>backend</th><th>data</th></tr></thead><tbody>
${rows}
</tbody></table>
<h2>Images: worst adversarial examples, heatmap pairs, snapshot diffs</h2>
${figures || '<p>No images were saved in this run.</p>'}
${paper}
<script>
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
