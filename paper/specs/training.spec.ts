// The paper's Fig. 3 claim, measured on the training histories of this project's own models (the
// history.json that `npm run workbench -- train` writes every epoch): "the regularized models take slightly
// longer to converge, but all models are able to achieve the same accuracy and loss on the training
// and validation sets. However, in the case of no regularization, the validation loss begins to
// vary wildly" (the paper shows VGG-16; we test every architecture whose four variants are trained).
//
// Decided before measuring (and not to be changed to flip a verdict), per architecture:
// - "slower to converge": each regularized model needs more epochs than the base model to reach
//   90% of the base model's final validation accuracy (never reaching it counts as slower);
// - "the same accuracy and loss": each regularized model's final training and validation accuracy
//   lie within 5 points of the base model's, and its final validation cross-entropy within 20% of
//   the base model's. Training loss is not compared: ours includes the penalty term, so the
//   regularized models minimize a different objective;
// - "the base model's validation loss varies more late in training": the standard deviation of
//   the epoch-to-epoch changes of validation loss over the second half of training is larger for
//   the base model than for each regularized model.
// A part of the claim holds when it holds for every measured architecture. The validation set is
// the 5,000 training images held out by `npm run workbench -- train` (seed 12345).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isFinished, loadModel, readCard, writeFileAtomic } from 'vitest-robustness';
import { writeClaim } from '../report/claims.js';

const ARCHS = [
  { id: 'resnet20', label: 'ResNet-20' },
  { id: 'mobilenet', label: 'MobileNet' },
  { id: 'vgg16', label: 'VGG16' },
] as const;
type ArchId = (typeof ARCHS)[number]['id'];
const REGS = ['base', 'l1', 'l2', 'elasticnet'] as const;
type Reg = (typeof REGS)[number];
const LABEL: Record<Reg, string> = { base: 'Base', l1: 'L1', l2: 'L2', elasticnet: 'Elastic Net' };
const COLOR: Record<Reg, string> = { base: '#7f7f7f', l1: '#1f77b4', l2: '#2ca02c', elasticnet: '#d62728' };
const REACH = 0.9;
const SAME_ACCURACY = 0.05;
const SAME_VAL_LOSS = 0.2;

interface Epoch {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
}

const dir = (arch: ArchId, reg: Reg) => `fixtures/models/${arch}-${reg}`;
const finished = isFinished;
function history(d: string): Epoch[] {
  const h = JSON.parse(readFileSync(`${d}/history.json`, 'utf8')) as Epoch[];
  if (h.some((e) => typeof e.valLoss !== 'number' || typeof e.valAccuracy !== 'number')) throw new Error(`${d}/history.json lacks validation figures; retrain with a validation split (the workbench's train command holds one out by default).`);
  return h;
}

const available = ARCHS.filter((a) => REGS.every((r) => finished(dir(a.id, r))));
const missing = ARCHS.filter((a) => !available.includes(a));

interface Measured {
  arch: ArchId;
  epochs: number;
  histories: Record<Reg, Epoch[]>;
  /** Epochs each model needs to reach REACH x the base model's final validation accuracy (Infinity: never). */
  epochsToReach: Record<Reg, number>;
  final: Record<Reg, Epoch>;
  /** Std of the epoch-to-epoch changes of validation loss over the second half of training. */
  lateVariation: Record<Reg, number>;
  slowerFailures: string[];
  sameFailures: string[];
  varianceFailures: string[];
}

const std = (a: number[]) => {
  const m = a.reduce((s, v) => s + v, 0) / a.length;
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / Math.max(1, a.length - 1));
};
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

const measured: Measured[] = available.map(({ id }) => {
  const histories = Object.fromEntries(REGS.map((r) => [r, history(dir(id, r))])) as Record<Reg, Epoch[]>;
  const epochs = histories.base.length;
  const lengths = REGS.map((r) => histories[r].length);
  if (new Set(lengths).size !== 1) throw new Error(`${id}: the four variants trained for different numbers of epochs (${REGS.map((r, i) => `${r} ${lengths[i]}`).join(', ')}); Fig. 3 compares equal runs.`);
  const final = Object.fromEntries(REGS.map((r) => [r, histories[r].at(-1)!])) as Record<Reg, Epoch>;
  const bar = REACH * final.base.valAccuracy;
  const epochsToReach = Object.fromEntries(REGS.map((r) => [r, histories[r].find((e) => e.valAccuracy >= bar)?.epoch ?? Infinity])) as Record<Reg, number>;
  const half = Math.floor(epochs / 2);
  const lateVariation = Object.fromEntries(
    REGS.map((r) => {
      const late = histories[r].slice(half - 1).map((e) => e.valLoss);
      return [r, std(late.slice(1).map((v, i) => v - late[i]!))];
    }),
  ) as Record<Reg, number>;
  const regs = REGS.slice(1);
  const slowerFailures = regs.filter((r) => !(epochsToReach[r] > epochsToReach.base)).map((r) => `${LABEL[r]} reaches ${pct(bar)} validation accuracy at epoch ${epochsToReach[r]}, the base model at ${epochsToReach.base}`);
  const sameFailures = regs.flatMap((r) => {
    const f: string[] = [];
    const dt = final[r].accuracy - final.base.accuracy;
    const dv = final[r].valAccuracy - final.base.valAccuracy;
    const dl = (final[r].valLoss - final.base.valLoss) / final.base.valLoss;
    if (Math.abs(dt) > SAME_ACCURACY) f.push(`${LABEL[r]} training accuracy ${pct(final[r].accuracy)} vs ${pct(final.base.accuracy)}`);
    if (Math.abs(dv) > SAME_ACCURACY) f.push(`${LABEL[r]} validation accuracy ${pct(final[r].valAccuracy)} vs ${pct(final.base.valAccuracy)}`);
    if (Math.abs(dl) > SAME_VAL_LOSS) f.push(`${LABEL[r]} validation loss ${final[r].valLoss.toFixed(3)} vs ${final.base.valLoss.toFixed(3)}`);
    return f;
  });
  const varianceFailures = regs.filter((r) => !(lateVariation.base > lateVariation[r])).map((r) => `${LABEL[r]} late validation-loss variation ${lateVariation[r].toFixed(4)} >= base ${lateVariation.base.toFixed(4)}`);
  return { arch: id, epochs, histories, epochsToReach, final, lateVariation, slowerFailures, sameFailures, varianceFailures };
});

// For the "why" when a regularized model ends below the base: the mean absolute value of its conv
// and dense kernels, and the median of its batch-norm moving variances (tfjs's batch-norm epsilon is
// 1e-3), read from the committed weights.
interface Scale {
  meanAbsKernel: number;
  medianMovingVariance: number;
}
async function scaleOf(d: string): Promise<Scale> {
  const model = await loadModel(d);
  try {
    let sum = 0;
    let count = 0;
    const variances: number[] = [];
    for (const w of model.weights) {
      const v = w.read().dataSync();
      if (/kernel/.test(w.originalName)) {
        for (const x of v) sum += Math.abs(x);
        count += v.length;
      } else if (/moving_variance/.test(w.originalName)) variances.push(...v);
    }
    variances.sort((a, b) => a - b);
    return { meanAbsKernel: sum / count, medianMovingVariance: variances.length ? variances[variances.length >> 1]! : NaN };
  } finally {
    model.dispose();
  }
}
const scales: Record<string, Scale> = {};
for (const m of measured) for (const r of REGS) scales[`${m.arch}-${r}`] = await scaleOf(dir(m.arch, r));
const e1 = (v: number) => v.toExponential(1);
/** The models more than SAME_ACCURACY below their base in validation accuracy, with their scales. */
const below = measured.flatMap((m) =>
  REGS.slice(1)
    .filter((r) => m.final.base.valAccuracy - m.final[r].valAccuracy > SAME_ACCURACY)
    .map((r) => {
      const s = scales[`${m.arch}-${r}`]!;
      const b = scales[`${m.arch}-base`]!;
      return `${m.arch}-${r}: mean |kernel| ${e1(s.meanAbsKernel)} against the base model's ${e1(b.meanAbsKernel)} (${Math.round(b.meanAbsKernel / s.meanAbsKernel)}x smaller), median batch-norm moving variance ${e1(s.medianMovingVariance)} against ${e1(b.medianMovingVariance)}`;
    }),
);

// Fig. 3: per architecture, (a) training accuracy, (b) validation accuracy, (c) training loss
// (with the penalty), (d) validation loss (cross-entropy), one line per variant.
function figure(): string {
  const PW = 250;
  const PH = 170;
  const panels = [
    { key: 'accuracy', title: '(a) training accuracy' },
    { key: 'valAccuracy', title: '(b) validation accuracy' },
    { key: 'loss', title: '(c) training loss (with penalty)' },
    { key: 'valLoss', title: '(d) validation loss' },
  ] as const;
  const W = 40 + panels.length * (PW + 30);
  const H = 50 + measured.length * (PH + 60);
  let body = '';
  measured.forEach((m, ai) => {
    const top = 50 + ai * (PH + 60);
    body += `<text x="10" y="${top - 8}" font-size="13" font-weight="bold">${ARCHS.find((a) => a.id === m.arch)!.label}</text>`;
    panels.forEach((p, pi) => {
      const left = 50 + pi * (PW + 30);
      const all = REGS.flatMap((r) => m.histories[r].map((e) => e[p.key]));
      const lo = 0;
      const hi = p.key.includes('ccuracy') ? 1 : Math.max(...all) * 1.05;
      const x = (epoch: number) => left + ((epoch - 1) / Math.max(1, m.epochs - 1)) * PW;
      const y = (v: number) => top + PH - ((v - lo) / (hi - lo)) * PH;
      body += `<rect x="${left}" y="${top}" width="${PW}" height="${PH}" fill="none" stroke="#ccc"/><text x="${left + PW / 2}" y="${top + PH + 30}" text-anchor="middle" font-size="11">${p.title}, by epoch</text>`;
      body += `<text x="${left - 4}" y="${top + 4}" text-anchor="end" font-size="10">${p.key.includes('ccuracy') ? '100%' : hi.toFixed(1)}</text><text x="${left - 4}" y="${top + PH}" text-anchor="end" font-size="10">0</text>`;
      body += `<text x="${left}" y="${top + PH + 14}" font-size="10">1</text><text x="${left + PW}" y="${top + PH + 14}" text-anchor="end" font-size="10">${m.epochs}</text>`;
      for (const r of REGS) body += `<polyline fill="none" stroke="${COLOR[r]}" stroke-width="1.8" points="${m.histories[r].map((e) => `${x(e.epoch).toFixed(1)},${y(e[p.key]).toFixed(1)}`).join(' ')}"/>`;
    });
  });
  const legend = REGS.map((r, i) => `<rect x="${60 + i * 110}" y="12" width="12" height="12" fill="${COLOR[r]}"/><text x="${76 + i * 110}" y="23" font-size="12">${LABEL[r]}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${legend}${body}</svg>\n`;
}

const parts = ['slower', 'same', 'variance'] as const;
const failuresOf = (m: Measured, part: (typeof parts)[number]) => (part === 'slower' ? m.slowerFailures : part === 'same' ? m.sameFailures : m.varianceFailures);
const holds = Object.fromEntries(parts.map((p) => [p, measured.every((m) => failuresOf(m, p).length === 0)])) as Record<(typeof parts)[number], boolean>;

function table(m: Measured): string {
  const label = ARCHS.find((a) => a.id === m.arch)!.label;
  return [
    `| ${label} | epochs to ${REACH * 100}% of base val. acc. | final train acc. | final val. acc. | final val. loss | late val.-loss variation |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...REGS.map((r) => `| ${LABEL[r]} | ${m.epochsToReach[r] === Infinity ? 'never' : m.epochsToReach[r]} | ${pct(m.final[r].accuracy)} | ${pct(m.final[r].valAccuracy)} | ${m.final[r].valLoss.toFixed(3)} | ${m.lateVariation[r].toFixed(4)} |`),
  ].join('\n');
}

if (measured.length) {
  mkdirSync('reports/paper', { recursive: true });
  writeFileAtomic('reports/paper/fig3.svg', figure());
  writeFileAtomic('reports/paper/fig3.json', `${JSON.stringify({ measured: measured.map(({ histories: _, ...m }) => m), scales, holds, missing: missing.map((a) => a.id) }, null, 2)}\n`);
  const count = Object.values(holds).filter(Boolean).length;
  const cards = measured.map((m) => readCard(dir(m.arch, 'base')));
  const failures = measured.flatMap((m) => parts.flatMap((p) => failuresOf(m, p).map((f) => `${m.arch}: ${f}`)));
  writeClaim({
    id: 'fig3',
    title: 'Fig. 3: training curves',
    claim: '"The regularized models take slightly longer to converge, but all models are able to achieve the same accuracy and loss on the training and validation sets. However, in the case of no regularization, the validation loss begins to vary wildly" (the paper shows VGG-16).',
    verdict: count === parts.length ? 'reproduced' : count > 0 ? 'partly reproduced' : 'not reproduced',
    summary:
      `On ${measured.map((m) => ARCHS.find((a) => a.id === m.arch)!.label).join(', ')}: regularized models ${holds.slower ? 'converge more slowly' : 'do not all converge more slowly'}, ${holds.same ? 'end at the same accuracy and validation loss as the base model' : 'do not all end at the same accuracy and validation loss as the base model'}, and the base model's late validation loss ${holds.variance ? 'varies more than every regularized model\'s' : 'does not vary more than every regularized model\'s'}. ` +
      (failures.length ? `Where it breaks: ${failures.join('; ')}.` : 'Every comparison went the paper\'s way.') +
      (missing.length ? ` Not measured (variants still training): ${missing.map((a) => a.label).join(', ')}.` : ''),
    why:
      count === parts.length
        ? undefined
        : [
            holds.slower ? '' : 'Where a regularized model converges no slower, we think the short runs (a cosine learning-rate decay over 5 to 10 epochs) leave little room to see a difference in speed.',
            holds.same
              ? ''
              : `Where a regularized model ends below the base model, we think the paper's factor 0.01 is a large penalty for models this small: it dominates their loss, and with batch norm after every convolution the scale of a kernel is free, so the penalty drives the kernels toward zero at no cost to the fit until the activations' variance falls below batch norm's epsilon (1e-3) and the normalisation stops working. Measured on the committed weights: ${below.join('; ') || 'none more than 5 points below'}. A few CPU epochs do not win back what that costs.`,
            holds.variance ? '' : 'Where the base model\'s validation loss does not vary more, we think our runs are too short to overfit: the paper attributes the variation to overfitting, which needs many more epochs than our CPU budget allows.',
          ]
            .filter(Boolean)
            .join(' '),
    setup:
      `The histories (history.json) of the fixture models ${measured.flatMap((m) => REGS.map((r) => `${m.arch}-${r}`)).join(', ')}, as \`npm run workbench -- train\` wrote them: ${cards.map((c) => `${c?.name}: ${c?.training.epochs} epochs, batch ${c?.training.batchSize}, ${c?.training.optimizer} ${c?.training.learningRate} (${c?.training.schedule}), ${c?.training.trainImages} training / ${c?.training.validationImages} validation images`).join('; ')}; the regularized variants with the same recipe. ` +
      `Decided before measuring: slower = more epochs than the base to reach ${REACH * 100}% of the base model's final validation accuracy; same = final training and validation accuracy within ${SAME_ACCURACY * 100} points and final validation cross-entropy within ${SAME_VAL_LOSS * 100}% of the base model's (training loss not compared: it includes the penalty); varies more = larger standard deviation of the epoch-to-epoch changes of validation loss over the second half of training than each regularized model.`,
    markdown: `The paper gives Fig. 3 as curves without numbers; its text states the three observations we test.\n\n${measured.map(table).join('\n\n')}\n`,
    figures: [{ file: 'fig3.svg', caption: `Fig. 3 on our models: training and validation accuracy and loss per epoch (${measured.map((m) => m.arch).join(', ')})` }],
    measuredAt: new Date().toISOString(),
  });
}

// Per architecture, the parts of the claim measured not to hold on the committed fixtures, kept as
// it.fails; the test names carry this run's numbers and reports/paper.md the rest.
const EXPECTED_TO_FAIL: Partial<Record<ArchId, (typeof parts)[number][]>> = { resnet20: ['same', 'variance'], mobilenet: ['slower', 'same', 'variance'], vgg16: ['same', 'variance'] };

describe('Fig. 3: regularized models converge a little slower to the same accuracy; the base model\'s validation loss varies more late (CIFAR-10 JPEG q75 copy)', () => {
  for (const a of missing) {
    it.skip(`${a.label}: not measured, variants still training (${REGS.filter((r) => !finished(dir(a.id, r))).map((r) => `${a.id}-${r}`).join(', ')})`, () => {});
  }
  for (const m of measured) {
    const label = ARCHS.find((a) => a.id === m.arch)!.label;
    const test = (part: (typeof parts)[number]) => (EXPECTED_TO_FAIL[m.arch]?.includes(part) ? it.fails : it);
    test('slower')(`${label}: regularized models need more epochs to reach ${REACH * 100}% of the base model's final validation accuracy (measured: ${REGS.map((r) => `${LABEL[r]} ${m.epochsToReach[r] === Infinity ? 'never' : m.epochsToReach[r]}`).join(', ')})`, () => {
      expect(m.slowerFailures).toEqual([]);
    });
    test('same')(`${label}: all end within ${SAME_ACCURACY * 100} points of the base model's accuracy and ${SAME_VAL_LOSS * 100}% of its validation loss (measured val. acc. ${REGS.map((r) => `${LABEL[r]} ${pct(m.final[r].valAccuracy)}`).join(', ')})`, () => {
      expect(m.sameFailures).toEqual([]);
    });
    test('variance')(`${label}: the base model's validation loss varies more late in training (measured ${REGS.map((r) => `${LABEL[r]} ${m.lateVariation[r].toFixed(4)}`).join(', ')})`, () => {
      expect(m.varianceFailures).toEqual([]);
    });
  }
});
