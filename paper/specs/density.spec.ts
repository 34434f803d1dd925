// The paper's Fig. 1 claim, measured on this project's own models: a single-layer CNN (50 filters
// of 5x5, 39,200 hidden units) trained with an L1 penalty lambda * sum|a| on its hidden
// activations. "The regularization encourages the Average Density to decrease, but the accuracy of
// the less dense models are just as accurate, if not better."
//
// Decided before measuring (and not to be changed to flip a verdict):
// - density: over 1,000 test images (seed 1), each step up in lambda must not raise the average
//   density beyond its 95% interval, and lambda 1e-4 must be below lambda 0 with disjoint intervals;
// - accuracy: on all 5,000 test images, every lambda > 0 model must not be worse than the base
//   model: the upper end of its 95% Wilson interval at least the base model's lower end.
// The claim file (reports/paper/fig1.claim.json) takes its verdict from the same comparisons.
import { mkdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { accuracy, bootstrapCI, cifar10, loadModel, predictClasses, readCard, wilsonInterval, writeFileAtomic } from 'vitest-robustness';
import { CNN1_HIDDEN } from '../constants.js';
import { writeClaim } from '../report/claims.js';

const LAMBDAS = ['0', '1e-7', '1e-6', '1e-5', '1e-4'] as const;
const models = await Promise.all(LAMBDAS.map((l) => loadModel(`fixtures/models/cnn1-act${l}`)));
const densityImages = await cifar10.test({ count: 1000, seed: 1 });
const testImages = await cifar10.test({ seed: 1 });
afterAll(() => {
  models.forEach((m) => m.dispose());
  densityImages.dispose();
  testImages.dispose();
});

interface Row {
  lambda: string;
  density: number;
  densityCI: [number, number];
  acc: number;
  accCI: [number, number];
}

const rows: Row[] = [];
/** One model's density (through the matcher, which records the check for the report) and accuracy. */
async function measure(i: number): Promise<void> {
  const model = models[i]!;
  // Threshold 1 is only a sanity bound (it fails a layer whose every unit fires on every image);
  // the claim's comparisons, decided before measuring, are made on the measurements below.
  const d = await expect(model).toHaveAverageDensityBelow(densityImages, 1, { layer: CNN1_HIDDEN });
  const ci = bootstrapCI(d.perSample, { seed: 1 });
  const preds = await predictClasses(model, testImages.images);
  const acc = await accuracy(preds, testImages.labels);
  const w = wilsonInterval(Math.round(acc * testImages.size), testImages.size);
  rows[i] = { lambda: LAMBDAS[i]!, density: d.density, densityCI: [ci.lower, ci.upper], acc, accCI: [w.lower, w.upper] };
}

/** Once every model is measured: the figure, the two comparisons and the claim file. */
function conclude(): { densityFailures: string[]; accuracyFailures: string[] } {
  if (rows.filter(Boolean).length !== LAMBDAS.length) throw new Error(`only ${rows.filter(Boolean).length} of the ${LAMBDAS.length} models were measured; see the failed tests above.`);
  // Fig. 1 as an SVG: density and accuracy against lambda, with their intervals.
  function figure(): string {
    const W = 560;
    const H = 300;
    const x = (i: number) => 70 + (i * (W - 110)) / (rows.length - 1);
    const y = (v: number) => H - 50 - v * (H - 90);
    const series = (pick: (r: Row) => number, lo: (r: Row) => number, hi: (r: Row) => number, color: string) =>
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${rows.map((r, i) => `${x(i)},${y(pick(r))}`).join(' ')}"/>` +
      rows.map((r, i) => `<line x1="${x(i)}" x2="${x(i)}" y1="${y(lo(r))}" y2="${y(hi(r))}" stroke="${color}"/><circle cx="${x(i)}" cy="${y(pick(r))}" r="3" fill="${color}"/>`).join('');
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) => `<text x="60" y="${y(t) + 4}" text-anchor="end" font-size="11">${t}</text><line x1="65" x2="${W - 30}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/>`).join('');
    const labels = rows.map((r, i) => `<text x="${x(i)}" y="${H - 30}" text-anchor="middle" font-size="11">${r.lambda}</text>`).join('');
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${ticks}${labels}
<text x="${W / 2}" y="${H - 8}" text-anchor="middle" font-size="12">activity L1 lambda</text>
<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">Fig. 1 on our models: average density (blue) and test accuracy (orange)</text>
${series((r) => r.density, (r) => r.densityCI[0], (r) => r.densityCI[1], '#1f77b4')}${series((r) => r.acc, (r) => r.accCI[0], (r) => r.accCI[1], '#ff7f0e')}</svg>\n`;
  }
  mkdirSync('reports/paper', { recursive: true });
  writeFileAtomic('reports/paper/fig1.svg', figure());
  writeFileAtomic('reports/paper/fig1.json', `${JSON.stringify(rows, null, 2)}\n`);

  // The two comparisons, written once: the tests assert that each list is empty, and the verdict in
  // the claim file is computed from the same lists, so the hard-coded it / it.fails below and the
  // written verdict cannot disagree without this spec failing.
  const dens = (r: Row) => `lambda ${r.lambda} (${r.density.toFixed(3)} [${r.densityCI.map((v) => v.toFixed(3)).join(', ')}])`;
  const acc = (r: Row) => `lambda ${r.lambda} (${(100 * r.acc).toFixed(1)}% [${r.accCI.map((v) => (100 * v).toFixed(1)).join(', ')}])`;
  const densityFailures: string[] = [];
  for (let i = 1; i < rows.length; i++) {
    if (!(rows[i]!.densityCI[0] <= rows[i - 1]!.densityCI[1])) densityFailures.push(`${dens(rows[i]!)} is denser than ${dens(rows[i - 1]!)}`);
  }
  if (!(rows[rows.length - 1]!.densityCI[1] < rows[0]!.densityCI[0])) densityFailures.push(`${dens(rows[rows.length - 1]!)} is not below ${dens(rows[0]!)}`);
  const accuracyFailures = rows.slice(1).flatMap((r) => (r.accCI[1] >= rows[0]!.accCI[0] ? [] : [`${acc(r)} is worse than ${acc(rows[0]!)}`]));

  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const interval = (ci: [number, number], f: (v: number) => string) => `[${f(ci[0])}, ${f(ci[1])}]`;
  const d4 = (v: number) => v.toFixed(4);
  const holds = [densityFailures.length === 0, accuracyFailures.length === 0];
  const base = rows[0]!;
  const last = rows[rows.length - 1]!;
  const card = readCard('fixtures/models/cnn1-act0');
  const accs = rows.slice(1).map((r) => r.acc);
  writeClaim({
    id: 'fig1',
    title: 'Fig. 1: average density',
    claim: 'An L1 penalty on the activations of a single-layer CNN lowers its average density: "the regularization encourages the Average Density to decrease, but the accuracy of the less dense models are just as accurate, if not better."',
    verdict: holds.every(Boolean) ? 'reproduced' : holds.some(Boolean) ? 'partly reproduced' : 'not reproduced',
    summary:
      `Density ${base.density.toFixed(3)} at lambda 0 to ${last.density.toFixed(3)} at ${last.lambda}, ${densityFailures.length === 0 ? 'falling at every step' : 'but not falling at every step'}; ` +
      `accuracy ${pct(Math.min(...accs))}-${pct(Math.max(...accs))} against ${pct(base.acc)} without the penalty, ${accuracyFailures.length === 0 ? 'none worse' : 'some worse'}. ` +
      (densityFailures.length === 0 ? 'Every step up in lambda kept the density at or below the step before, within the 95% intervals' : `Density steps that break the claim: ${densityFailures.join('; ')}`) +
      (accuracyFailures.length === 0 ? '; no penalized model has an accuracy interval entirely below the base model\'s.' : `; accuracy below the base model beyond the intervals: ${accuracyFailures.join('; ')}.`),
    why: holds.every(Boolean)
      ? undefined
      : [
          densityFailures.length ? 'Where a step in lambda does not lower the density, we think the penalty is too small to act within the few epochs our CPU budget allows (5, from the same seed), so training noise decides the density at that step; the paper does not state its epochs.' : '',
          accuracyFailures.length ? 'Where a penalized model is less accurate, we think our short training has not let it recover the accuracy the penalty costs early on.' : '',
        ]
          .filter(Boolean)
          .join(' '),
    setup:
      `The single-layer CNN (50 filters of 5x5, 39,200 hidden units), one model per lambda in {${LAMBDAS.join(', ')}}, trained ${card?.training.epochs ?? '?'} epochs (batch ${card?.training.batchSize ?? '?'}, ${card?.training.optimizer ?? '?'}, seed ${card?.training.seed ?? '?'}) on ${card?.training.trainImages ?? '?'} images of ${card?.data.caveat ?? 'CIFAR-10'}${card?.weights?.dtype === 'float16' ? ', weights stored as float16 (`npm run workbench -- compact`; measured on the stored weights)' : ''}. ` +
      `Average density (fraction of hidden units active) over ${densityImages.size} test images (seed 1) with 95% percentile bootstrap intervals (2,000 resamples, seed 1); accuracy on all ${testImages.size} test images with 95% Wilson intervals. ` +
      'Decided before measuring: each step up in lambda must not raise the density beyond its interval and lambda 1e-4 must lie below lambda 0 with disjoint intervals; no penalized model may have an accuracy interval entirely below the base model\'s.',
    markdown:
      'The paper gives Fig. 1 as a plot without numbers; its text states the trend, which is what we test.\n\n' +
      '| lambda | average density (95% CI) | test accuracy (95% CI) |\n| --- | --- | --- |\n' +
      rows.map((r) => `| ${r.lambda} | ${d4(r.density)} ${interval(r.densityCI, d4)} | ${pct(r.acc)} ${interval(r.accCI, pct)} |`).join('\n') +
      '\n',
    figures: [{ file: 'fig1.svg', caption: 'Fig. 1 on our models: average density (blue) and test accuracy (orange) against the activity L1 lambda, with 95% intervals' }],
    measuredAt: new Date().toISOString(),
  });
  return { densityFailures, accuracyFailures };
}

describe('Fig. 1: an L1 activity penalty makes the code sparser without losing accuracy (cnn1, CIFAR-10 JPEG q75 copy)', () => {
  let result: ReturnType<typeof conclude> | undefined;
  LAMBDAS.forEach((lambda, i) => {
    it(`lambda ${lambda}: average density of the hidden layer and test accuracy measured`, () => measure(i));
  });
  it('writes fig1.svg, fig1.json and reports/paper/fig1.claim.json from the two comparisons', () => {
    result = conclude();
  });

  // Not reproduced on the committed models: reports/paper.md has the numbers. Kept as it.fails, as
  // the claim is stated. Without a result the body passes, so this test fails rather than passing.
  it.fails('average density falls at every step of lambda', () => {
    if (result) expect(result.densityFailures).toEqual([]);
  });

  it('accuracy is not worse than the unpenalized model', () => {
    expect(result?.accuracyFailures).toEqual([]);
  });
});
