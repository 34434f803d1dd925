// Table 1 across eps (issue 23): which architectures are measured, the paired comparison of a
// regularized model with the base model at one budget, and the paper's claim decided per eps.
// Pure functions on per-image outcomes, so that the spec (paper/specs/adversarial-eps.spec.ts)
// only measures and the decisions are tested here (table1eps.test.ts).
import { bootstrapCI } from 'vitest-robustness';

export const EPS_REGS = ['base', 'l1', 'l2', 'elasticnet'] as const;
export type EpsReg = (typeof EPS_REGS)[number];
export const EPS_REG_LABEL: Readonly<Record<EpsReg, string>> = { base: 'Base', l1: 'L1', l2: 'L2', elasticnet: 'Elastic Net' };

export type CaseVerdict = 'more robust' | 'less robust' | 'no difference';

/** One case: a regularized model against the base model of its architecture, one attack, one budget. */
export interface EpsCase {
  arch: string;
  attack: string;
  reg: Exclude<EpsReg, 'base'>;
  eps: number;
  /** Regularized minus base accuracy (fraction of the images). */
  diff: number;
  /** Paired-bootstrap interval of `diff`. */
  ci: [number, number];
  verdict: CaseVerdict;
}

/** An architecture the table cannot measure yet, and which of its models are missing. */
export interface NotMeasured {
  arch: string;
  label: string;
  missing: string[];
  /** e.g. "MobileNet: not measured (mobilenet-l2-at, mobilenet-elasticnet-at not trained yet)" */
  text: string;
}

/**
 * Splits the architectures into those whose four models (base, L1, L2, Elastic Net) are all
 * finished, and the others, named with the models that are not.
 *
 * @param archs - in table order
 * @param finished - whether a model (by name) is trained to the end
 * @param name - a model's name from its architecture and regularizer @defaultValue `<arch>-<reg>-at`
 */
export function architectureStatus<A extends { id: string; label: string }>(archs: readonly A[], finished: (model: string) => boolean, name = (arch: string, reg: EpsReg) => `${arch}-${reg}-at`): { measured: A[]; notMeasured: NotMeasured[] } {
  const measured: A[] = [];
  const notMeasured: NotMeasured[] = [];
  for (const a of archs) {
    const missing = EPS_REGS.map((r) => name(a.id, r)).filter((m) => !finished(m));
    if (missing.length === 0) measured.push(a);
    else notMeasured.push({ arch: a.id, label: a.label, missing, text: `${a.label}: not measured (${missing.join(', ')} not trained yet)` });
  }
  return { measured, notMeasured };
}

/**
 * Compares a regularized model with the base model on the same images: `candidate[i]` and
 * `base[i]` are 1 when image i is still classified correctly after the attack, else 0. "More
 * robust" when the paired-bootstrap interval of the mean difference lies above 0, "less robust"
 * when below 0.
 */
export function compareOutcomes(candidate: ArrayLike<number>, base: ArrayLike<number>, options: { seed?: number; resamples?: number; level?: number } = {}): { diff: number; ci: [number, number]; verdict: CaseVerdict } {
  if (candidate.length !== base.length) throw new Error(`compareOutcomes: the two models were measured on different images (${candidate.length} and ${base.length} outcomes); a paired comparison needs the same images.`);
  if (candidate.length === 0) throw new Error('compareOutcomes: no images; there is nothing to compare.');
  const d = Array.from(candidate, (v, i) => {
    const b = base[i]!;
    if ((v !== 0 && v !== 1) || (b !== 0 && b !== 1)) throw new RangeError(`compareOutcomes: outcomes must be 0 or 1; image ${i} has ${v} and ${b}.`);
    return v - b;
  });
  const ci = bootstrapCI(d, { seed: options.seed ?? 1, resamples: options.resamples ?? 2000, level: options.level ?? 0.95 });
  return { diff: ci.estimate, ci: [ci.lower, ci.upper], verdict: ci.lower > 0 ? 'more robust' : ci.upper < 0 ? 'less robust' : 'no difference' };
}

/** The paper's claim at one budget, over the cases of every measured architecture and attack. */
export interface EpsVerdict {
  eps: number;
  cases: number;
  moreRobust: number;
  lessRobust: number;
  /** Cases needed for "nearly all": ceil(share x cases). */
  needed: number;
  /** More-robust cases per regularizer. */
  byReg: Record<Exclude<EpsReg, 'base'>, number>;
  /** "More robust than the base model in nearly all cases". */
  nearlyAll: boolean;
  /** "Elastic Net the most consistently": more robust in at least one case and in at least as many as L1 and as L2. */
  elasticNetMost: boolean;
  /** Both parts. */
  holds: boolean;
  /** Why each part that does not hold fails, in words with the counts. */
  failures: string[];
}

/**
 * Decides the paper's two criteria at each budget. Refuses (throws) when there is no case at
 * all, or none at one of the budgets: a claim decided on nothing would be vacuous.
 *
 * @param cases - every (architecture, attack, regularizer, eps) case measured
 * @param eps - the budgets, in order
 * @param share - "nearly all" @defaultValue 0.8
 */
export function verdictsPerEps(cases: readonly EpsCase[], eps: readonly number[], share = 0.8): EpsVerdict[] {
  if (cases.length === 0) throw new Error('verdictsPerEps: no case was measured (no architecture has all four models trained); the claim is not tested, not passed.');
  if (eps.length === 0) throw new Error('verdictsPerEps: no budget given.');
  return eps.map((e) => {
    const at = cases.filter((c) => c.eps === e);
    if (at.length === 0) throw new Error(`verdictsPerEps: no case measured at eps ${e}; the claim at that budget would be decided on nothing.`);
    const more = at.filter((c) => c.verdict === 'more robust');
    const byReg = { l1: 0, l2: 0, elasticnet: 0 };
    for (const c of more) byReg[c.reg] += 1;
    const needed = Math.ceil(share * at.length - 1e-9);
    const nearlyAll = more.length >= needed;
    const lessRobust = at.filter((c) => c.verdict === 'less robust').length;
    const enFailures = [
      ...(byReg.elasticnet === 0 ? ['Elastic Net is more robust in none of its cases'] : []),
      ...(['l1', 'l2'] as const).filter((r) => byReg[r] > byReg.elasticnet).map((r) => `${EPS_REG_LABEL[r]} is more robust in ${byReg[r]} cases, Elastic Net in ${byReg.elasticnet}`),
    ];
    const failures = [...(nearlyAll ? [] : [`more robust in ${more.length} of ${at.length} cases, fewer than the ${needed} that "nearly all" asks (less robust in ${lessRobust})`]), ...enFailures];
    return { eps: e, cases: at.length, moreRobust: more.length, lessRobust, needed, byReg, nearlyAll, elasticNetMost: enFailures.length === 0, holds: nearlyAll && enFailures.length === 0, failures };
  });
}

/** "k/255" for a budget on [0, 1] pixels (0.5/255, 8/255). */
export const epsText = (e: number): string => `${Number((e * 255).toFixed(2))}/255`;

/**
 * The claim's verdict over the budgets: reproduced when both parts hold at every budget, partly
 * when some part holds at some budget, and the budgets at which the whole claim holds.
 */
export function overallVerdict(perEps: readonly EpsVerdict[]): { verdict: 'reproduced' | 'partly reproduced' | 'not reproduced'; holdsAt: number[]; sentence: string } {
  if (perEps.length === 0) throw new Error('overallVerdict: no budget was decided; the claim is not tested.');
  const holdsAt = perEps.filter((v) => v.holds).map((v) => v.eps);
  const some = perEps.some((v) => v.nearlyAll || v.elasticNetMost);
  const verdict = holdsAt.length === perEps.length ? 'reproduced' : some ? 'partly reproduced' : 'not reproduced';
  const list = (xs: number[]) => xs.map(epsText).join(', ');
  const part = (key: 'nearlyAll' | 'elasticNetMost') => perEps.filter((v) => v[key]).map((v) => v.eps);
  const sentence = holdsAt.length
    ? `The claim holds at eps ${list(holdsAt)}${holdsAt.length < perEps.length ? `, not at ${list(perEps.filter((v) => !v.holds).map((v) => v.eps))}` : ''}.`
    : `The claim holds at none of the budgets (${list(perEps.map((v) => v.eps))}); "nearly all" holds at ${part('nearlyAll').length ? list(part('nearlyAll')) : 'none'}, "Elastic Net the most consistently" at ${part('elasticNetMost').length ? list(part('elasticNetMost')) : 'none'}.`;
  return { verdict, holdsAt, sentence };
}

/**
 * Robust accuracy against eps as SVG: one panel per (architecture, attack), one line per
 * regularizer with its 95% intervals as bars. `curves` maps `${arch}|${attack}|${reg}` to the points
 * (a curve may cover only some of the budgets of the axis, `eps`).
 */
export function curvesSvg(options: { title: string; archs: readonly { id: string; label: string }[]; attacks: readonly { id: string; label: string }[]; eps: readonly number[]; curves: ReadonlyMap<string, readonly { eps: number; accuracy: number; lower: number; upper: number }[]> }): string {
  const { archs, attacks, eps, curves } = options;
  if (archs.length === 0 || attacks.length === 0 || eps.length === 0) throw new Error('curvesSvg: nothing to draw (no architecture, attack or budget).');
  const colors: Record<EpsReg, string> = { base: '#7f7f7f', l1: '#1f77b4', l2: '#2ca02c', elasticnet: '#d62728' };
  const pw = 220;
  const ph = 170;
  const left = 60;
  const top = 50;
  const W = Math.max(left + attacks.length * (pw + 30) + 10, 720);
  const H = top + archs.length * (ph + 50) + 10;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  let body = '';
  archs.forEach((arch, ai) =>
    attacks.forEach((attack, ki) => {
      const x0 = left + ki * (pw + 30);
      const y0 = top + ai * (ph + 50);
      // eps on a log2 axis (the budgets double), accuracy 0-100% linear.
      const lx = (e: number) => x0 + ((Math.log2(e) - Math.log2(eps[0]!)) / Math.max(1e-9, Math.log2(eps[eps.length - 1]!) - Math.log2(eps[0]!))) * pw;
      const ly = (v: number) => y0 + ph - v * ph;
      body += `<rect x="${x0}" y="${y0}" width="${pw}" height="${ph}" fill="none" stroke="#ccc"/>`;
      for (const t of [0, 0.25, 0.5, 0.75, 1]) body += `<line x1="${x0}" x2="${x0 + pw}" y1="${ly(t)}" y2="${ly(t)}" stroke="#eee"/>${ki === 0 ? `<text x="${x0 - 5}" y="${ly(t) + 4}" text-anchor="end" font-size="10">${t * 100}%</text>` : ''}`;
      for (const e of eps) body += `<text x="${lx(e)}" y="${y0 + ph + 13}" text-anchor="middle" font-size="9">${epsText(e).replace('/255', '')}</text>`;
      body += `<text x="${x0 + pw / 2}" y="${y0 - 6}" text-anchor="middle" font-size="12">${esc(arch.label)}, ${esc(attack.label)}</text>`;
      for (const reg of EPS_REGS) {
        const pts = curves.get(`${arch.id}|${attack.id}|${reg}`);
        if (!pts) continue;
        const off = pts.find((p) => !eps.includes(p.eps));
        if (off) throw new Error(`curvesSvg: ${arch.id} ${attack.id} ${reg} has a point at eps ${off.eps}, not on the axis (${eps.join(', ')}).`);
        body += `<polyline fill="none" stroke="${colors[reg]}" stroke-width="1.5" points="${pts.map((p) => `${lx(p.eps).toFixed(1)},${ly(p.accuracy).toFixed(1)}`).join(' ')}"/>`;
        body += pts.map((p) => `<line x1="${lx(p.eps).toFixed(1)}" x2="${lx(p.eps).toFixed(1)}" y1="${ly(p.lower).toFixed(1)}" y2="${ly(p.upper).toFixed(1)}" stroke="${colors[reg]}"/><circle cx="${lx(p.eps).toFixed(1)}" cy="${ly(p.accuracy).toFixed(1)}" r="2" fill="${colors[reg]}"/>`).join('');
      }
    }),
  );
  const legend = EPS_REGS.map((r, i) => `<rect x="${left + i * 110}" y="24" width="12" height="3" fill="${colors[r]}"/><text x="${left + 16 + i * 110}" y="30" font-size="11">${EPS_REG_LABEL[r]}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="${W / 2}" y="14" text-anchor="middle" font-size="13">${esc(options.title)}</text>${legend}<text x="${W - 10}" y="30" text-anchor="end" font-size="10">eps (x/255, log scale)</text>${body}</svg>\n`;
}
