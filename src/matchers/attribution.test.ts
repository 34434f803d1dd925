import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup.js';
import { gradcam } from '../attribution/gradcam.js';
import { gaussianBlur } from '../data/blur.js';
import type { Samples } from '../data/samples.js';
import { ssd } from '../metrics/ssd.js';
import { predictClasses } from '../models/classifier.js';
import { bandsDataset } from '../test-support/synthetic.js';

let samples: Samples;
beforeAll(() => {
  samples = bandsDataset({ count: 16, size: 8, seed: 7 }).toSamples();
});
afterAll(() => {
  samples.dispose();
  rmSync(resolve('reports/attribution'), { recursive: true, force: true });
});

/** conv 8x8 (ReLU) -> `head` -> Dense(2): the conv block is Grad-CAM's only real feature map. */
function model(head: 'pool1x1' | 'gap', seed = 1): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'features', kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(input) as tf.SymbolicTensor;
  const pooled = head === 'pool1x1' ? (tf.layers.flatten().apply(tf.layers.maxPooling2d({ poolSize: 8, name: 'pool' }).apply(conv) as tf.SymbolicTensor) as tf.SymbolicTensor) : (tf.layers.globalAveragePooling2d({}).apply(conv) as tf.SymbolicTensor);
  const out = tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }), name: 'logits' }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

describe('toHaveStableAttribution cannot pass on maps that explain nothing', () => {
  it('measures Grad-CAM on the last feature map larger than 1x1, not on a 1x1 pool (whose SSD is always 0)', async () => {
    const m = model('pool1x1');
    await expect(expect(samples).toHaveStableAttribution(m, 'gradcam', 2, { maxSSD: 0 })).rejects.toThrow(/Grad-CAM of the image vs of its Gaussian blur \(sigma 2, layer 'features' \(8x8\)\)/);
    await expect(expect(samples).toHaveStableAttribution(m, 'gradcam', 2, { maxSSD: 1000, params: { layer: 'pool' } })).rejects.toThrow(/layer 'pool' outputs 1x1 feature maps/);
    m.dispose();
  });

  it('refuses all-zero maps, with or without .not, naming the samples', async () => {
    // Every feature pushes every class down, so ReLU(sum alpha_k A_k) is 0 everywhere.
    const m = model('gap');
    const dense = m.getLayer('logits');
    const w = [tf.fill([4, 2], -1), tf.tensor1d([0, 1])];
    dense.setWeights(w);
    tf.dispose(w);
    const conv = m.getLayer('features');
    const k = [tf.fill([3, 3, 3, 4], 0.1), tf.zeros([4])];
    conv.setWeights(k);
    tf.dispose(k);
    const before = tf.memory().numTensors;
    await expect(expect(samples).toHaveStableAttribution(m, 'gradcam', 0.5, { maxSSD: 1 })).rejects.toThrow(
      /some attribution maps of the original images are the same value at every pixel .* \(16 of 16: synthetic#0, synthetic#1, synthetic#2, synthetic#3, synthetic#4, \.\.\.\)/,
    );
    await expect(expect(samples).not.toHaveStableAttribution(m, 'gradcam', 0.5, { maxSSD: 1 })).rejects.toThrow(/same value at every pixel/);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });

  it('refuses maps that are not numbers', async () => {
    const m = model('gap');
    const conv = m.getLayer('features');
    const k = [tf.fill([3, 3, 3, 4], Number.NaN), tf.zeros([4])];
    conv.setWeights(k);
    tf.dispose(k);
    await expect(expect(samples).not.toHaveStableAttribution(m, 'gradcam', 0.5, { maxSSD: 1 })).rejects.toThrow(/maps hold NaN or Infinity/);
    m.dispose();
  });
});

describe('toHaveStableAttribution explains the clean image\'s class in both maps', () => {
  it('uses the class predicted on the clean image for the blurred map, not the blurred image\'s own prediction', async () => {
    const sigma = 2;
    // A model and blur under which some predictions change, or the test would not tell the two apart.
    let seed = 1;
    let m = model('gap', seed);
    const flips = async () => {
      const blurred = gaussianBlur(samples.images, sigma);
      const [a, b] = [await predictClasses(m, samples.images), await predictClasses(m, blurred)];
      blurred.dispose();
      return { clean: a, flipped: a.some((c, i) => c !== b[i]) };
    };
    let p = await flips();
    while (!p.flipped && seed < 20) {
      m.dispose();
      m = model('gap', ++seed);
      p = await flips();
    }
    expect(p.flipped).toBe(true);
    const blurred = gaussianBlur(samples.images, sigma);
    const meanSSD = async (target?: Int32Array) => {
      const a = await gradcam(m, samples.images, { target: p.clean });
      const b = await gradcam(m, blurred, { target });
      const v = await ssd(a, b);
      tf.dispose([a, b]);
      return v.reduce((s, x) => s + x, 0) / v.length;
    };
    const clean = await meanSSD(p.clean);
    const own = await meanSSD(undefined);
    blurred.dispose();
    expect(clean.toFixed(2)).not.toBe(own.toFixed(2));
    await expect(expect(samples).toHaveStableAttribution(m, 'gradcam', sigma, { maxSSD: 0 })).rejects.toThrow(`was ${clean.toFixed(2)} ±`);
    m.dispose();
  });
});
