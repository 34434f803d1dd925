// The paper's claims: what each paper spec writes (reports/paper/<id>.claim.json), and
// reports/paper.md assembled from those files and the fixture models' cards.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { epochsText, trainingStatus, writeFileAtomic, type ModelCard } from 'vitest-robustness';

/**
 * The paper's four claims, in the order the report shows them; Table 1 twice, both on the -at
 * models: at the paper's one budget (table1, with the -adv models' verdict recorded beside it) and
 * across budgets (table1eps, issue 23).
 */
export const PAPER_CLAIM_IDS = ['fig1', 'table1', 'table1eps', 'fig3', 'table2'] as const;
export type PaperClaimId = (typeof PAPER_CLAIM_IDS)[number];

/** How each claim is named when its file is missing, and which spec measures it. */
export const PAPER_CLAIM_SOURCES: Readonly<Record<PaperClaimId, { title: string; spec: string }>> = {
  fig1: { title: 'Fig. 1: average density', spec: 'paper/specs/density.spec.ts' },
  table1: { title: 'Table 1: robustness under attack', spec: 'paper/specs/adversarial.spec.ts' },
  table1eps: { title: 'Table 1 across eps: robustness curves after adversarial training', spec: 'paper/specs/adversarial-eps.spec.ts' },
  fig3: { title: 'Fig. 3: training curves', spec: 'paper/specs/training.spec.ts' },
  table2: { title: 'Table 2: attribution stability', spec: 'paper/specs/attribution.spec.ts' },
};

/**
 * 'not measured': the claim's models are not trained yet, so nothing was decided (the spec skips
 * the claim's tests); the claim file then carries what was measured so far and says what is missing.
 */
export const PAPER_VERDICTS = ['reproduced', 'partly reproduced', 'not reproduced', 'not measured'] as const;

/**
 * What a paper spec found for one claim; each spec writes one with {@link writeClaim} and the
 * report is assembled from these files alone.
 */
export interface PaperClaim {
  id: PaperClaimId;
  /** e.g. 'Fig. 1: average density' */
  title: string;
  /** The paper's statement, quoted or closely paraphrased. */
  claim: string;
  verdict: (typeof PAPER_VERDICTS)[number];
  /** One paragraph with our numbers; its first sentence is the verdict table's one-line summary. */
  summary: string;
  /** Why we think the claim did not (fully) reproduce, or why it was not measured; required unless the verdict is 'reproduced'. */
  why?: string;
  /** Data, models, settings, image counts, seeds. */
  setup: string;
  /** Tables (the paper's numbers beside ours) as markdown. */
  markdown: string;
  /** Figure files relative to reports/paper/ (SVG or PNG). */
  figures: { file: string; caption: string }[];
  /** When it was measured (ISO 8601). */
  measuredAt: string;
}

/** reports/paper under a project root: the claim files and figures. */
export function paperDir(root = process.cwd()): string {
  return resolve(root, 'reports', 'paper');
}

const FIGURE_FILE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*\.(svg|png)$/;

/**
 * Checks that a value is a complete {@link PaperClaim} and returns it; otherwise throws one error
 * listing every problem, prefixed by `source` (the file or the caller).
 */
export function validateClaim(value: unknown, source = 'paper claim'): PaperClaim {
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${source}: expected an object with id, title, claim, verdict, summary, setup, markdown, figures, measuredAt; got ${Array.isArray(value) ? 'an array' : typeof value}.`);
  }
  const c = value as Record<string, unknown>;
  const text = (key: string, allowEmpty = false) => {
    if (typeof c[key] !== 'string') problems.push(`"${key}" must be a string (got ${c[key] === undefined ? 'nothing' : typeof c[key]})`);
    else if (!allowEmpty && (c[key] as string).trim() === '') problems.push(`"${key}" is empty`);
  };
  if (!(PAPER_CLAIM_IDS as readonly unknown[]).includes(c.id)) problems.push(`"id" must be one of ${PAPER_CLAIM_IDS.join(', ')} (got ${JSON.stringify(c.id)})`);
  for (const key of ['title', 'claim', 'summary', 'setup']) text(key);
  text('markdown', true);
  if (!(PAPER_VERDICTS as readonly unknown[]).includes(c.verdict)) problems.push(`"verdict" must be one of ${PAPER_VERDICTS.map((v) => `'${v}'`).join(', ')} (got ${JSON.stringify(c.verdict)})`);
  else if (c.verdict !== 'reproduced' && (typeof c.why !== 'string' || c.why.trim() === '')) problems.push(`verdict '${c.verdict as string}' needs a non-empty "why": say why we think the claim did not (fully) reproduce`);
  if (c.why !== undefined && typeof c.why !== 'string') problems.push('"why" must be a string when given');
  if (!Array.isArray(c.figures)) problems.push('"figures" must be an array of { file, caption } (use [] for none)');
  else {
    c.figures.forEach((f: unknown, i: number) => {
      const fig = f as { file?: unknown; caption?: unknown } | null;
      if (typeof fig?.file !== 'string' || !FIGURE_FILE.test(fig.file) || fig.file.split('/').includes('..')) {
        problems.push(`figures[${i}].file must be an .svg or .png path relative to reports/paper/, without '..' (got ${JSON.stringify(fig?.file)})`);
      }
      if (typeof fig?.caption !== 'string' || fig.caption.trim() === '') problems.push(`figures[${i}].caption must be a non-empty string`);
    });
  }
  if (typeof c.measuredAt !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(c.measuredAt) || Number.isNaN(Date.parse(c.measuredAt))) {
    problems.push(`"measuredAt" must be an ISO time such as new Date().toISOString() (got ${JSON.stringify(c.measuredAt)})`);
  }
  if (problems.length) throw new Error(`${source} is not valid: ${problems.join('; ')}.`);
  return c as unknown as PaperClaim;
}

/**
 * Validates a claim and writes it atomically to reports/paper/<id>.claim.json. Its figures must
 * already be written, so that a claim never points at a missing file.
 *
 * @param claim - the claim as measured
 * @param root - project root @defaultValue process.cwd()
 * @returns the path written
 * @example
 * writeClaim({ id: 'fig1', title: 'Fig. 1: average density', verdict: 'reproduced', ..., measuredAt: new Date().toISOString() });
 */
export function writeClaim(claim: PaperClaim, root = process.cwd()): string {
  const valid = validateClaim(claim, `writeClaim(${JSON.stringify((claim as { id?: unknown } | null)?.id)})`);
  const dir = paperDir(root);
  const missing = valid.figures.filter((f) => !existsSync(join(dir, f.file))).map((f) => join(dir, f.file));
  if (missing.length) throw new Error(`writeClaim(${valid.id}): figure file(s) not found: ${missing.join(', ')}. Write the figures into reports/paper/ before the claim.`);
  const path = join(dir, `${valid.id}.claim.json`);
  writeFileAtomic(path, `${JSON.stringify(valid, null, 2)}\n`);
  return path;
}

/**
 * Reads the claim files present under reports/paper/, in report order (fig1, table1, table1eps,
 * fig3, table2). A damaged or invalid file throws an error naming it.
 */
export function readClaims(root = process.cwd()): PaperClaim[] {
  const dir = paperDir(root);
  return PAPER_CLAIM_IDS.flatMap((id) => {
    const path = join(dir, `${id}.claim.json`);
    if (!existsSync(path)) return [];
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`${path} is not valid JSON (${(err as Error).message}); rerun ${PAPER_CLAIM_SOURCES[id].spec} to rewrite it.`);
    }
    const claim = validateClaim(value, path);
    if (claim.id !== id) throw new Error(`${path} holds the claim "${claim.id}"; a claim file must be named <id>.claim.json. Rerun ${PAPER_CLAIM_SOURCES[id].spec}.`);
    return [claim];
  });
}

/** Whether any claim file was written at or after `since` (ms since the epoch). */
export function claimsWrittenSince(since: number, root = process.cwd()): boolean {
  const dir = paperDir(root);
  // mtimes can lag the clock by up to a second on some filesystems
  return PAPER_CLAIM_IDS.some((id) => {
    const path = join(dir, `${id}.claim.json`);
    return existsSync(path) && statSync(path).mtimeMs >= since - 1000;
  });
}

/** A fixture model's card and whether its training has finished. */
export interface FixtureFacts {
  card: ModelCard;
  finished: boolean;
}

/**
 * The cards of the fixture models under fixtures/models/ (sorted by name). A model counts as
 * finished when its card has a clean accuracy and no optimizer state is left for a resume.
 */
export function readFixtureFacts(root = process.cwd()): FixtureFacts[] {
  const dir = resolve(root, 'fixtures', 'models');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'card.json')))
    .map((e) => e.name)
    .sort()
    .flatMap((name) => {
      try {
        const status = trainingStatus(join(dir, name));
        return status.card ? [{ card: status.card, finished: status.finished }] : [];
      } catch {
        return []; // a card being rewritten mid-training; the table simply leaves that model out
      }
    });
}

/** The first sentence of a paragraph (the one-line numbers of the verdict table). */
export function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const m = /^(.+?[.!?])(?=\s+[A-Z(]|$)/.exec(flat);
  return m ? m[1]! : flat;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function modelsTable(facts: readonly FixtureFacts[]): string {
  if (facts.length === 0) return 'No fixture models were found under fixtures/models/.\n';
  const head = '| model | architecture | width | kernel penalty | activity L1 | parameters | epochs | batch | optimizer | train / val images | clean accuracy (test) | backend | train minutes | status |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n';
  const rows = facts.map(({ card, finished }) => {
    const s = card.spec;
    const arch = `${s.arch}${s.depth ? `-${s.depth}` : ''}`;
    const reg = s.regularizer.name === 'base' ? 'none' : `${s.regularizer.name} (l1 ${s.regularizer.l1}, l2 ${s.regularizer.l2})`;
    const act = card.activityL1 ? `${card.activityL1.lambda} on ${card.activityL1.layer}` : '-';
    const t = card.training;
    const acc = card.cleanAccuracy ? `${(100 * card.cleanAccuracy.value).toFixed(2)}% (n=${card.cleanAccuracy.n}${card.weights?.dtype === 'float16' ? ', float16 weights' : ''})` : '-';
    const row = [card.name, arch, String(s.width), reg, act, card.parameters.toLocaleString('en-US'), epochsText(card), String(t.batchSize), `${t.optimizer} ${t.learningRate}, ${t.schedule}`, `${t.trainImages} / ${t.validationImages}`, acc, t.backend, String(Math.round(t.seconds / 60)), finished ? 'finished' : 'still training'];
    return `| ${row.map(cell).join(' | ')} |`;
  });
  return `${head}${rows.join('\n')}\n`;
}

function setupSection(facts: readonly FixtureFacts[]): string {
  const data = [...new Set(facts.map((f) => f.card.data.caveat))];
  const backends = [...new Set(facts.map((f) => f.card.training.backend))];
  return `## Setup and how it differs from the paper

**The paper** trains ResNet-50, MobileNet and VGG-16 at full size on CIFAR-10 (and the single-layer CNN of Fig. 1), with kernel penalties of factor 0.01 (L1, L2, both for Elastic Net) on every convolution and dense kernel, and attacks them with IBM's Adversarial Robustness Toolbox. It states neither epochs, optimizer, attack parameters nor hardware.

**Ours** trains small versions of the same architectures on the CPU (TensorFlow.js, ${backends.join(', ') || 'wasm'} backend), for a few epochs each, on ${data.join('; ') || 'CIFAR-10'}, with the paper's penalty factor 0.01. The models, as their cards (fixtures/models/*/card.json) record them:

${modelsTable(facts)}
Every number below is measured by the specs in paper/specs/ from these committed models when \`npm run paper\` runs; nothing is cached. Each claim states its own settings (image counts, seeds, attack parameters).
`;
}

/**
 * Renders reports/paper.md: the setup and how it differs from the paper, the verdict table, and
 * one section per claim (missing claims are named as not measured).
 *
 * @param claims - as {@link readClaims} returns them
 * @param facts - as {@link readFixtureFacts} returns them
 */
export function renderPaperMarkdown(claims: readonly PaperClaim[], facts: readonly FixtureFacts[]): string {
  // Dated by the newest measurement, not by the clock, so rebuilding from the same claims gives
  // the same file (a test run that measures nothing leaves the committed report unchanged).
  const latest = claims.map((c) => c.measuredAt).sort().at(-1) ?? '-';
  const byId = new Map(claims.map((c) => [c.id, c]));
  const verdicts = PAPER_CLAIM_IDS.map((id) => {
    const c = byId.get(id);
    return c ? `| ${cell(c.title)} | **${c.verdict}** | ${cell(firstSentence(c.summary))} | ${cell(c.measuredAt)} |` : `| ${cell(PAPER_CLAIM_SOURCES[id].title)} | not measured in this run | no ${id}.claim.json; run ${PAPER_CLAIM_SOURCES[id].spec} | - |`;
  });
  const sections = PAPER_CLAIM_IDS.map((id) => {
    const c = byId.get(id);
    if (!c) return `## ${PAPER_CLAIM_SOURCES[id].title}\n\nNot measured in this run: reports/paper/${id}.claim.json is missing. It is written by ${PAPER_CLAIM_SOURCES[id].spec}.\n`;
    const figures = c.figures.map((f) => `![${f.caption.replace(/[[\]]/g, '')}](paper/${f.file})\n\n*${f.caption}*\n`).join('\n');
    return [
      `## ${c.title}`,
      `**The paper's claim.** ${c.claim}`,
      `**Verdict: ${c.verdict}.** ${c.summary}`,
      c.why ? `**Why.** ${c.why}` : '',
      `**Setup.** ${c.setup}`,
      c.markdown.trim(),
      figures,
      `*Measured ${c.measuredAt}.*`,
    ]
      .filter(Boolean)
      .join('\n\n')
      .concat('\n');
  });
  return `# Reproducing "Regularization and Sparsity for Adversarial Robustness and Stable Attribution"

Assembled by \`npm run paper\` from the claim files in reports/paper/ (latest measurement ${latest}).

${setupSection(facts)}
## Verdicts

| claim | verdict | our numbers | measured |
| --- | --- | --- | --- |
${verdicts.join('\n')}

${sections.join('\n')}`;
}

/**
 * Writes reports/paper.md (atomically) from the claim files present; does nothing when there are
 * none, and leaves the file untouched when its content would not change.
 *
 * @param root - project root @defaultValue process.cwd()
 * @returns the path written, or undefined when no claim file exists
 */
export function writePaperReport(root = process.cwd()): { markdown: string } | undefined {
  const claims = readClaims(root);
  if (claims.length === 0) return undefined;
  const markdown = resolve(root, 'reports', 'paper.md');
  const text = renderPaperMarkdown(claims, readFixtureFacts(root));
  if (!existsSync(markdown) || readFileSync(markdown, 'utf8') !== text) writeFileAtomic(markdown, text);
  return { markdown };
}

/** Whether `file` is inside reports/paper/ (figure paths come from claim files, which are data). */
export function figurePath(root: string, file: string): string | undefined {
  if (isAbsolute(file) || !FIGURE_FILE.test(file) || file.split('/').includes('..')) return undefined;
  return join(paperDir(root), file);
}
