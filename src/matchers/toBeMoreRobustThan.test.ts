// toBeMoreRobustThan: a paired bootstrap decides, a tie fails, .not works, flags fail.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup.js';
import type { Samples } from '../data/samples.js';
import { bandsDataset } from '../test-support/synthetic.js';
import { runAttack } from '../attacks/registry.js';
import { toBeMoreRobustThan } from './toBeMoreRobustThan.js';

// Two-class models on 8x8 band images: `blind` ignores its input (always class 0: robust on every
// class-0 image), `fragile` reads two pixel columns (any large enough step flips it).
function blind(units = 2): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), tf.layers.dense({ units })] });
  m.layers[1]!.setWeights([tf.zeros([192, units]), tf.tensor1d([1, ...new Array(units - 1).fill(0)])]);
  return m;
}
function fragile(): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), tf.layers.dense({ units: 2 })] });
  const k = tf.buffer([192, 2]);
  for (let y = 0; y < 8; y++) for (let c = 0; c < 3; c++) {
    k.set(1, (y * 8 + 2) * 3 + c, 0);
    k.set(1, (y * 8 + 6) * 3 + c, 1);
  }
  m.layers[1]!.setWeights([k.toTensor(), tf.zeros([2])]);
  return m;
}

let samples: Samples;
let calm: tf.LayersModel;
let twitchy: tf.LayersModel;
beforeAll(() => {
  samples = bandsDataset({ count: 40, size: 8, seed: 3 }).toSamples();
  calm = blind();
  twitchy = fragile();
});
afterAll(() => {
  samples.dispose();
  calm.dispose();
  twitchy.dispose();
});

describe('toBeMoreRobustThan', () => {
  const params = { steps: 5, seed: 1 };
  it('passes when the paired interval of the difference lies above 0, and resolves to the measurement', async () => {
    const out = await toBeMoreRobustThan.call({ isNot: false }, samples, calm, twitchy, 'pgd', 0.5, { params });
    expect(out.pass).toBe(true);
    const m = out.actual as { n: number; candidate: { robustAccuracy: number }; baseline: { robustAccuracy: number }; difference: { estimate: number; lower: number }; perSample: number[] };
    // The same attack run here on each model gives the per-sample outcomes the matcher must pair.
    const labels = Array.from(await samples.labels.data());
    const correct = async (model: tf.LayersModel) => {
      const r = await runAttack('pgd', model, samples.images, samples.labels, { ...params, eps: 0.5, norm: 'linf' });
      r.adversarial.dispose();
      return labels.map((l, i): number => (r.predsAfter[i] === l ? 1 : 0));
    };
    const [c, b] = [await correct(calm), await correct(twitchy)];
    expect(m.perSample).toEqual(c.map((v, i) => v - b[i]!));
    expect(m.candidate.robustAccuracy).toBe(labels.filter((l) => l === 0).length / labels.length);
    expect(m.baseline.robustAccuracy).toBe(b.reduce((x, y) => x + y, 0) / labels.length);
    expect(m.difference.estimate).toBeCloseTo(m.candidate.robustAccuracy - m.baseline.robustAccuracy, 10);
    expect(m.difference.lower).toBeGreaterThan(0);
    await expect(samples).toBeMoreRobustThan(calm, twitchy, 'pgd', 0.5, { params });
  });

  it('fails the other way round and on a tie, naming both accuracies and the interval; .not passes there', async () => {
    await expect(expect(samples).toBeMoreRobustThan(twitchy, calm, 'pgd', 0.5, { params })).rejects.toThrow(
      /candidate 0\.\d+ \[.*\], baseline 0\.\d+ .*difference -0\.\d+ with paired bootstrap 95% interval \[-0\.\d+, -0\.\d+\]/,
    );
    const twin = fragile();
    await expect(expect(samples).toBeMoreRobustThan(twin, twitchy, 'pgd', 0.5, { params })).rejects.toThrow(/difference 0\.000 .*interval \[0\.000, 0\.000\]/);
    await expect(samples).not.toBeMoreRobustThan(twin, twitchy, 'pgd', 0.5, { params });
    twin.dispose();
  });

  it('fails on evaluation flags unless they are warnings, and refuses the same model twice', async () => {
    const calm4 = blind(4);
    const other4 = blind(4);
    await expect(expect(samples).toBeMoreRobustThan(calm4, other4, 'autoattack', 0.1, { params: { version: 'cheap' } })).rejects.toThrow(/evaluation flags .*candidate: the input gradient/);
    await expect(expect(samples).toBeMoreRobustThan(calm, calm, 'pgd', 0.5)).rejects.toThrow(/the same model/);
    await expect(expect(samples).toBeMoreRobustThan(calm, twitchy, 'pgd', 0.5, { confidence: 0.9 } as never)).rejects.toThrow(/unknown option 'confidence'/);
    calm4.dispose();
    other4.dispose();
  });
});
