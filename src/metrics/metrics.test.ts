import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accuracy, attackSuccessRate, robustAccuracy } from './accuracy.js';
import { averageDensity } from './averageDensity.js';
import { bootstrapCI, normalQuantile, wilsonInterval } from './bootstrap.js';
import { ssd } from './ssd.js';
import { perturbationSummary, summarize } from './summary.js';

const mapArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 2 * 9, maxLength: 2 * 9 });

describe('ssd', () => {
  it('is 0 for a map with itself, symmetric, and the per-map sum of squared differences', async () => {
    await fc.assert(
      fc.asyncProperty(mapArb, mapArb, async (a, b) => {
        const ta = tf.tensor3d(a, [2, 3, 3]);
        const tb = tf.tensor3d(b, [2, 3, 3]);
        const before = tf.memory().numTensors;
        const [self, ab, ba] = await Promise.all([ssd(ta, ta), ssd(ta, tb), ssd(tb, ta)]);
        expect(tf.memory().numTensors).toBe(before);
        expect(Array.from(self)).toEqual([0, 0]);
        expect(Array.from(ab)).toEqual(Array.from(ba));
        [0, 1].forEach((n) => expect(ab[n]).toBeCloseTo(a.slice(9 * n, 9 * n + 9).reduce((s, v, i) => s + (v - b[9 * n + i]!) ** 2, 0), 4));
        tf.dispose([ta, tb]);
      }),
      { numRuns: 40 },
    );
  });

  it('rejects maps of different shapes', async () => {
    const a = tf.zeros([1, 4, 4]);
    const b = tf.zeros([1, 2, 2]);
    await expect(ssd(a, b)).rejects.toThrow(/resizeMaps/);
    tf.dispose([a, b]);
  });
});

describe('accuracy and attack outcomes', () => {
  const outcome = { predsBefore: Int32Array.from([0, 1, 2, 0]), predsAfter: Int32Array.from([1, 1, 0, 0]), success: [true, false, true, false] };
  const labels = [0, 1, 1, 0];

  it('computes clean and robust accuracy and the success rate among correct samples', async () => {
    expect(await accuracy(outcome.predsBefore, labels)).toBe(0.75);
    expect(await robustAccuracy(outcome, tf.tensor1d(labels, 'int32'))).toBe(0.5);
    expect(await attackSuccessRate(outcome, { labels })).toBeCloseTo(1 / 3, 10);
    expect(await attackSuccessRate(outcome)).toBe(0.5);
    await expect(accuracy([1, 2], [1])).rejects.toThrow(/2 predictions but 1 labels/);
  });

  it('summarizes perturbation norms, optionally over a mask', () => {
    const s = summarize([1, 2, 3, 4, 100]);
    expect(s).toMatchObject({ count: 5, mean: 22, min: 1, median: 3, max: 100 });
    const p = perturbationSummary({ linf: Float32Array.from([0.1, 0.2]), l2: Float32Array.from([1, 3]) }, [false, true]);
    expect(p.l2.mean).toBe(3);
    expect(p.linf.count).toBe(1);
  });
});

describe('intervals', () => {
  it('bootstrapCI is seeded, brackets the mean, and narrows with more data', () => {
    const values = Array.from({ length: 200 }, (_, i) => Math.sin(i) * 3 + 5);
    const a = bootstrapCI(values, { seed: 7 });
    expect(bootstrapCI(values, { seed: 7 })).toEqual(a);
    expect(a.lower).toBeLessThan(a.estimate);
    expect(a.upper).toBeGreaterThan(a.estimate);
    const wide = bootstrapCI(values.slice(0, 20), { seed: 7 });
    expect(wide.upper - wide.lower).toBeGreaterThan(a.upper - a.lower);
    // The mean's standard error is about sd / sqrt(n): the 95% interval spans about 2 * 1.96 of it.
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - a.estimate) ** 2, 0) / 199);
    expect((a.upper - a.lower) / ((2 * 1.96 * sd) / Math.sqrt(200))).toBeGreaterThan(0.85);
    expect((a.upper - a.lower) / ((2 * 1.96 * sd) / Math.sqrt(200))).toBeLessThan(1.15);
    expect(() => bootstrapCI([], {})).toThrow(/no values/);
    expect(() => bootstrapCI([1], { level: 95 })).toThrow(/level must lie in \(0, 1\)/);
  });

  it('wilsonInterval matches known values; the normal quantile is right', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 8);
    const w = wilsonInterval(8, 10);
    expect(w.lower).toBeCloseTo(0.4902, 3);
    expect(w.upper).toBeCloseTo(0.9433, 3);
    const zero = wilsonInterval(0, 50);
    expect(zero.lower).toBe(0);
    expect(zero.upper).toBeCloseTo(0.0713, 3);
    expect(() => wilsonInterval(11, 10)).toThrow(/successes must be an integer in \[0, 10\]/);
  });
});

describe('averageDensity', () => {
  it('is the fraction of units > 0 in the first conv layer, averaged over stimuli', async () => {
    // One 1x1 conv with weights [1, -1] and bias 0 on a 2x2x1 input: unit 0 is active where the
    // pixel is > 0, unit 1 never (pixels are >= 0).
    const conv = tf.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'relu', name: 'c' });
    const model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [2, 2, 1] }), conv, tf.layers.flatten({}), tf.layers.dense({ units: 2 })] });
    const w = [tf.tensor4d([1, -1], [1, 1, 1, 2]), tf.zeros([2])];
    conv.setWeights(w);
    tf.dispose(w);
    const x = tf.tensor4d([0, 0.5, 0, 0, 1, 1, 1, 1], [2, 2, 2, 1]);
    const before = tf.memory().numTensors;
    const r = await averageDensity(model, x, { batchSize: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.layer).toBe('c');
    expect(r.units).toBe(8);
    expect(Array.from(r.perSample)).toEqual([1 / 8, 4 / 8]);
    expect(r.density).toBeCloseTo(5 / 16, 10);
    await expect(averageDensity(model, x, { layer: 'missing' })).rejects.toThrow(/No layer named 'missing'/);
    x.dispose();
    model.dispose();
  });
});
