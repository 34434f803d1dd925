// The images of one check, labelled: which panel is which, the sample, its true class and the
// model's call before and after; attribution maps with their colour scale; snapshot diffs
// enlarged, with a slider between expected and actual.
import { colormapRgb, type ColormapName } from '../attribution/colormap.js';
import { embedPng } from './embed.js';
import { esc } from './format.js';
import type { ClassCall, ImageNote, RobustnessRecord } from '../record/record.js';

/** Displayed size of one sample panel (saved at 128 px: 32 px scaled x4). */
const PANEL_PX = 192;
/** Displayed size of one snapshot panel (saved at the map's own size, 32 px). */
const SNAPSHOT_PX = 256;

const call = (c: ClassCall | undefined) => (c ? `${esc(c.class)}${typeof c.confidence === 'number' ? ` (${(100 * c.confidence).toFixed(1)}%)` : ''}` : '?');

/** A CSS gradient with the colour map's own colours, and its 0 and 1 ends labelled. */
export function legend(name: string): string {
  let stops: string;
  try {
    stops = Array.from({ length: 11 }, (_, i) => {
      const [r, g, b] = colormapRgb(i / 10, name as ColormapName).map((v) => Math.round(255 * v));
      return `rgb(${r},${g},${b}) ${i * 10}%`;
    }).join(',');
  } catch {
    return '';
  }
  return `<div class="legend"><span>0 (no attribution)</span><span class="bar" style="background:linear-gradient(to right,${stops})"></span><span>1 (strongest)</span><span class="cm">colour map: ${esc(name)}</span></div>`;
}

function caption(note: ImageNote): string {
  const bits: string[] = [];
  if (note.sample !== undefined) bits.push(`sample <b>${esc(note.sample)}</b>`);
  if (note.trueClass !== undefined) bits.push(`true class <b>${esc(note.trueClass)}</b>`);
  if (note.before) bits.push(`predicted before: <b>${call(note.before)}</b>`);
  if (note.after) bits.push(`after: <b class="${note.after.class === note.trueClass ? '' : 'flip'}">${call(note.after)}</b>`);
  if (typeof note.score === 'number') bits.push(`SSD ${note.score.toFixed(2)}`);
  return bits.join(' · ');
}

/** One saved strip of equal panels, each panel labelled above, enlarged with pixelated scaling. */
function strip(note: ImageNote, root: string): string {
  const e = embedPng(note.file, root);
  if (!e.ok) return `<p class="missing">${esc(e.why)}</p>`;
  const k = Math.max(1, note.panels.length);
  const scale = PANEL_PX / (e.height || PANEL_PX);
  const labels = note.panels.map((p) => `<span style="width:${PANEL_PX}px">${esc(p)}</span>`).join('');
  return `<figure class="strip"><div class="labels">${labels}</div><img alt="${esc(note.panels.join(' | '))}" src="${e.uri}" width="${Math.round(e.width * scale)}" height="${PANEL_PX}" data-panels="${k}">` +
    `<figcaption>${caption(note)}<br><span class="path">${esc(note.file)}</span></figcaption></figure>`;
}

/** Expected | actual | diff of a heatmap snapshot, each enlarged, and a slider from expected to actual. */
function snapshotDiff(note: ImageNote, root: string, id: string): string {
  const e = embedPng(note.file, root);
  if (!e.ok) return `<p class="missing">${esc(e.why)}</p>`;
  const k = note.panels.length;
  const w = e.width / k;
  const s = SNAPSHOT_PX / w;
  const h = Math.round(e.height * s);
  const crop = (i: number, extra = '') =>
    `<div class="crop${extra}" style="width:${SNAPSHOT_PX}px;height:${h}px;background-image:url(${e.uri});background-size:${SNAPSHOT_PX * k}px ${h}px;background-position:-${i * SNAPSHOT_PX}px 0"></div>`;
  const panels = note.panels.map((p, i) => `<figure><div class="labels"><span>${esc(p)}</span></div>${crop(i)}</figure>`).join('');
  const slider =
    k >= 2
      ? `<figure class="compare"><div class="labels"><span>expected ◀ slide ▶ actual</span></div><div class="stack" style="width:${SNAPSHOT_PX}px;height:${h}px">${crop(0)}<div class="top" id="${id}-top" style="width:50%">${crop(1)}</div></div>` +
        `<input type="range" min="0" max="100" value="50" aria-label="expected to actual" data-target="${id}-top"></figure>`
      : '';
  return `<div class="figs">${panels}${slider}</div><p class="path">${esc(note.file)}</p>`;
}

/** Every image of a record: labelled when the matcher described it, else captioned with its path. */
export function renderPanels(r: RobustnessRecord, root: string, id: string): string {
  // Notes of the wrong shape (a hand-edited report) are left to the plain listing below.
  const notes = (Array.isArray(r.images) ? r.images : []).filter((n) => n && typeof n.file === 'string' && Array.isArray(n.panels));
  const described = new Set(notes.map((n) => n.file));
  const out: string[] = [];
  for (const [i, note] of notes.entries()) out.push(note.kind === 'snapshot' && note.panels.length > 1 ? snapshotDiff(note, root, `${id}-${i}`) : strip(note, root));
  const colormaps = [...new Set(notes.map((n) => n.colormap).filter((c): c is string => typeof c === 'string'))];
  for (const c of colormaps) out.push(legend(c));
  // Artefacts no note describes (older records): the image and its path.
  for (const a of Array.isArray(r.artefacts) ? r.artefacts : []) {
    if (described.has(a) || (r.matcher === 'toMatchHeatmapSnapshot' && notes.length)) continue;
    const e = embedPng(a, root);
    out.push(e.ok ? `<figure><img alt="${esc(a)}" src="${e.uri}" width="${e.width * 2}"><figcaption class="path">${esc(a)}</figcaption></figure>` : `<p class="missing">${esc(e.why)}</p>`);
  }
  return out.join('\n');
}
