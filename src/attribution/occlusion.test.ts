import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { cifar10 } from '../data/cifar10.js';
import { frozenGraph, setFrozenInference } from '../models/frozen.js';
import { loadModel } from '../models/io.js';
import { occlusion, patchOffsets } from './occlusion.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/models/resnet20-base', import.meta.url));

afterEach(() => setFrozenInference(true));

const H = 8;
const W = 8;

/** Logits depend only on columns < `used` (weights elsewhere are zero). */
function leftOnly(seed: number, used: number): tf.LayersModel {
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [H, W, 1] }), tf.layers.dense({ units: 3 })] });
  const mask = tf.tensor2d(Array.from({ length: H * W }, (_, p) => (p % W < used ? 1 : 0)), [H * W, 1]);
  const w = tf.tidy(() => tf.mul(tf.randomNormal([H * W, 3], 0, 1, 'float32', seed), mask));
  const b = tf.zeros([3]);
  model.layers[1]!.setWeights([w, b]);
  tf.dispose([mask, w, b]);
  return model;
}

describe('occlusion', () => {
  it('gives zero attribution to pixels the model ignores', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 4 }), async (seed, patch, stride, used) => {
        const model = leftOnly(seed, used);
        const x = tf.randomUniform([2, H, W, 1], 0, 1, 'float32', seed) as tf.Tensor4D;
        const before = tf.memory().numTensors;
        const maps = await occlusion(model, x, { patch, stride });
        expect(tf.memory().numTensors).toBe(before + 1);
        const m = (await maps.array()) as number[][][];
        tf.dispose([maps, x]);
        model.dispose();
        const offsets = patchOffsets(W, patch, stride);
        for (let col = 0; col < W; col++) {
          // Every patch covering this column starts at or right of `used`: nothing it hides matters.
          const covering = offsets.filter((o) => o <= col && col < o + patch);
          if (covering.every((o) => o >= used)) for (const img of m) for (let r = 0; r < H; r++) expect(img[r]![col]).toBe(0);
        }
      }),
      { numRuns: 15 },
    );
  });

  it('averages the drop in target probability over the patches covering each pixel', async () => {
    const model = leftOnly(3, 8);
    const xs = Array.from({ length: H * W }, (_, i) => ((i * 37) % 101) / 100);
    const x = tf.tensor4d(xs, [1, H, W, 1]);
    const patch = 3;
    const stride = 2;
    const maps = await occlusion(model, x, { patch, stride, fill: 0.25, target: 1 });
    const got = await maps.data();
    const prob = async (img: number[]) => {
      const p = tf.tidy(() => tf.softmax(model.predict(tf.tensor4d(img, [1, H, W, 1])) as tf.Tensor));
      const v = (await p.data())[1]!;
      p.dispose();
      return v;
    };
    const base = await prob(xs);
    const offsets = patchOffsets(W, patch, stride);
    expect(offsets).toEqual([0, 2, 4, 5]);
    const sum = new Float64Array(H * W);
    const count = new Float64Array(H * W);
    for (const oy of offsets) {
      for (const ox of offsets) {
        const img = xs.slice();
        for (let r = oy; r < oy + patch; r++) for (let cc = ox; cc < ox + patch; cc++) img[r * W + cc] = 0.25;
        const drop = base - (await prob(img));
        for (let r = oy; r < oy + patch; r++) {
          for (let cc = ox; cc < ox + patch; cc++) {
            sum[r * W + cc] += drop;
            count[r * W + cc] += 1;
          }
        }
      }
    }
    const mean = Array.from(sum, (s, i) => Math.max(0, s / count[i]!));
    const top = Math.max(...mean);
    mean.forEach((v, i) => expect(got[i]).toBeCloseTo(v / top, 4));
    tf.dispose([x, maps]);
    model.dispose();
  });

  it('rejects a patch larger than the image and a fill outside [0, 1]', async () => {
    const model = leftOnly(1, 4);
    const x = tf.zeros([1, H, W, 1]) as tf.Tensor4D;
    await expect(occlusion(model, x, { patch: 9 })).rejects.toThrow(/patch 9 is larger than the 8x8 image/);
    await expect(occlusion(model, x, { fill: 2 })).rejects.toThrow(/fill must lie in \[0, 1\]/);
    await expect(occlusion(model, x, { target: 5 })).rejects.toThrow(/target class 5/);
    x.dispose();
    model.dispose();
  });

  it('on resnet20-base, the windowed route gives the maps of the whole frozen graph and of the stock path (patch 4 and 2, target given or not)', async () => {
    const model = await loadModel(FIXTURE);
    const { images, labels } = await cifar10.test({ count: 3, seed: 7 });
    // The whole frozen graph on every occluded copy, as a { predict } classifier (no windows).
    const whole = { predict: (v: tf.Tensor4D) => frozenGraph(model)!.run(v) };
    try {
      for (const [patch, target] of [
        [4, undefined],
        [2, labels],
      ] as const) {
        const params = { patch, stride: 2, batchSize: 100, target };
        const n0 = tf.memory().numTensors;
        const maps: Record<string, Float32Array> = {};
        for (const [name, m] of [
          ['windowed', model],
          ['whole', whole],
          ['stock', model],
        ] as const) {
          setFrozenInference(name !== 'stock');
          const t = await occlusion(m, images, params);
          maps[name] = (await t.data()) as Float32Array;
          t.dispose();
        }
        expect(tf.memory().numTensors).toBe(n0);
        const worst = (a: Float32Array, b: Float32Array) => a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i]!)), 0);
        expect(Math.max(...maps.windowed!)).toBe(1);
        expect(worst(maps.windowed!, maps.whole!)).toBeLessThanOrEqual(1e-6);
        // Folding batch norm moves logits by about 1e-6 relative (frozen.test.ts); the maps are
        // differences of probabilities scaled by their maximum.
        expect(worst(maps.windowed!, maps.stock!)).toBeLessThanOrEqual(1e-4);
      }
    } finally {
      model.dispose();
      tf.dispose([images, labels]);
    }
  });
});
