// Saliency and Integrated Gradients on a linear model, where both have closed forms.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { integratedGradients } from './integratedGradients.js';
import { getAttribution } from './registry.js';
import { saliency } from './saliency.js';

const SHAPE: [number, number, number] = [3, 3, 2];

function linear(seed: number): { model: tf.LayersModel; w: number[][] } {
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: SHAPE }), tf.layers.dense({ units: 4 })] });
  const wt = tf.randomNormal([18, 4], 0, 1, 'float32', seed);
  const w = wt.arraySync() as number[][];
  const b = tf.zeros([4]);
  model.layers[1]!.setWeights([wt, b]);
  tf.dispose([wt, b]);
  return { model, w };
}

const norm = (v: number[]) => {
  const top = Math.max(...v);
  return v.map((e) => (top > 0 ? e / top : 0));
};

describe('gradient attributions', () => {
  it('saliency of a linear model is max over channels of |w_target|, scaled by its max', async () => {
    const { model, w } = linear(11);
    const x = tf.randomUniform([2, ...SHAPE], 0, 1, 'float32', 1) as tf.Tensor4D;
    const maps = await saliency(model, x, { target: [2, 0] });
    const got = (await maps.array()) as number[][][];
    [2, 0].forEach((t, n) => {
      const expected = norm(Array.from({ length: 9 }, (_, p) => Math.max(Math.abs(w[2 * p]![t]!), Math.abs(w[2 * p + 1]![t]!))));
      expected.forEach((e, p) => expect(got[n]![Math.floor(p / 3)]![p % 3]).toBeCloseTo(e, 5));
    });
    tf.dispose([x, maps]);
    model.dispose();
  });

  it('integrated gradients of a linear model is |sum_c (x - baseline) w_target|, scaled by its max', async () => {
    const { model, w } = linear(12);
    const xs = Array.from({ length: 18 }, (_, i) => ((i * 7) % 18) / 17);
    const x = tf.tensor4d(xs, [1, ...SHAPE]);
    const before = tf.memory().numTensors;
    const maps = await integratedGradients(model, x, { target: 3, baseline: 0.5, steps: 4 });
    expect(tf.memory().numTensors).toBe(before + 1);
    const got = await maps.data();
    const expected = norm(Array.from({ length: 9 }, (_, p) => Math.abs((xs[2 * p]! - 0.5) * w[2 * p]![3]! + (xs[2 * p + 1]! - 0.5) * w[2 * p + 1]![3]!)));
    expected.forEach((e, p) => expect(got[p]).toBeCloseTo(e, 5));
    tf.dispose([x, maps]);
    model.dispose();
  });

  it('the registry names its methods and passes functions through', () => {
    expect(getAttribution('saliency')).toBe(saliency);
    const mine = async () => tf.zeros([1, 1, 1]) as tf.Tensor3D;
    expect(getAttribution(mine)).toBe(mine);
    expect(() => getAttribution('lime')).toThrow(/known methods: 'gradcam', 'occlusion', 'saliency', 'integratedGradients'/);
  });
});
