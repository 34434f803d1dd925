// Robustness curves with reuse across budgets (only the samples still correct are attacked at the
// next budget), against the full computation; and the "robust accuracy does not fall as eps
// grows" flag on a model built so that a larger step lands back in the true class.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup.js';
import { makeSamples, type Samples } from '../data/samples.js';
import { readResults } from '../record/record.js';
import { bandsDataset } from '../test-support/synthetic.js';
import { fragileModel } from '../test-support/tinyModels.js';
import { robustnessCurve, type RobustnessCurve } from './robustnessCurve.js';

// Class 0 scores cos(2 pi m / 0.4) and class 1 its negative, m the mean pixel minus 0.5: periodic
// in the brightness, so an FGSM step of 0.15 crosses into class 1 and a step of 0.4 comes back.
const periodic = {
  predict: (x: tf.Tensor4D) =>
    tf.tidy(() => {
      const c = tf.cos(tf.mul(tf.sub(tf.mean(x, [1, 2, 3]), 0.5), (2 * Math.PI) / 0.4));
      return tf.stack([c, tf.neg(c)], 1) as tf.Tensor2D;
    }),
};
/** Flat grey images a little above 0.5 (class 0 on the periodic model). */
function greys(n: number): [tf.Tensor4D, tf.Tensor1D] {
  return tf.tidy(() => [tf.mul(tf.ones([n, 8, 8, 3]), tf.reshape(tf.linspace(0.505, 0.52, n), [n, 1, 1, 1])) as tf.Tensor4D, tf.zeros([n], 'int32') as tf.Tensor1D]);
}
/** correct[i][k] of the full curve, and-ed over every budget up to i: what reuse must give for a per-sample deterministic attack. */
const prefixAnd = (c: RobustnessCurve) => c.correct.map((_, i) => c.correct[0]!.map((__, k) => c.correct.slice(0, i + 1).every((row) => row[k])));

let samples: Samples;
let model: tf.LayersModel;
beforeAll(() => {
  samples = bandsDataset({ count: 24, size: 8, seed: 5 }).toSamples();
  model = fragileModel();
});
afterAll(() => {
  samples.dispose();
  model.dispose();
});

describe('robust accuracy does not fall as eps grows', () => {
  it('fires on a curve that rises beyond its intervals, with the per-sample inversions', async () => {
    const [x, y] = greys(12);
    const curve = await robustnessCurve(periodic, x, y, 'fgsm', [0.15, 0.4]);
    expect(curve.points.map((p) => p.robustAccuracy)).toEqual([0, 1]);
    expect(curve.inversions).toEqual([{ eps: 0.15, largerEps: 0.4, samples: Array.from({ length: 12 }, (_, k) => k) }]);
    expect(curve.flags.map((f) => f.name)).toContain('accuracy-not-falling-with-eps');
    // Reuse counts the samples broken at 0.15 as broken at 0.4 (their adversarial image is inside the larger ball): nothing is left to attack.
    const reused = await robustnessCurve(periodic, x, y, 'fgsm', [0.15, 0.4], {}, { reuse: true });
    expect(reused.points.map((p) => p.robustAccuracy)).toEqual([0, 0]);
    expect(reused.queries[1]).toEqual({ forward: 0, gradient: 0 });
    expect(reused.flags.map((f) => f.name)).not.toContain('accuracy-not-falling-with-eps');
    tf.dispose([x, y]);
  });

  it('fails the curve check by default, and is a warning in its record with flags: warn', async () => {
    const [x, y] = greys(12);
    const greySamples = makeSamples(x, y, { ids: Array.from({ length: 12 }, (_, k) => `grey#${k}`), classNames: ['peak', 'trough'], source: 'grey images' });
    try {
      await expect(expect(greySamples).toHaveRobustnessCurve(periodic, 'fgsm', { eps: [0.15, 0.4], min: [0, 0] })).rejects.toThrow(/robust accuracy does not fall as eps grows: 100\.0% .* at eps 0\.4 is above 0\.0% .* at the smaller eps 0\.15/);
      await expect(greySamples).toHaveRobustnessCurve(periodic, 'fgsm', { eps: [0.15, 0.4], min: [0, 0], flags: 'warn' });
      const mine = readResults().filter((r) => r.test.includes('is a warning in its record'));
      expect(mine.map((r) => r.pass)).toEqual([false, true]);
      expect(mine[1]!.flags?.find((f) => f.name === 'accuracy-not-falling-with-eps')?.failing).toBe(false);
      expect(mine[0]!.flags?.find((f) => f.name === 'accuracy-not-falling-with-eps')?.failing).toBe(true);
    } finally {
      greySamples.dispose();
    }
  });
});

describe('robustnessCurve with reuse', () => {
  it('equals the full computation and-ed over the smaller budgets for per-sample deterministic attacks (FGSM, PGD without random start), and is never above it', async () => {
    const eps = [0.2, 0.4, 0.6, 0.8];
    for (const [attack, params] of [['fgsm', {}], ['pgd', { steps: 5, randomStart: false }]] as const) {
      const before = tf.memory().numTensors;
      const full = await robustnessCurve(model, samples.images, samples.labels, attack, eps, params);
      const reused = await robustnessCurve(model, samples.images, samples.labels, attack, eps, params, { reuse: true });
      expect(tf.memory().numTensors).toBe(before);
      expect(reused.reused).toBe(true);
      expect(reused.correct).toEqual(prefixAnd(full));
      for (const [i, p] of reused.points.entries()) expect(p.robustAccuracy).toBeLessThanOrEqual(full.points[i]!.robustAccuracy);
      // No inversions in the full curve here, so the points are equal, for less work.
      expect(full.inversions).toEqual([]);
      expect(reused.points).toEqual(full.points);
      const work = (c: RobustnessCurve) => c.queries.reduce((s, q) => s + q.forward + q.gradient, 0);
      expect(work(reused)).toBeLessThan(work(full));
    }
  });

  it('through the matcher: the record says reuse, and reuse must be a boolean', async () => {
    await expect(samples).toHaveRobustnessCurve(model, 'pgd', { eps: [0.05, 0.3], min: [0, 0], reuse: true, params: { steps: 3 } });
    const mine = readResults().filter((r) => r.test.includes('the record says reuse'));
    expect(mine[0]!.params.reuse).toBe(true);
    // The record points to the curve's per-sample outcomes: each sample's verdict at each budget, and per class.
    const file = JSON.parse(readFileSync(mine[0]!.samples!, 'utf8'));
    expect(mine[0]!.samples).toMatch(/^reports\/samples\/.*pgd-curve\.json$/);
    expect(file.eps).toEqual([0.05, 0.3]);
    expect(file.reused).toBe(true);
    expect(file.samples).toHaveLength(24);
    expect(file.samples.map((x: { id: string }) => x.id)).toEqual(samples.ids);
    expect([0, 1].map((k) => file.samples.filter((x: { robust: boolean[] }) => x.robust[k]).length / 24)).toEqual(mine[0]!.curve!.points.map((p) => p.robustAccuracy));
    expect(file.perClass.reduce((t: number, c: { n: number }) => t + c.n, 0)).toBe(24);
    await expect(expect(samples).toHaveRobustnessCurve(model, 'pgd', { eps: [0.05], min: [0], reuse: 'yes' as never })).rejects.toThrow(/reuse must be true or false/);
  });
});
