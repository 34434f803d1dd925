// The "Paper reproduction" section of reports/index.html (through the reporter's extension point).
import { existsSync, readFileSync } from 'node:fs';
import { PAPER_CLAIM_IDS, PAPER_CLAIM_SOURCES, figurePath, firstSentence, type PaperClaim } from './claims.js';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Inline markdown: `code`, **bold**, *emphasis*; everything else is escaped text. */
function inline(text: string): string {
  return esc(text)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[\s(])\*([^*\s][^*]*)\*/g, '$1<em>$2</em>');
}

const tableCells = (line: string) =>
  line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, '|'));

/**
 * The small part of markdown the claims use, as HTML: pipe tables, headings, bullet lists and
 * paragraphs. Raw HTML in the text is escaped, not passed through.
 */
export function markdownToHtml(markdown: string): string {
  const out: string[] = [];
  const blocks = markdown.replace(/\r\n/g, '\n').split(/\n\s*\n/);
  for (const block of blocks) {
    const lines = block.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) continue;
    if (lines.length >= 2 && lines.every((l) => l.trim().startsWith('|')) && /^\s*\|?\s*:?-{3,}/.test(lines[1]!)) {
      const head = tableCells(lines[0]!);
      const body = lines.slice(2).map(tableCells);
      out.push(`<table><thead><tr>${head.map((h) => `<th>${inline(h)}</th>`).join('')}</tr></thead><tbody>\n${body.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`).join('\n')}\n</tbody></table>`);
    } else if (lines.length === 1 && /^#{1,6}\s/.test(lines[0]!)) {
      const level = Math.min(6, lines[0]!.match(/^#+/)![0].length + 2);
      out.push(`<h${level}>${inline(lines[0]!.replace(/^#+\s*/, ''))}</h${level}>`);
    } else if (lines.every((l) => /^\s*[-*]\s/.test(l))) {
      out.push(`<ul>${lines.map((l) => `<li>${inline(l.replace(/^\s*[-*]\s/, ''))}</li>`).join('')}</ul>`);
    } else {
      out.push(`<p>${inline(lines.join(' '))}</p>`);
    }
  }
  return out.join('\n');
}

/** A figure inlined as a data: URI, so the report stays one self-contained file. */
function figure(root: string, f: { file: string; caption: string }): string {
  const path = figurePath(root, f.file);
  if (!path || !existsSync(path)) return `<p class="missing">Figure ${esc(f.file)} is missing from reports/paper/.</p>`;
  const type = f.file.endsWith('.svg') ? 'image/svg+xml' : 'image/png';
  return `<figure><img class="paper" alt="${esc(f.caption)}" src="data:${type};base64,${readFileSync(path).toString('base64')}"><figcaption>${esc(f.caption)}</figcaption></figure>`;
}

const verdictClass = (v: PaperClaim['verdict']) => (v === 'reproduced' ? 'pass' : v === 'partly reproduced' ? 'partly' : v === 'not measured' ? 'skip' : 'fail');

/**
 * The "Paper reproduction" section of reports/index.html: the verdict table and one part per
 * claim with its tables and figures. Empty when no claim was measured.
 */
export function renderPaperHtml(claims: readonly PaperClaim[], root: string): string {
  if (claims.length === 0) return '';
  const byId = new Map(claims.map((c) => [c.id, c]));
  const rows = PAPER_CLAIM_IDS.map((id) => {
    const c = byId.get(id);
    if (!c) return `<tr><td>${esc(PAPER_CLAIM_SOURCES[id].title)}</td><td>not measured in this run</td><td>run ${esc(PAPER_CLAIM_SOURCES[id].spec)}</td></tr>`;
    return `<tr><td><a href="#paper-${c.id}">${esc(c.title)}</a></td><td class="${verdictClass(c.verdict)}">${esc(c.verdict)}</td><td>${esc(firstSentence(c.summary))}</td></tr>`;
  }).join('\n');
  const sections = claims
    .map(
      (c) => `<section id="paper-${c.id}"><h3>${esc(c.title)}: <span class="${verdictClass(c.verdict)}">${esc(c.verdict)}</span></h3>
<p><strong>The paper's claim.</strong> ${inline(c.claim)}</p>
<p><strong>Ours.</strong> ${inline(c.summary)}</p>
${c.why ? `<p><strong>Why.</strong> ${inline(c.why)}</p>` : ''}
<p class="setup"><strong>Setup.</strong> ${inline(c.setup)}</p>
${markdownToHtml(c.markdown)}
<div class="figs">${c.figures.map((f) => figure(root, f)).join('')}</div>
<p class="measured">Measured ${esc(c.measuredAt)}</p></section>`,
    )
    .join('\n');
  return `<style>td.partly,span.partly{background:#fff4d6}span.pass{background:#e8f6e8}span.fail{background:#fde8e8}td.skip,span.skip{background:#eeeeee}p.setup,p.measured{font-size:12px;color:#555}figure img.paper{image-rendering:auto;max-width:100%}</style>
<h2>Paper reproduction</h2>
<p>The paper's claims measured on this project's models (full text: reports/paper.md).</p>
<table id="paper-verdicts"><thead><tr><th>claim</th><th>verdict</th><th>our numbers</th></tr></thead><tbody>
${rows}
</tbody></table>
${sections}`;
}
