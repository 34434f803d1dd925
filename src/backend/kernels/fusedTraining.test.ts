import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../util/random.js';
import { relErr } from '../../test-support/numeric.js';
import { initBackend } from '../select.js';
import { BN_TRAIN, BN_TRAIN_GRAD, installFusedTraining, RELU_GRAD, uninstallFusedTraining } from './fusedTraining.js';

// The fused training-mode batch norm and ReLU gradient (wasm) against the cpu backend running the
// stock tfjs code (moments + FusedBatchNorm, dy * step(x)), against float64 closed forms, and
// against finite differences.

function randn(n: number, rand: () => number, scale = 1, offset = 0): Float32Array {
  return Float32Array.from({ length: n }, () => offset + scale * (rand() * 2 - 1));
}


interface BnCase {
  shape: number[];
  epsilon: number;
  seed: number;
  /** Channel offset of the inputs: batch norm must cope with a mean far from 0. */
  offset: number;
}

interface BnResult {
  y: Float32Array;
  dx: Float32Array;
  dgamma: Float32Array;
  dbeta: Float32Array;
  movingMean: Float32Array;
  movingVariance: Float32Array;
}

/** One training-mode call of a batchNormalization layer and the gradients of sum(r * y), on the current backend. */
function bnRun(k: BnCase): BnResult {
  const rand = mulberry32(k.seed);
  const size = k.shape.reduce((a, b) => a * b, 1);
  const c = k.shape.at(-1)!;
  const xs = randn(size, rand, 2, k.offset);
  const rs = randn(size, rand);
  const weights = [randn(c, rand, 0.5, 1), randn(c, rand, 0.5), randn(c, rand, 0.5), randn(c, rand, 0.4, 1)];
  const layer = tf.layers.batchNormalization({ momentum: 0.9, epsilon: k.epsilon });
  layer.build(k.shape);
  const values = weights.map((w) => tf.tensor1d(w));
  layer.setWeights(values);
  tf.dispose(values);
  const x = tf.tidy(() => tf.variable(tf.tensor(xs, k.shape)));
  const r = tf.tensor(rs, k.shape);
  let y: Float32Array = new Float32Array();
  const { value, grads } = tf.variableGrads(() => {
    const out = layer.apply(x, { training: true }) as tf.Tensor;
    y = out.dataSync() as Float32Array;
    return out.mul(r).sum() as tf.Scalar;
  }, [x, ...(layer.trainableWeights.map((w) => w.read()) as tf.Variable[])]);
  const [gamma, beta] = layer.trainableWeights.map((w) => (w.read() as tf.Variable).name);
  const [mm, mv] = layer.nonTrainableWeights.map((w) => w.read().dataSync() as Float32Array);
  const result = { y, dx: grads[x.name]!.dataSync() as Float32Array, dgamma: grads[gamma!]!.dataSync() as Float32Array, dbeta: grads[beta!]!.dataSync() as Float32Array, movingMean: mm!, movingVariance: mv! };
  tf.dispose([x, r, value, ...Object.values(grads)]);
  layer.weights.forEach((w) => w.dispose());
  return result;
}

/** The same quantities in float64 from the closed forms: an independent reference. */
function bnReference(k: BnCase): BnResult {
  const rand = mulberry32(k.seed);
  const size = k.shape.reduce((a, b) => a * b, 1);
  const c = k.shape.at(-1)!;
  const n = size / c;
  const xs = randn(size, rand, 2, k.offset);
  const rs = randn(size, rand);
  const [gamma, beta, mm0, mv0] = [randn(c, rand, 0.5, 1), randn(c, rand, 0.5), randn(c, rand, 0.5), randn(c, rand, 0.4, 1)];
  const out: BnResult = { y: new Float32Array(size), dx: new Float32Array(size), dgamma: new Float32Array(c), dbeta: new Float32Array(c), movingMean: new Float32Array(c), movingVariance: new Float32Array(c) };
  for (let ch = 0; ch < c; ch++) {
    const idx = Array.from({ length: n }, (_, i) => i * c + ch);
    const mean = idx.reduce((s, i) => s + xs[i]!, 0) / n;
    const variance = idx.reduce((s, i) => s + (xs[i]! - mean) ** 2, 0) / n;
    const r = 1 / Math.sqrt(variance + k.epsilon);
    const xhat = idx.map((i) => (xs[i]! - mean) * r);
    const sumDy = idx.reduce((s, i) => s + rs[i]!, 0);
    const sumDyXhat = idx.reduce((s, i, j) => s + rs[i]! * xhat[j]!, 0);
    idx.forEach((i, j) => {
      out.y[i] = gamma[ch]! * xhat[j]! + beta[ch]!;
      out.dx[i] = ((gamma[ch]! * r) / n) * (n * rs[i]! - sumDy - xhat[j]! * sumDyXhat);
    });
    out.dgamma[ch] = sumDyXhat;
    out.dbeta[ch] = sumDy;
    out.movingMean[ch] = mm0[ch]! * 0.9 + mean * 0.1;
    out.movingVariance[ch] = mv0[ch]! * 0.9 + variance * 0.1;
  }
  return out;
}

const bnCaseArb: fc.Arbitrary<BnCase> = fc.record({
  shape: fc.oneof(
    fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 9 })).map((s) => [...s]),
    fc.tuple(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 1, max: 9 })).map((s) => [...s]),
  ),
  epsilon: fc.constantFrom(1e-3, 1e-5),
  seed: fc.integer({ min: 0, max: 1e6 }),
  offset: fc.constantFrom(0, 3, -50),
});

async function onCpuStock<T>(f: () => T): Promise<T> {
  uninstallFusedTraining();
  await initBackend({ backend: 'cpu', announce: false });
  try {
    return f();
  } finally {
    await initBackend({ backend: 'wasm', announce: false });
    installFusedTraining('wasm');
  }
}

afterAll(async () => {
  await initBackend({ announce: false });
});

describe('fused training-mode batch norm and ReLU gradient on wasm', () => {
  it('batch norm: output, dx, dgamma, dbeta and moving statistics match stock tfjs on cpu (random shapes, rank 2 and 4, offsets)', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    await fc.assert(
      fc.asyncProperty(bnCaseArb, async (k) => {
        const before = tf.memory().numTensors;
        const fast = bnRun(k);
        expect(tf.memory().numTensors).toBe(before);
        const stock = await onCpuStock(() => bnRun(k));
        const exact = bnReference(k);
        const perChannel = k.shape.slice(0, -1).reduce((a, b) => a * b, 1);
        const single = perChannel === 1;
        for (const key of ['y', 'dx', 'dgamma', 'dbeta', 'movingMean', 'movingVariance'] as const) {
          expect(fast[key].length).toBe(stock[key].length);
          if (key === 'dx' && single) {
            // One value per channel: y does not depend on x at all (x - mean = 0), so dx is 0
            // exactly; stock tfjs returns rounding noise there, which a relative error magnifies.
            expect(Math.max(...Array.from(fast.dx, Math.abs))).toBeLessThan(1e-6);
            continue;
          }
          const tol = 1e-4;
          const errExact = relErr(fast[key], exact[key]);
          if (!(errExact < tol)) throw new Error(`${key}: relative error ${errExact} against the float64 closed form for ${JSON.stringify(k)}`);
          // Stock tfjs computes in float32, which loses digits when the mean is large against the
          // spread (offset -50), and in dx when a channel has so few values (2 or 3) that its
          // terms nearly cancel: there only the float64 closed form decides.
          if (k.offset !== -50 && perChannel >= 4) {
            const errStock = relErr(fast[key], stock[key]);
            if (!(errStock < tol)) throw new Error(`${key}: relative error ${errStock} against stock tfjs on cpu for ${JSON.stringify(k)}`);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('batch norm: the training step runs the fused kernels (not the stock fallback)', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    const info = await tf.profile(() => {
      bnRun({ shape: [2, 3, 3, 4], epsilon: 1e-3, seed: 1, offset: 0 });
    });
    expect(info.kernelNames).toContain(BN_TRAIN);
    expect(info.kernelNames).toContain(BN_TRAIN_GRAD);
    expect(info.kernelNames).not.toContain('FusedBatchNorm');
  });

  it('batch norm dx matches central finite differences of sum(r * y)', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    const k: BnCase = { shape: [2, 3, 2, 3], epsilon: 1e-3, seed: 11, offset: 1 };
    const { dx } = bnRun(k);
    const rand = mulberry32(k.seed);
    const size = 36;
    const xs = randn(size, rand, 2, k.offset);
    const rs = randn(size, rand);
    const weights = [randn(3, rand, 0.5, 1), randn(3, rand, 0.5), randn(3, rand, 0.5), randn(3, rand, 0.4, 1)];
    const loss = (xv: Float32Array) =>
      tf.tidy(() => {
        const layer = tf.layers.batchNormalization({ momentum: 0.9, epsilon: k.epsilon });
        layer.build(k.shape);
        const values = weights.map((w) => tf.tensor1d(w));
        layer.setWeights(values);
        const v = (layer.apply(tf.tensor(xv, k.shape), { training: true }) as tf.Tensor).mul(tf.tensor(rs, k.shape)).sum().dataSync()[0]!;
        layer.weights.forEach((w) => w.dispose());
        return v;
      });
    const h = 1e-2;
    const numeric = Float32Array.from(xs, (_, i) => {
      const up = xs.slice();
      const down = xs.slice();
      up[i]! += h;
      down[i]! -= h;
      return (loss(up) - loss(down)) / (2 * h);
    });
    expect(relErr(dx, numeric)).toBeLessThan(2e-3);
  });

  it('ReLU and ReLU6 gradients match stock tfjs on cpu, zeros and the cap included', async () => {
    const grads = (xs: Float32Array, gs: Float32Array) =>
      tf.tidy(() => {
        const x = tf.tensor(xs);
        const g = tf.tensor(gs);
        return [tf.grad((a: tf.Tensor) => tf.relu(a).mul(g).sum())(x), tf.grad((a: tf.Tensor) => tf.relu6(a).mul(g).sum())(x)].map((t) => t.dataSync() as Float32Array);
      });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 1e6 }), async (n, seed) => {
        const rand = mulberry32(seed);
        const xs = randn(n, rand, 8).map((v, i) => (i % 7 === 0 ? 0 : i % 11 === 0 ? 6 : v));
        const gs = randn(n, rand);
        await initBackend({ backend: 'wasm', announce: false });
        const before = tf.memory().numTensors;
        const fast = grads(xs, gs);
        expect(tf.memory().numTensors).toBe(before);
        const ref = await onCpuStock(() => grads(xs, gs));
        expect(Array.from(fast[0]!)).toEqual(Array.from(ref[0]!));
        expect(Array.from(fast[1]!)).toEqual(Array.from(ref[1]!));
      }),
      { numRuns: 40 },
    );
    await initBackend({ backend: 'wasm', announce: false });
    const info = await tf.profile(() => grads(new Float32Array([1, -1]), new Float32Array([1, 1])));
    expect(info.kernelNames).toContain(RELU_GRAD);
  });
});
