// The paper's Table 1 claim across budgets (issue 23, item 2), on the models that adversarial
// training actually changed: fixtures/models/<arch>-<reg>-at (ResNet-20, MobileNet, VGG16; base,
// L1, L2, Elastic Net), made by `npm run workbench -- adv-train --method fgsm-rs` (recipe and cost
// read from their cards). "The regularized models are more robust than the base model in nearly
// all cases, and Elastic Net the most consistently." The paper gives no attack budget, so each
// cell is a robustness curve and the claim is decided per eps. Table 1 at the paper's one budget on
// the same models is adversarial.spec.ts, which also shows the "before" (the -adv models' verdict).
//
// Fixed before measuring (and not to be changed to flip a verdict):
// - Images: the same 500 class-stratified CIFAR-10 test images (seed 1) as Table 1, for every
//   model; only the images a model classifies correctly when clean are attacked, the others count
//   as wrong at every eps.
// - Budgets: Linf eps 0.5/255, 1/255, 2/255, 4/255, 8/255.
// - Curves, each through toHaveRobustnessCurve (minimums 0 decide nothing; its flags are reported,
//   flags: 'warn'):
//   FGSM (Linf), every budget on every image (reuse: false: FGSM is deterministic and cheap, and
//     its curve then checks itself for inversions);
//   PGD-10 as PAPER_ATTACKS (10 steps of eps/4, random start, seed 1), reuse: true;
//   the cheap ensemble (`autoattack`, version 'cheap': APGD-CE 100 iterations, then APGD-T 50
//     iterations towards each of the 3 highest other classes, then Square 1,000 queries; seed 1),
//     reuse: true, beside PGD at eps 2/255 and 8/255 only, on 100 of the 500 images only (the
//     first 10 of each class in the draw's seeded order). Reduced before measuring to keep
//     `npm run paper` under 30 minutes: timed on resnet20-base-at (60 images, load 10-12 on the
//     shared 2-core machine) it costs 5-8 s per image it does not break (APGD-T and Square run to
//     the end on those), 50-100 times PGD-10; all five budgets on 500 images would take hours;
//   DeepFool as a curve from its per-image minimal perturbations: DeepFool minimising the Linf
//     norm, uncapped, overshoot 0.02, at most 50 iterations, label + top 3 classes (as
//     PAPER_ATTACKS but Linf, so the axis is the other attacks'), run once per model; an image is
//     robust at eps when DeepFool failed on it or needed an Linf perturbation larger than eps.
//   With reuse a budget attacks only the images still correct at the smaller ones (the curve then
//   falls by construction), the same for every model.
// - A case is (architecture, attack, regularizer, eps): 3 architectures x 3 regularizers x (FGSM,
//   PGD, DeepFool at 5 budgets + the ensemble at 2) = 153. The regularized model is "more robust"
//   when the 95% paired-bootstrap interval (2,000 resamples, seed 1) of its accuracy minus the base
//   model's over the same images (500; 100 for the ensemble) lies above 0, "less robust" when
//   below 0. (The paired bootstrap is computed from the curves' per-image outcomes, as
//   toBeMoreRobustThan computes it, rather than through that matcher, which would attack both
//   models again for every case.)
// - At each eps, over the cases of the measured architectures: "nearly all" = more robust in at
//   least 80% of them, rounded up (per architecture 9 cases at 0.5/255, 1/255 and 4/255, 12 at
//   2/255 and 8/255; with three architectures 22 of 27 and 29 of 36);
//   "Elastic Net the most consistently" = Elastic Net more robust in at least one case and in at
//   least as many as L1 and as L2. The claim holds at an eps when both do.
// - An architecture whose four -at models are not all finished is not measured: its cases are
//   skipped (reported as not trained yet), and the curves of its finished models are shown but
//   count for nothing. With no architecture measured the claim's tests are skipped with that
//   reason (a claim decided on nothing is not a pass), and the report says "not measured".
import { mkdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { cifar10, isFinished, loadModel, makeSamples, predictClasses, readCard, runAttack, wilsonInterval, writeFileAtomic, type RobustnessCurve, type Samples } from 'vitest-robustness';
import { PAPER_ATTACKS } from '../constants.js';
import { writeClaim } from '../report/claims.js';
import { architectureStatus, compareOutcomes, curvesSvg, EPS_REG_LABEL, EPS_REGS, epsText, overallVerdict, verdictsPerEps, type EpsCase, type EpsReg, type EpsVerdict } from '../report/table1eps.js';

const ARCHS = [
  { id: 'resnet20', label: 'ResNet' },
  { id: 'mobilenet', label: 'MobileNet' },
  { id: 'vgg16', label: 'VGG16' },
] as const;
const ATTACKS = [
  { id: 'fgsm', label: 'FGSM' },
  { id: 'pgd', label: 'PGD-10' },
  { id: 'autoattack', label: 'ensemble (cheap)' },
  { id: 'deepfool', label: 'DeepFool (Linf)' },
] as const;
type AttackId = (typeof ATTACKS)[number]['id'];
const EPS = [0.5, 1, 2, 4, 8].map((e) => e / 255);
const IMAGES = 500;
/** The ensemble's images (the first 10 of each class in the draw's order) and budgets: see the header. */
const ENSEMBLE_IMAGES = 100;
const ENSEMBLE_EPS = [2 / 255, 8 / 255];
const SEED = 1;

const name = (arch: string, reg: EpsReg) => `${arch}-${reg}-at`;
const dir = (model: string) => `fixtures/models/${model}`;
const finished = (model: string) => isFinished(dir(model));
const status = architectureStatus(ARCHS, finished);
const measuredIds = new Set(status.measured.map((a) => a.id));
/** Every finished -at model of the table, measured whether or not its architecture is complete. */
const models = ARCHS.flatMap((a) => EPS_REGS.filter((r) => finished(name(a.id, r))).map((reg) => ({ arch: a, reg, model: name(a.id, reg) })));

const { pgd: pgdSpec, deepfool: dfSpec } = PAPER_ATTACKS;
const pgdParams = (({ eps: _e, stepSize: _s, ...p }) => p)(pgdSpec.params as Record<string, unknown>); // stepSize left to its default, eps / 4
const PARAMS: Record<Exclude<AttackId, 'deepfool'>, Record<string, unknown>> = {
  fgsm: { norm: 'linf', seed: SEED },
  pgd: { ...pgdParams, seed: SEED },
  autoattack: { norm: 'linf', version: 'cheap', seed: SEED },
};
const DEEPFOOL_PARAMS = { ...(({ eps: _e, ...p }) => p)(dfSpec.params as Record<string, unknown>), norm: 'linf', seed: SEED };

interface Curve {
  model: string;
  arch: string;
  reg: EpsReg;
  attack: AttackId;
  /** Images the curve is measured on (500, or the ensemble's 250). */
  n: number;
  /** Clean accuracy on those images (only the correct ones are attacked). */
  clean: number;
  /** The budgets of the curve (the ensemble's are fewer). */
  eps: number[];
  /** correct[eps index][image]: 1 when still classified correctly after the attack at that eps. */
  correct: Uint8Array[];
  points: { eps: number; accuracy: number; lower: number; upper: number }[];
  seconds: number;
  flags: string[];
}

const images = await cifar10.test({ count: IMAGES, seed: SEED });
afterAll(() => images.dispose());
const labels = Array.from(await images.labels.data());
const curves: Curve[] = [];
const clean: Record<string, number> = {};
const load = () => {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!;
  } catch {
    return '?';
  }
};

/** Per-image outcomes over all `n` images from outcomes over the attacked ones (at positions `pos`). */
function spread(n: number, pos: readonly number[], attacked: ArrayLike<boolean>): Uint8Array {
  const out = new Uint8Array(n);
  pos.forEach((p, j) => (out[p] = attacked[j] ? 1 : 0));
  return out;
}

function points(eps: readonly number[], correct: Uint8Array[]): Curve['points'] {
  return correct.map((c, i) => {
    const hits = c.reduce((s, v) => s + v, 0);
    const w = wilsonInterval(hits, c.length);
    return { eps: eps[i]!, accuracy: hits / c.length, lower: w.lower, upper: w.upper };
  });
}

/** The ensemble's images: the first ENSEMBLE_IMAGES / 10 of each class, in the draw's (seeded, shuffled) order. */
const ensembleIdx = (() => {
  const per = new Map<number, number>();
  return labels.flatMap((y, i) => {
    const k = per.get(y) ?? 0;
    if (k >= ENSEMBLE_IMAGES / 10) return [];
    per.set(y, k + 1);
    return [i];
  });
})();
const allIdx = labels.map((_, i) => i);

/** One model's four curves. */
async function measure(m: (typeof models)[number]): Promise<void> {
  const model = await loadModel(dir(m.model));
  try {
    const preds = await predictClasses(model, images.images);
    const right = labels.map((y, i) => preds[i] === y);
    clean[m.model] = right.filter(Boolean).length / IMAGES;
    // The images of `idx` the model gets right (the others count as wrong without being attacked), by position in idx.
    const subset = (idx: readonly number[]): { n: number; pos: number[]; samples: Samples } => {
      const pos = idx.flatMap((i, p) => (right[i] ? [p] : []));
      const k = pos.map((p) => idx[p]!);
      return { n: idx.length, pos, samples: makeSamples(images.images.gather(k), images.labels.gather(k), { ids: k.map((i) => images.ids[i]!), classNames: images.classNames, source: images.source }) };
    };
    const all = subset(allIdx);
    const part = subset(ensembleIdx);
    try {
      for (const attack of ['fgsm', 'pgd', 'autoattack'] as const) {
        const { n, pos, samples } = attack === 'autoattack' ? part : all;
        const eps = attack === 'autoattack' ? ENSEMBLE_EPS : EPS;
        const t0 = performance.now();
        const curve = (await expect(samples).toHaveRobustnessCurve(model, attack, { eps, min: eps.map(() => 0), params: PARAMS[attack], flags: 'warn', reuse: attack !== 'fgsm' })) as unknown as RobustnessCurve;
        const correct = curve.correct.map((c) => spread(n, pos, c));
        const seconds = (performance.now() - t0) / 1000;
        curves.push({ model: m.model, arch: m.arch.id, reg: m.reg, attack, n, clean: pos.length / n, eps, correct, points: points(eps, correct), seconds, flags: [...curve.inversions.map((v) => `${v.samples.length} image(s) broken at eps ${epsText(v.eps)} but not at ${epsText(v.largerEps)}`), ...curve.flags.map((f) => f.message)] });
        process.stderr.write(`[table 1 eps] ${m.model} ${attack}: ${curves.at(-1)!.points.map((p) => (100 * p.accuracy).toFixed(1)).join(' / ')}% (${pos.length} of ${n} attacked, ${seconds.toFixed(0)} s, load ${load()})\n`);
      }
      // DeepFool once, uncapped: its per-image minimal Linf perturbation gives the whole curve.
      const t0 = performance.now();
      const r = await runAttack('deepfool', model, all.samples.images, all.samples.labels, DEEPFOOL_PARAMS);
      try {
        const correct = EPS.map((e) => spread(IMAGES, all.pos, all.pos.map((_, j) => !r.success[j] || r.linf[j]! > e)));
        const seconds = (performance.now() - t0) / 1000;
        curves.push({ model: m.model, arch: m.arch.id, reg: m.reg, attack: 'deepfool', n: IMAGES, clean: all.pos.length / IMAGES, eps: EPS, correct, points: points(EPS, correct), seconds, flags: [] });
        process.stderr.write(`[table 1 eps] ${m.model} deepfool: ${curves.at(-1)!.points.map((p) => (100 * p.accuracy).toFixed(1)).join(' / ')}% (${all.pos.length} attacked, ${r.success.filter(Boolean).length} fooled, ${seconds.toFixed(0)} s, load ${load()})\n`);
      } finally {
        r.adversarial.dispose();
      }
    } finally {
      all.samples.dispose();
      part.samples.dispose();
    }
  } finally {
    model.dispose();
  }
}

const curveOf = (model: string, attack: AttackId) => curves.find((c) => c.model === model && c.attack === attack);

/** The cases of the measured architectures: every regularized model against its base, per attack and eps. */
function cases(): EpsCase[] {
  return status.measured.flatMap((arch) =>
    ATTACKS.flatMap(({ id: attack }) => {
      const base = curveOf(name(arch.id, 'base'), attack);
      if (!base) throw new Error(`${name(arch.id, 'base')} ${attack}: no curve measured; see the failed test above.`);
      return (['l1', 'l2', 'elasticnet'] as const).flatMap((reg) => {
        const c = curveOf(name(arch.id, reg), attack);
        if (!c) throw new Error(`${name(arch.id, reg)} ${attack}: no curve measured; see the failed test above.`);
        return base.eps.map((eps, i) => ({ arch: arch.id, attack, reg, eps, ...compareOutcomes(c.correct[i]!, base.correct[i]!, { seed: SEED, resamples: 2000 }) }));
      });
    }),
  );
}

const pct = (v: number) => (100 * v).toFixed(1);
const signed = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}`;

/** Writes the figure, table1eps.json and the claim; returns the per-eps verdicts (none when nothing is measured). */
function conclude(): EpsVerdict[] | undefined {
  const expected = models.length * ATTACKS.length;
  if (curves.length !== expected) throw new Error(`only ${curves.length} of the ${expected} curves were measured; see the failed tests above.`);
  const all = cases();
  const perEps = status.measured.length ? verdictsPerEps(all, EPS) : undefined;
  const overall = perEps ? overallVerdict(perEps) : undefined;

  mkdirSync('reports/paper', { recursive: true });
  const drawn = ARCHS.filter((a) => models.some((m) => m.arch.id === a.id));
  if (drawn.length) {
    writeFileAtomic(
      'reports/paper/fig-table1-eps.svg',
      curvesSvg({
        title: `Table 1 across eps: accuracy under attack after adversarial training (${IMAGES} test images; ensemble ${ENSEMBLE_IMAGES}; 95% intervals)`,
        archs: drawn,
        attacks: ATTACKS,
        eps: EPS,
        curves: new Map(curves.map((c) => [`${c.arch}|${c.attack}|${c.reg}`, c.points])),
      }),
    );
  }

  // PGD-10 on the ensemble's images, read from PGD's per-image outcomes: what the ensemble takes away beyond PGD.
  const pgdOnEnsembleImages = (model: string): Curve['points'] => {
    const c = curveOf(model, 'pgd')!;
    return ENSEMBLE_EPS.map((e) => {
      const hits = ensembleIdx.reduce((s, k) => s + c.correct[c.eps.indexOf(e)]![k]!, 0);
      const w = wilsonInterval(hits, ensembleIdx.length);
      return { eps: e, accuracy: hits / ensembleIdx.length, lower: w.lower, upper: w.upper };
    });
  };
  const row = (label: string, cleanShare: number, attack: string, n: number, pts: Curve['points']) =>
    `| ${label} | ${pct(cleanShare)} | ${attack} | ${n} | ${EPS.map((e) => {
      const p = pts.find((x) => x.eps === e);
      return p ? `${pct(p.accuracy)} [${pct(p.lower)}, ${pct(p.upper)}]` : '-';
    }).join(' | ')} |`;
  // Robust accuracy per model and attack: every finished -at model, measured or not.
  const curveTable = [
    `| model | clean (on its images) | attack | images | ${EPS.map(epsText).join(' | ')} |`,
    `|${' --- |'.repeat(4 + EPS.length)}`,
    ...models.flatMap((m) =>
      ATTACKS.flatMap((a) => {
        const c = curveOf(m.model, a.id)!;
        const label = `${m.model}${measuredIds.has(m.arch.id) ? '' : ' (not counted)'}`;
        return [
          row(label, c.clean, a.label, c.n, c.points),
          ...(a.id === 'autoattack' ? [row(label, c.clean, `PGD-10 on the ensemble's ${ENSEMBLE_IMAGES} images`, ENSEMBLE_IMAGES, pgdOnEnsembleImages(m.model))] : []),
        ];
      }),
    ),
  ].join('\n');
  const caseTables = perEps
    ? EPS.map((eps, i) => {
        const v = perEps[i]!;
        const blank = ATTACKS.filter((a) => !curveOf(name(status.measured[0]!.id, 'base'), a.id)!.eps.includes(eps)).map((a) => a.label);
        const rows = status.measured.flatMap((arch) =>
          ATTACKS.filter((a) => curveOf(name(arch.id, 'base'), a.id)!.eps.includes(eps)).map((a) => {
            const base = curveOf(name(arch.id, 'base'), a.id)!.points.find((p) => p.eps === eps)!;
            const regs = (['l1', 'l2', 'elasticnet'] as const).map((reg) => {
              const p = curveOf(name(arch.id, reg), a.id)!.points.find((x) => x.eps === eps)!;
              const c = all.find((x) => x.arch === arch.id && x.attack === a.id && x.reg === reg && x.eps === eps)!;
              return `${pct(p.accuracy)} (${signed(c.diff)} [${signed(c.ci[0])}, ${signed(c.ci[1])}], ${c.verdict})`;
            });
            return `| ${arch.label} | ${a.label} | ${pct(base.accuracy)} [${pct(base.lower)}, ${pct(base.upper)}] | ${regs.join(' | ')} |`;
          }),
        );
        return [
          `**eps ${epsText(eps)}**${blank.length ? ` (${blank.join(', ')} not measured at this budget)` : ''}: more robust in ${v.moreRobust} of ${v.cases} cases (needed ${v.needed}), less robust in ${v.lessRobust}; L1 ${v.byReg.l1}, L2 ${v.byReg.l2}, Elastic Net ${v.byReg.elasticnet}; the claim ${v.holds ? 'holds' : `does not hold (${v.failures.join('; ')})`}.`,
          '',
          '| architecture | attack | Base | L1 (difference [95% paired interval], verdict) | L2 | Elastic Net |',
          '| --- | --- | --- | --- | --- | --- |',
          ...rows,
        ].join('\n');
      }).join('\n\n')
    : '';

  writeFileAtomic(
    'reports/paper/table1eps.json',
    `${JSON.stringify({ images: IMAGES, ensembleImages: ENSEMBLE_IMAGES, eps: EPS, params: { ...PARAMS, deepfool: DEEPFOOL_PARAMS }, measured: status.measured.map((a) => a.id), notMeasured: status.notMeasured, clean, curves: curves.map(({ correct: _, ...c }) => c), pgdOnEnsembleImages: Object.fromEntries(models.map((m) => [m.model, pgdOnEnsembleImages(m.model)])), cases: all, perEps: perEps ?? null, verdict: overall ?? null }, null, 2)}\n`,
  );

  const cards = models.map((m) => ({ m, card: readCard(dir(m.model)) }));
  const recipe = [...new Set(cards.map(({ card }) => {
    const adv = card?.training.adversarial as Record<string, unknown> | undefined;
    const t = card?.training;
    return adv && t ? `${String(adv.method)} (eps ${epsText(Number(adv.eps))}, step ${epsText(Number(adv.stepSize))}, random start ${String(adv.randomStart)}), fine-tuned from the plain model on ${Number(adv.images).toLocaleString('en-US')} attacked training images x ${t.epochs} epochs, ${t.optimizer} ${t.learningRate} ${t.schedule}, batch ${t.batchSize}, seed ${t.seed}` : 'no adversarial-training record in the card';
  }))].join('; ');
  const cost = cards.map(({ m, card }) => `${m.model} ${card ? `${Math.round(card.training.seconds / 60)} min (${card.training.imagesPerSecond} images/s, ${card.training.backend}; clean ${pct(card.cleanAccuracy?.value ?? NaN)}% on ${card.cleanAccuracy?.n ?? '?'} test images)` : '?'}`).join('; ');
  const notMeasured = status.notMeasured.map((n) => n.text).join('; ');

  writeClaim({
    id: 'table1eps',
    title: 'Table 1 across eps: robustness curves after adversarial training',
    claim: 'After adversarial training, the L1, L2 and Elastic Net regularized ResNet, MobileNet and VGG16 are more robust than the unregularized model "in nearly all cases", Elastic Net "the most consistently" (the paper states no attack budget; here decided at each eps).',
    verdict: overall?.verdict ?? 'not measured',
    summary: [
      overall ? `${overall.sentence}` : `Not measured: no architecture has all four adversarially trained models yet (${notMeasured}).`,
      perEps ? perEps.map((v) => `At ${epsText(v.eps)} more robust in ${v.moreRobust} of ${v.cases} cases (less robust in ${v.lessRobust}; L1 ${v.byReg.l1}, L2 ${v.byReg.l2}, Elastic Net ${v.byReg.elasticnet}).`).join(' ') : '',
      perEps && status.notMeasured.length ? `Not measured: ${notMeasured}.` : '',
      `Curves of ${models.length} finished -at model(s) are below${perEps ? '' : '; they count for nothing until their architecture is complete'}.`,
    ].filter(Boolean).join(' '),
    why: overall?.verdict === 'reproduced'
      ? undefined
      : overall
        ? 'Our models are small versions trained for a few CPU epochs and adversarially fine-tuned with FGSM and a random start rather than retrained on DeepFool, FGSM and PGD images as in the paper; the penalties at factor 0.01 cost the regularized models clean accuracy, and an attacked image can stay correct only if it was correct clean. The paper states no budget and no image count; at 500 images a 95% interval does not separate differences of a few points.'
        : `The claim is decided only on architectures whose four -at models (base, L1, L2, Elastic Net) are trained; ${notMeasured}.`,
    setup:
      `${IMAGES} class-stratified CIFAR-10 test images (seed ${SEED}, from the shared JPEG copy's test split), the same for every model; only images classified correctly when clean are attacked. ` +
      `Models: ${models.map((m) => m.model).join(', ') || 'none'}; adversarial training (from the cards): ${recipe || 'none'}; its cost: ${cost || 'none'}. ` +
      `Budgets: Linf ${EPS.map(epsText).join(', ')}. FGSM every budget on every image; PGD-10 (10 steps of eps/4, random start, seed ${SEED}) and the cheap ensemble (APGD-CE 100 iterations, APGD-T 50 iterations x 3 target classes, Square 1,000 queries; seed ${SEED}; on ${ENSEMBLE_IMAGES} of the ${IMAGES} images, the first ${ENSEMBLE_IMAGES / 10} of each class in the draw's seeded order) with reuse (each budget attacks only the images still correct at the smaller ones), all through toHaveRobustnessCurve; DeepFool (Linf, uncapped, overshoot 0.02, at most 50 iterations, label + top 3 classes) once per model, an image robust at eps when DeepFool failed or needed more than eps in Linf. ` +
      `Accuracy intervals: 95% Wilson. A regularized model is more (less) robust in a case (architecture, attack, eps) when the 95% paired-bootstrap interval (2,000 resamples, seed ${SEED}) of its accuracy minus the base model's lies above (below) 0. Decided before measuring: at each eps, "nearly all" = at least 80% of the cases, rounded up; "Elastic Net the most consistently" = Elastic Net more robust in at least one case and in at least as many as L1 and as L2; an architecture with a model still training is not measured.`,
    markdown: [
      `Robust accuracy (%) per finished -at model, attack and eps, with 95% Wilson intervals (each curve's measuring time is in reports/paper/table1eps.json, kept out of this report so that its numbers stay comparable between runs)${status.notMeasured.length ? ` (models marked "not counted" belong to an architecture not measured yet)` : ''}:`,
      curveTable,
      perEps ? `Per eps: accuracy (%) of the base and regularized models; for each regularized model its difference from the base model in points with its 95% paired interval, and the verdict.\n\n${caseTables}` : '',
    ].filter(Boolean).join('\n\n') + '\n',
    figures: drawn.length ? [{ file: 'fig-table1-eps.svg', caption: `Table 1 across eps: robust accuracy against eps per architecture and attack, one line per regularizer (${IMAGES} test images, the ensemble ${ENSEMBLE_IMAGES}; 95% Wilson intervals)${status.measured.length < drawn.length ? '; architectures not measured yet show their finished models only' : ''}` }] : [],
    measuredAt: new Date().toISOString(),
  });
  return perEps;
}

// Budgets at which the claim was measured not to hold, kept as it.fails with their numbers in the
// report. First measurement with a complete architecture (ResNet-20, 2026-12-02; MobileNet and VGG16
// not trained yet): more robust than the base in 0 of 9 cases at 0.5/255, 1/255 and 4/255, 0 of 12
// at 2/255, 1 of 12 at 8/255 (L2 under PGD-10, +3.0 [+0.4, +5.6] points); L1 and Elastic Net less
// robust in every case but the ensemble's at 8/255 for L1 (their clean accuracy is 25 points lower).
// With VGG16 measured too (2026-12-02 19:40, ResNet-20 and VGG16; MobileNet training): 0 of 18
// cases at 0.5/255, 1/255 and 4/255, 0 of 24 at 2/255, 1 of 24 at 8/255 (the same ResNet-20 L2
// case); less robust in 15, 15, 19, 15 and 16. No budget changed its outcome.
const EXPECTED_TO_FAIL: readonly string[] = ['0.5/255', '1/255', '2/255', '4/255', '8/255'];

describe(`Table 1 across eps: regularized, adversarially trained (-at) models against the base model (${IMAGES} CIFAR-10 test images, JPEG q75 copy)`, () => {
  let perEps: EpsVerdict[] | undefined;
  for (const n of status.notMeasured) it.skip(`${n.text}: its cases are skipped`, () => {});
  for (const m of models) {
    it(`${m.model}: curves of FGSM, PGD-10, the cheap ensemble and DeepFool at ${EPS.map(epsText).join(', ')}, each within [0, clean] and falling with eps`, async () => {
      await measure(m);
      for (const { id } of ATTACKS) {
        const c = curveOf(m.model, id)!;
        expect(c.correct.every((x) => x.length === c.n)).toBe(true);
        expect(c.points.map((p) => p.eps)).toEqual(id === 'autoattack' ? ENSEMBLE_EPS : EPS);
        for (let i = 0; i < c.points.length; i++) {
          expect(c.points[i]!.accuracy).toBeLessThanOrEqual(c.clean);
          // Reuse and DeepFool's distances fall by construction; FGSM is checked here too.
          if (i > 0 && id !== 'fgsm') expect(c.points[i]!.accuracy).toBeLessThanOrEqual(c.points[i - 1]!.accuracy);
        }
      }
    });
  }
  if (models.length) {
    it('writes fig-table1-eps.svg, table1eps.json and reports/paper/table1eps.claim.json', () => {
      perEps = conclude();
    });
  }
  for (const [i, eps] of EPS.entries()) {
    const title = `at eps ${epsText(eps)}: regularized models are more robust than the base model in nearly all cases, Elastic Net the most consistently`;
    if (status.measured.length === 0) {
      // Skipped, not it.fails: an expected failure would be counted like a measured one that did not
      // hold, and a pass would be a claim decided on nothing.
      it.skip(`${title}: not tested, no architecture measured (${status.notMeasured.map((n) => n.text).join('; ')})`, () => {});
      continue;
    }
    const expectedToFail = EXPECTED_TO_FAIL.includes(epsText(eps));
    (expectedToFail ? it.fails : it)(title, () => {
      // Without verdicts (a failed measurement) the test must not pass: an it.fails passes on a
      // throw, so there the body does nothing (and it.fails fails); a plain it throws.
      if (!perEps) {
        if (expectedToFail) return;
        throw new Error('no verdicts: the measurement failed (see the tests above).');
      }
      expect(perEps[i]!.failures).toEqual([]);
    });
  }
});
