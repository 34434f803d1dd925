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
import { mkdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { accuracy, averageDensity, bootstrapCI, cifar10, loadModel, predictClasses, wilsonInterval, writeFileAtomic } from 'vitest-robustness';

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
for (const [i, model] of models.entries()) {
  const d = await averageDensity(model, densityImages, { layer: 'hidden' });
  const ci = bootstrapCI(d.perSample, { seed: 1 });
  const preds = await predictClasses(model, testImages.images);
  const acc = await accuracy(preds, testImages.labels);
  const w = wilsonInterval(Math.round(acc * testImages.size), testImages.size);
  rows.push({ lambda: LAMBDAS[i]!, density: d.density, densityCI: [ci.lower, ci.upper], acc, accCI: [w.lower, w.upper] });
}

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

const fmt = (r: Row) => `lambda ${r.lambda}: density ${r.density.toFixed(4)} [${r.densityCI.map((v) => v.toFixed(4)).join(', ')}], accuracy ${(100 * r.acc).toFixed(2)}%`;

describe('Fig. 1: an L1 activity penalty makes the code sparser without losing accuracy (cnn1, CIFAR-10 JPEG q75 copy)', () => {
  // NOT REPRODUCED on our models (measured 2026-11-25): density does fall overall (0.170 at
  // lambda 0 to 0.088 at 1e-4, intervals disjoint), but lambda 1e-7 is significantly denser than
  // lambda 0 (0.175 [0.173, 0.177] vs 0.170 [0.168, 0.172]): at 1e-7 the penalty is too small to
  // act within 5 epochs and training noise decides. Kept as it.fails, as the claim is stated.
  it.fails('average density falls at every step of lambda: measured 0: 0.170, 1e-7: 0.175, 1e-6: 0.167, 1e-5: 0.149, 1e-4: 0.088 (1e-7 > 0)', () => {
    for (let i = 1; i < rows.length; i++) {
      expect(rows[i]!.densityCI[0], `${fmt(rows[i]!)} vs ${fmt(rows[i - 1]!)}`).toBeLessThanOrEqual(rows[i - 1]!.densityCI[1]);
    }
    expect(rows[rows.length - 1]!.densityCI[1]).toBeLessThan(rows[0]!.densityCI[0]);
  });

  it(`accuracy is not worse than the unpenalized model (${rows.map((r) => `${r.lambda}: ${(100 * r.acc).toFixed(1)}%`).join(', ')})`, () => {
    for (const r of rows.slice(1)) expect(r.accCI[1], `${fmt(r)} vs ${fmt(rows[0]!)}`).toBeGreaterThanOrEqual(rows[0]!.accCI[0]);
  });
});
