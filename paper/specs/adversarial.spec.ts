// The paper's Table 1 claim, measured on this project's own models: ResNet, MobileNet and VGG16,
// each unregularized (base) and with an L1, L2 or elastic-net kernel penalty (factor 0.01),
// adversarially trained, then attacked on test images. "The regularized models are more robust
// than the base model in nearly all cases, and Elastic Net the most consistently."
//
// Models (issue 23): fixtures/models/<arch>-<reg>-at, each plain model fine-tuned by on-the-fly
// adversarial training (`npm run workbench -- adv-train --method fgsm-rs`: FGSM from a random start
// on every batch of all 45,000 training images, 5 epochs; recipe and cost on their cards and in
// paper/train-fixtures.sh). This is a stated departure from the paper's section 4.2 (the training
// set augmented once with DeepFool, FGSM and PGD images, then retrained): that recipe, as our short
// fine-tune (-adv models: 1,000 images attacked by each attack plus 9,000 clean ones, 2 epochs),
// left PGD-10 accuracy at 8/255 at 0.0-0.2% on every ResNet-20. The verdict on those -adv models is
// kept as the record of "before" (paper/records/table1-adv.json; their weights are in git history)
// and shown beside this one. The same claim across eps is adversarial-eps.spec.ts.
//
// Settings (PAPER_ATTACKS, the same for every model and for the adversarial training):
// FGSM Linf 8/255; PGD Linf 8/255, 10 steps of 2/255, random start; DeepFool L2, overshoot 0.02,
// each step 1e-4 past the linearised boundary, at most 50 iterations, label + top 3 classes,
// perturbation capped at L2 0.5. Images: the same 500 class-stratified test images (seed 1) for
// every cell. A cell's accuracy counts an image as correct when the model classifies its attacked
// version correctly (images misclassified clean are wrong without being attacked).
//
// Decided before measuring (and not to be changed to flip a verdict):
// - a case is (architecture, attack, regularizer): 3 x 3 x 3 = 27. In a case the regularized model
//   is "more robust" when the 95% paired-bootstrap interval (2,000 resamples over the 500 images,
//   seed 1) of its accuracy minus the base model's lies above 0, "less robust" when below 0;
// - "more robust in nearly all cases": more robust in at least 80% of the cases, rounded up (22 of
//   the 27 when all three architectures are trained);
// - "Elastic Net the most consistently": elastic net is more robust in at least one of its cases
//   and in at least as many as L1 and as L2.
// An architecture whose eight fixtures are not all trained is reported as not measured, and the
// two criteria are applied to the cases of the architectures measured.
import { mkdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { bootstrapCI, cifar10, isFinished, loadModel, makeSamples, predictClasses, readCard, wilsonInterval, writeFileAtomic } from 'vitest-robustness';
import { PAPER_ATTACKS } from '../constants.js';
import { writeClaim } from '../report/claims.js';
import { epsText } from '../report/table1eps.js';

const ARCHS = [
  { id: 'resnet20', label: 'ResNet' },
  { id: 'mobilenet', label: 'MobileNet' },
  { id: 'vgg16', label: 'VGG16' },
] as const;
const REGS = ['base', 'l1', 'l2', 'elasticnet'] as const;
const REG_LABEL = { base: 'Base', l1: 'L1', l2: 'L2', elasticnet: 'Elastic Net' } as const;
const ATTACKS = ['deepfool', 'fgsm', 'pgd'] as const;
const ATTACK_LABEL = { deepfool: 'DeepFool', fgsm: 'FGSM', pgd: 'PGD' } as const;
const IMAGES = 500;

// The paper's Table 1 (accuracy %, DeepFool / FGSM / PGD), for the side-by-side.
const PAPER: Record<(typeof ARCHS)[number]['id'], Record<(typeof REGS)[number], [number, number, number]>> = {
  resnet20: { base: [19.6, 23.8, 18.0], l1: [34.2, 16.0, 28.4], l2: [25.2, 11.4, 13.2], elasticnet: [33.8, 37.4, 38.2] },
  mobilenet: { base: [11.4, 22.2, 22.0], l1: [27.2, 22.6, 28.0], l2: [38.4, 30.2, 25.4], elasticnet: [25.4, 27.0, 19.4] },
  vgg16: { base: [8.4, 7.6, 1.6], l1: [10.8, 8.0, 8.0], l2: [11.3, 10.2, 8.0], elasticnet: [11.4, 11.4, 10.8] },
};

const finished = isFinished;
/** The adversarially trained models measured: <arch>-<reg>-at (see the header). */
const SUFFIX = '-at';
const modelDir = (arch: string, reg: string) => `fixtures/models/${arch}-${reg}${SUFFIX}`;

interface Cell {
  arch: string;
  reg: string;
  attack: string;
  /** Per image: 1 when still classified correctly after the attack. */
  correct: Uint8Array;
  accuracy: number;
  ci: [number, number];
  seconds: number;
}

const images = await cifar10.test({ count: IMAGES, seed: 1 });
afterAll(() => images.dispose());
const labels = Array.from(await images.labels.data());

/** The verdict before issue 23: the same spec on the -adv models, recorded when their weights were removed. */
const BEFORE = JSON.parse(readFileSync('paper/records/table1-adv.json', 'utf8')) as { about: string; measuredAt: string; commit: string; verdict: string; moreRobust: number; lessRobust: number; cases: unknown[]; byReg: Record<string, number>; table: string };

const cells: Cell[] = [];
const clean: Record<string, number> = {};
/** Per model: the share of the test images predicted as its most frequent class (1/10 for a balanced model). */
const topShare: Record<string, number> = {};
const available = ARCHS.filter((a) => REGS.every((r) => finished(modelDir(a.id, r))));

/**
 * One architecture's twelve cells. Each attack runs through toResistAttack, which checks every
 * adversarial image against the budget and [0, 1], measures the predictions itself and records
 * the check for the report; its threshold (minAccuracy 0) decides nothing here: the claim's
 * comparisons, decided before measuring, are made on the per-image outcomes it resolves to; its
 * evaluation flags are reported with the check (flags: 'warn'), not made part of the claim.
 */
async function measure(arch: (typeof ARCHS)[number]): Promise<void> {
  for (const reg of REGS) {
    const dir = modelDir(arch.id, reg);
    const model = await loadModel(dir);
    try {
      const preds = await predictClasses(model, images.images);
      const right = labels.map((y, i) => preds[i] === y);
      clean[`${arch.id}-${reg}`] = right.filter(Boolean).length / IMAGES;
      const counts = new Map<number, number>();
      for (const p of preds) counts.set(p, (counts.get(p) ?? 0) + 1);
      topShare[`${arch.id}-${reg}`] = Math.max(...counts.values()) / IMAGES;
      // Only the images the model gets right are attacked: the others count as wrong anyway.
      const keep = right.flatMap((ok, i) => (ok ? [i] : []));
      const attacked = makeSamples(images.images.gather(keep), images.labels.gather(keep), { ids: keep.map((i) => images.ids[i]!), classNames: images.classNames, source: images.source });
      try {
        for (const attack of ATTACKS) {
          const t0 = performance.now();
          const { eps, ...params } = PAPER_ATTACKS[attack].params as { eps: number } & Record<string, unknown>;
          const m = await expect(attacked).toResistAttack(model, attack, eps, { minAccuracy: 0, params: { ...params, seed: 1 }, saveWorst: 0, flags: 'warn' });
          const correct = new Uint8Array(IMAGES);
          keep.forEach((i, j) => (correct[i] = m.predsAfter[j] === labels[i] ? 1 : 0));
          const hits = correct.reduce((s, v) => s + v, 0);
          const w = wilsonInterval(hits, IMAGES);
          const seconds = (performance.now() - t0) / 1000;
          cells.push({ arch: arch.id, reg, attack, correct, accuracy: hits / IMAGES, ci: [w.lower, w.upper], seconds });
          process.stderr.write(`[table 1] ${arch.id}-${reg}${SUFFIX} ${attack}: ${((100 * hits) / IMAGES).toFixed(1)}% (${keep.length} attacked, ${seconds.toFixed(0)} s)\n`);
        }
      } finally {
        attacked.dispose();
      }
    } finally {
      model.dispose();
    }
  }
}

const missing = ARCHS.filter((a) => !available.includes(a)).map((a) => `${a.label} (${REGS.filter((r) => !finished(modelDir(a.id, r))).map((r) => `${a.id}-${r}${SUFFIX}`).join(', ')})`);
/** Cases: (architecture, attack, regularizer) for the architectures measured. */
const caseCount = available.length * ATTACKS.length * (REGS.length - 1);
const needed = Math.ceil(0.8 * caseCount);

/** Once every architecture is measured: the cases, the figure, table1.json and the claim file. */
function conclude(): { moreFailures: string[]; enFailures: string[] } {
  if (cells.length !== caseCount / (REGS.length - 1) * REGS.length) throw new Error(`only ${cells.length} of the ${(caseCount / (REGS.length - 1)) * REGS.length} cells were measured; see the failed tests above.`);
  const cell = (arch: string, reg: string, attack: string) => cells.find((c) => c.arch === arch && c.reg === reg && c.attack === attack)!;

  interface Case {
    arch: string;
    reg: string;
    attack: string;
    diff: number;
    ci: [number, number];
    verdict: 'more robust' | 'less robust' | 'no difference';
  }
  const cases: Case[] = [];
  for (const arch of available) {
    for (const reg of REGS.slice(1)) {
      for (const attack of ATTACKS) {
        const a = cell(arch.id, reg, attack);
        const b = cell(arch.id, 'base', attack);
        const d = Array.from(a.correct, (v, i) => v - b.correct[i]!);
        const ci = bootstrapCI(d, { seed: 1, resamples: 2000 });
        cases.push({ arch: arch.id, reg, attack, diff: ci.estimate, ci: [ci.lower, ci.upper], verdict: ci.lower > 0 ? 'more robust' : ci.upper < 0 ? 'less robust' : 'no difference' });
      }
    }
  }
  const moreRobust = cases.filter((c) => c.verdict === 'more robust').length;
  const lessRobust = cases.filter((c) => c.verdict === 'less robust').length;
  const byReg = Object.fromEntries(REGS.slice(1).map((r) => [r, cases.filter((c) => c.reg === r && c.verdict === 'more robust').length])) as Record<string, number>;

  // Fig. 2: accuracy bars per architecture and attack, one bar per variant, with 95% intervals.
  function figure(): string {
    const colors = { base: '#7f7f7f', l1: '#1f77b4', l2: '#2ca02c', elasticnet: '#d62728' } as Record<string, string>;
    const groupW = 150;
    // At least as wide as the title (about 7 px a character at 13 px), even with one architecture.
    const W = Math.max(90 + available.length * ATTACKS.length * groupW, 720);
    const H = 300;
    const y = (v: number) => H - 50 - v * (H - 100);
    let body = '';
    available.forEach((arch, ai) =>
      ATTACKS.forEach((attack, ki) => {
        const gx = 70 + (ai * ATTACKS.length + ki) * groupW;
        REGS.forEach((reg, ri) => {
          const c = cell(arch.id, reg, attack);
          const x = gx + 10 + ri * 30;
          body += `<rect x="${x}" y="${y(c.accuracy)}" width="24" height="${y(0) - y(c.accuracy)}" fill="${colors[reg]}"/><line x1="${x + 12}" x2="${x + 12}" y1="${y(c.ci[0])}" y2="${y(c.ci[1])}" stroke="black"/>`;
        });
        body += `<text x="${gx + 70}" y="${H - 32}" text-anchor="middle" font-size="11">${ATTACK_LABEL[attack]}</text>`;
        if (ki === 1) body += `<text x="${gx + 70}" y="${H - 14}" text-anchor="middle" font-size="12" font-weight="bold">${arch.label}</text>`;
      }),
    );
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => `<text x="60" y="${y(t) + 4}" text-anchor="end" font-size="11">${t * 100}%</text><line x1="65" x2="${W - 20}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/>`).join('');
    const legend = REGS.map((r, i) => `<rect x="${80 + i * 110}" y="26" width="12" height="12" fill="${colors[r]}"/><text x="${96 + i * 110}" y="37" font-size="12">${REG_LABEL[r]}</text>`).join('');
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${ticks}${legend}
<text x="${W / 2}" y="16" text-anchor="middle" font-size="13">Fig. 2 on our models: accuracy under attack after adversarial training (${IMAGES} test images, 95% intervals)</text>${body}</svg>\n`;
  }

  const pct = (v: number) => (100 * v).toFixed(1);
  function table(): string {
    const head = `| architecture | variant | clean | ${ATTACKS.map((a) => `${ATTACK_LABEL[a]} (paper)`).join(' | ')} | ${ATTACKS.map((a) => `${ATTACK_LABEL[a]} (ours, 95% CI)`).join(' | ')} |`;
    const rows = available.flatMap((arch) =>
      REGS.map(
        (reg) =>
          `| ${arch.label} | ${REG_LABEL[reg]} | ${pct(clean[`${arch.id}-${reg}`]!)} | ${PAPER[arch.id][reg].map((v) => v.toFixed(2)).join(' | ')} | ${ATTACKS.map((a) => {
            const c = cell(arch.id, reg, a);
            return `${pct(c.accuracy)} [${pct(c.ci[0])}, ${pct(c.ci[1])}]`;
          }).join(' | ')} |`,
      ),
    );
    return [head, `|${' --- |'.repeat(3 + 2 * ATTACKS.length)}`, ...rows].join('\n');
  }

  mkdirSync('reports/paper', { recursive: true });
  if (available.length) writeFileAtomic('reports/paper/fig2.svg', figure());
  if (available.length) writeFileAtomic(
    'reports/paper/table1.json',
    `${JSON.stringify({ images: IMAGES, attacks: PAPER_ATTACKS, available: available.map((a) => a.id), clean, topShare, cells: cells.map(({ correct: _, ...c }) => c), cases, moreRobust, lessRobust, byReg, table: table() }, null, 2)}\n`,
  );

  const moreFailures = moreRobust >= needed ? [] : [`more robust in ${moreRobust} of ${cases.length} cases, fewer than the ${needed} that "nearly all" asks (less robust in ${lessRobust})`];
  // "Most consistently" needs Elastic Net to be more robust somewhere, not only to tie at zero.
  const enFailures = [
    ...(byReg.elasticnet === 0 ? ['Elastic Net is more robust in none of its cases'] : []),
    ...REGS.slice(1).filter((r) => r !== 'elasticnet' && byReg[r]! > byReg.elasticnet!).map((r) => `${REG_LABEL[r as 'l1' | 'l2']} is more robust in ${byReg[r]} cases, Elastic Net in ${byReg.elasticnet}`),
  ];

  if (available.length) {
    const holds = [moreFailures.length === 0, enFailures.length === 0];
    const atCards = available.flatMap((a) => REGS.map((r) => ({ model: `${a.id}-${r}${SUFFIX}`, card: readCard(modelDir(a.id, r)) })));
    const recipe = [...new Set(atCards.map(({ card }) => {
      const adv = card?.training.adversarial as Record<string, unknown> | undefined;
      const t = card?.training;
      return adv && t ? `${String(adv.method)} (eps ${epsText(Number(adv.eps))}, step ${epsText(Number(adv.stepSize))}, random start ${String(adv.randomStart)}) on ${Number(adv.images).toLocaleString('en-US')} training images x ${t.epochs} epochs, ${t.optimizer} ${t.learningRate} ${t.schedule}, batch ${t.batchSize}, seed ${t.seed}` : 'no adversarial-training record in the card';
    }))].join('; ');
    const cost = atCards.map(({ model, card }) => `${model} ${card ? `${Math.round(card.training.seconds / 60)} min at ${card.training.imagesPerSecond} images/s` : '?'}`).join(', ');
    const srcCards = available.map((a) => readCard(`fixtures/models/${a.id}-base`));
    const caseList = (v: Case['verdict']) => cases.filter((c) => c.verdict === v).map((c) => `${c.arch} ${REG_LABEL[c.reg as 'l1']} ${ATTACK_LABEL[c.attack as 'fgsm']} (${c.diff >= 0 ? '+' : ''}${(100 * c.diff).toFixed(1)} points [${(100 * c.ci[0]).toFixed(1)}, ${(100 * c.ci[1]).toFixed(1)}])`);
    // Attacks under which no model keeps more than 5% accuracy: a floor at which no case can differ.
    const paperRange = (attack: (typeof ATTACKS)[number]) => {
      const v = available.flatMap((a) => REGS.map((r) => PAPER[a.id][r][ATTACKS.indexOf(attack)]!));
      return `${Math.min(...v).toFixed(1)}% to ${Math.max(...v).toFixed(1)}%`;
    };
    // More-robust cases on models the penalty collapsed (under half the base model's clean accuracy).
    const collapsed = [...new Set(cases.filter((c) => c.verdict === 'more robust' && clean[`${c.arch}-${c.reg}`]! < clean[`${c.arch}-base`]! / 2).map((c) => `${c.arch}-${c.reg}`))];
    const collapsedWins = cases.filter((c) => c.verdict === 'more robust' && collapsed.includes(`${c.arch}-${c.reg}`)).length;
    const floored = ATTACKS.map((attack) => ({ attack, max: Math.max(...cells.filter((c) => c.attack === attack).map((c) => c.accuracy)) })).filter((f) => f.max <= 0.05);
    writeClaim({
      id: 'table1',
      title: 'Table 1: robustness under attack',
      claim: 'After adversarial training with DeepFool, FGSM and PGD images, the L1, L2 and Elastic Net regularized ResNet, MobileNet and VGG16 are more robust than the unregularized model "in nearly all cases", Elastic Net "the most consistently".',
      verdict: holds.every(Boolean) ? 'reproduced' : holds.some(Boolean) ? 'partly reproduced' : 'not reproduced',
      summary: [
        `Regularized models were more robust than the base model in ${moreRobust} of ${cases.length} cases and less robust in ${lessRobust} (${available.map((a) => a.label).join(', ')}; paired 95% intervals).`,
        `More robust by regularizer: L1 ${byReg.l1}, L2 ${byReg.l2}, Elastic Net ${byReg.elasticnet} of ${cases.length / 3}.`,
        caseList('more robust').length ? `More robust: ${caseList('more robust').join('; ')}.` : '',
        caseList('less robust').length ? `Less robust: ${caseList('less robust').join('; ')}.` : '',
        missing.length ? `Not measured (fixtures still training): ${missing.join('; ')}.` : '',
        `Before, on the -adv models (the paper's recipe as a short fine-tune; recorded ${BEFORE.measuredAt.slice(0, 10)} at ${BEFORE.commit}): ${BEFORE.verdict}, more robust in ${BEFORE.moreRobust} of ${BEFORE.cases.length} cases, less robust in ${BEFORE.lessRobust}.`,
      ]
        .filter(Boolean)
        .join(' '),
      why: holds.every(Boolean)
        ? undefined
        : [
            'Our models are small versions trained for a few CPU epochs, and their adversarial training is FGSM from a random start for 5 epochs (a stated departure from the paper\'s augment-and-retrain); at the paper\'s factor 0.01 the L1 and Elastic Net penalties also cost the regularized models clean accuracy, and an attacked image can only stay correct if it was correct to begin with.',
            'The paper states neither its attack parameters nor how many test images it attacked; its cells differ by amounts that, at 500 images, a 95% interval would not separate.',
            collapsedWins
              ? `${collapsedWins} of the ${moreRobust} more-robust cases are on models with less than half their base model's clean accuracy: ${collapsed.map((k) => `${k}${SUFFIX} (clean ${pct(clean[k]!)}% against ${pct(clean[`${k.split('-')[0]}-base`]!)}%; ${pct(topShare[k]!)}% of its predictions in one class, the base model ${pct(topShare[`${k.split('-')[0]}-base`]!)}%)`).join(', ')}. We think such a model keeps an attacked image correct because its output depends little on its input, not because it resists the attack.`
              : '',
            floored.length
              ? `At our settings ${floored.map(({ attack, max }) => `${ATTACK_LABEL[attack]} leaves every model at most ${(100 * max).toFixed(1)}% accuracy (the paper's cells for the same architectures: ${paperRange(attack)})`).join(' and ')}, so those cases cannot separate the models; we think the paper attacked with smaller budgets than ours.`
              : '',
          ]
            .filter(Boolean)
            .join(' '),
      setup:
        `${IMAGES} class-stratified CIFAR-10 test images (seed 1, ${images.size} of the shared JPEG copy's 5,000 test images), the same for every cell. Models: the fixtures ${available.flatMap((a) => REGS.map((r) => `${a.id}-${r}${SUFFIX}`)).join(', ')}, each fine-tuned by \`npm run workbench -- adv-train\` from the plain model of the same name (${srcCards.map((c) => `${c?.name}: ${c?.spec.arch} width ${c?.spec.width}, ${c?.training.epochs} epochs`).join('; ')}); adversarial training (from the cards): ${recipe}. Its cost: ${cost}. ` +
        `Attacks: FGSM Linf 8/255; PGD Linf 8/255, 10 steps of 2/255, random start; DeepFool L2, overshoot 0.02, each step 1e-4 past the linearised boundary (as in the DeepFool authors' code), at most 50 iterations, the label and top 3 other classes, perturbation capped at L2 0.5. Only images classified correctly when clean are attacked; the others count as wrong. ` +
        `Accuracy intervals: 95% Wilson. A regularized model is more (less) robust in a case when the 95% paired-bootstrap interval (2,000 resamples, seed 1) of its accuracy minus the base model's lies above (below) 0. Decided before measuring: "nearly all" = at least 80% of the cases (22 of 27); "Elastic Net the most consistently" = Elastic Net more robust in at least one case and in at least as many as L1 and as L2.`,
      markdown: `Accuracy (%) on attacked test images; the paper's numbers beside ours.\n\n${table()}\n\nPer case (regularized minus base, points, 95% paired interval):\n\n| architecture | variant | attack | difference | verdict |\n| --- | --- | --- | --- | --- |\n${cases.map((c) => `| ${c.arch} | ${REG_LABEL[c.reg as 'l1']} | ${ATTACK_LABEL[c.attack as 'fgsm']} | ${(100 * c.diff).toFixed(1)} [${(100 * c.ci[0]).toFixed(1)}, ${(100 * c.ci[1]).toFixed(1)}] | ${c.verdict} |`).join('\n')}\n\n**Before** (recorded, not re-measured): ${BEFORE.about} Verdict then: **${BEFORE.verdict}**; more robust in ${BEFORE.moreRobust} of ${BEFORE.cases.length} cases (L1 ${BEFORE.byReg.l1}, L2 ${BEFORE.byReg.l2}, Elastic Net ${BEFORE.byReg.elasticnet}), less robust in ${BEFORE.lessRobust}.\n\n${BEFORE.table}\n`,
      figures: [{ file: 'fig2.svg', caption: `Fig. 2 on our models: accuracy under each attack after adversarial training, per architecture and variant (${IMAGES} test images, 95% Wilson intervals)` }],
      measuredAt: new Date().toISOString(),
    });
  }
  return { moreFailures, enFailures };
}

// Parts of the claim measured not to hold on the committed models are kept as it.fails; the test
// names carry this run's numbers and reports/paper.md the rest. On the -at models of ResNet-20 and
// VGG16 (MobileNet still training, 2026-12-02): more robust in 1 of 18 cases (ResNet-20 L2 under
// PGD), less robust in 15, Elastic Net in none, so both parts fail; on the -adv models only
// "nearly all" failed (paper/records/table1-adv.json).
const EXPECTED_TO_FAIL: ('nearly all' | 'elastic net')[] = ['nearly all', 'elastic net'];
const test = (part: (typeof EXPECTED_TO_FAIL)[number]) => (EXPECTED_TO_FAIL.includes(part) ? it.fails : it);

describe(`Table 1: regularized, adversarially trained models resist attacks better (${IMAGES} CIFAR-10 test images, JPEG q75 copy)`, () => {
  let result: ReturnType<typeof conclude> | undefined;
  for (const m of missing) it.skip(`not measured, fixtures still training: ${m}`, () => {});
  for (const arch of available) {
    it(`${arch.label}: every cell measured on ${IMAGES} images, accuracies within [0, clean]`, async () => {
      await measure(arch);
      for (const reg of REGS) {
        for (const attack of ATTACKS) {
          const c = cells.find((x) => x.arch === arch.id && x.reg === reg && x.attack === attack)!;
          expect(c.correct.length).toBe(IMAGES);
          expect(c.accuracy).toBeLessThanOrEqual(clean[`${arch.id}-${reg}`]!);
        }
      }
    });
  }
  if (available.length) {
    it('writes fig2.svg, table1.json and reports/paper/table1.claim.json from the cases', () => {
      result = conclude();
    });
    // Without a result the body of an it.fails passes, so that test fails rather than passing.
    test('nearly all')(`regularized models are more robust than the base model in nearly all cases (>= ${needed} of ${caseCount})`, () => {
      if (result || !EXPECTED_TO_FAIL.includes('nearly all')) expect(result?.moreFailures).toEqual([]);
    });
    test('elastic net')('Elastic Net is the most consistently more robust', () => {
      if (result || !EXPECTED_TO_FAIL.includes('elastic net')) expect(result?.enFailures).toEqual([]);
    });
  }
});
