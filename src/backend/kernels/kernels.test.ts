import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from '../select.js';
import { mulberry32 } from '../../util/random.js';
import { relErr } from '../../test-support/numeric.js';

// Every fast gradient is checked against the cpu backend's stock gradient (an independent
// implementation) on random shapes, strides and paddings, and against central finite
// differences on small cases.

interface Case {
  batch: number;
  h: number;
  w: number;
  c: number;
  o: number;
  fh: number;
  fw: number;
  stride: number | [number, number];
  pad: 'same' | 'valid' | ExplicitPad;
  seed: number;
}

type ExplicitPad = [[0, 0], [number, number], [number, number], [0, 0]];

const explicitPadArb: fc.Arbitrary<ExplicitPad> = fc
  .tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2))
  .map(([t, b, l, r]): ExplicitPad => [[0, 0], [t, b], [l, r], [0, 0]]);

const caseArb = (depthwise: boolean): fc.Arbitrary<Case> =>
  fc
    .record({
      batch: fc.integer({ min: 1, max: 3 }),
      h: fc.integer({ min: 1, max: 9 }),
      w: fc.integer({ min: 1, max: 9 }),
      c: fc.integer({ min: 1, max: 4 }),
      o: depthwise ? fc.integer({ min: 1, max: 2 }) : fc.integer({ min: 1, max: 4 }),
      fh: fc.integer({ min: 1, max: 4 }),
      fw: fc.integer({ min: 1, max: 4 }),
      // Mostly equal strides (what models use); unequal ones take the other routes.
      stride: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })) }),
      pad: fc.oneof(fc.constantFrom('same' as const, 'valid' as const), explicitPadArb),
      seed: fc.integer({ min: 0, max: 1e6 }),
    })
    .filter((k) => {
      if (k.pad === 'same') return true;
      const [ph, pw] = k.pad === 'valid' ? [0, 0] : [k.pad[1][0] + k.pad[1][1], k.pad[2][0] + k.pad[2][1]];
      return k.fh <= k.h + ph && k.fw <= k.w + pw;
    });

function randn(n: number, rand: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => rand() * 2 - 1);
}

/** Gradients of sum(r * conv(x, W)) with respect to x and W, on the current backend. */
function grads(k: Case, depthwise: boolean, xs: Float32Array, ws: Float32Array, rs: (n: number) => Float32Array): { dx: Float32Array; dw: Float32Array; outSize: number } {
  return tf.tidy(() => {
    const x = tf.tensor4d(xs, [k.batch, k.h, k.w, k.c]);
    const wShape: [number, number, number, number] = [k.fh, k.fw, k.c, k.o];
    const w = tf.tensor4d(ws, wShape);
    const conv = (a: tf.Tensor4D, b: tf.Tensor4D) => (depthwise ? tf.depthwiseConv2d(a, b, k.stride, k.pad) : tf.conv2d(a, b, k.stride, k.pad));
    const outShape = conv(x, w).shape;
    const r = tf.tensor(rs(outShape.reduce((p, q) => p * q, 1)), outShape);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a as tf.Tensor4D, b as tf.Tensor4D).mul(r).sum())([x, w]);
    return { dx: g[0]!.dataSync() as Float32Array, dw: g[1]!.dataSync() as Float32Array, outSize: r.size };
  });
}


async function compareWithCpu(k: Case, depthwise: boolean): Promise<void> {
  const rand = mulberry32(k.seed);
  const xs = randn(k.batch * k.h * k.w * k.c, rand);
  const ws = randn(k.fh * k.fw * k.c * k.o, rand);
  const rSeed = k.seed + 1;
  const rs = (n: number) => randn(n, mulberry32(rSeed));
  await initBackend({ backend: 'wasm', announce: false });
  const before = tf.memory().numTensors;
  const fast = grads(k, depthwise, xs, ws, rs);
  expect(tf.memory().numTensors).toBe(before);
  await initBackend({ backend: 'cpu', announce: false });
  const ref = grads(k, depthwise, xs, ws, rs);
  expect(fast.dx.length).toBe(ref.dx.length);
  // Each gradient entry is a dot product of x (or W) with r; when its terms cancel, float32 rounding
  // in another summation order is large against the result itself (a found case: dW = 3.03e-4 from
  // three terms of 0.1-0.7, off by 3.4e-8). So the error is measured against the larger of the
  // result's norm and a thousandth of the Cauchy-Schwarz bound |x| |r| (|W| |r| for dx).
  const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((t, v) => t + v * v, 0));
  const rNorm = norm(rs(ref.outSize));
  const err = (a: Float32Array, b: Float32Array, bound: number) => relErr(a, b) * Math.max(norm(b), 1e-6) / Math.max(norm(b), 1e-3 * bound, 1e-6);
  expect(err(fast.dx, ref.dx, norm(ws) * rNorm)).toBeLessThan(1e-4);
  expect(err(fast.dw, ref.dw, norm(xs) * rNorm)).toBeLessThan(1e-4);
}

afterAll(async () => {
  await initBackend({ announce: false });
});

describe('fast conv gradient kernels on wasm', () => {
  it('Conv2D dx and dW match the cpu backend for random shapes, strides and paddings (same, valid, explicit)', async () => {
    await fc.assert(fc.asyncProperty(caseArb(false), (k) => compareWithCpu(k, false)), { numRuns: 100 });
  });

  it('DepthwiseConv2dNative dx and dW match the cpu backend (multipliers 1 and 2)', async () => {
    await fc.assert(fc.asyncProperty(caseArb(true), (k) => compareWithCpu(k, true)), { numRuns: 100 });
  });

  it('match central finite differences of the loss on small cases', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    for (const [depthwise, k] of [
      [false, { batch: 2, h: 5, w: 4, c: 2, o: 3, fh: 3, fw: 2, stride: 2, pad: 'same', seed: 7 }],
      [true, { batch: 1, h: 6, w: 5, c: 3, o: 2, fh: 3, fw: 3, stride: 2, pad: 'valid', seed: 8 }],
    ] as const) {
      const rand = mulberry32(k.seed);
      const xs = randn(k.batch * k.h * k.w * k.c, rand);
      const ws = randn(k.fh * k.fw * k.c * k.o, rand);
      const rs = (n: number) => randn(n, mulberry32(99));
      const { dx, dw } = grads(k, depthwise, xs, ws, rs);
      const loss = (x: Float32Array, w: Float32Array): number =>
        tf.tidy(() => {
          const xt = tf.tensor4d(x, [k.batch, k.h, k.w, k.c], 'float32');
          const wt = tf.tensor4d(w, [k.fh, k.fw, k.c, k.o], 'float32');
          const y = depthwise ? tf.depthwiseConv2d(xt, wt, k.stride, k.pad) : tf.conv2d(xt, wt, k.stride, k.pad);
          return y.mul(tf.tensor(rs(y.size), y.shape)).sum().dataSync()[0]!;
        });
      const h = 1e-2; // the loss is linear in each argument, so float32 differences are exact enough
      for (const [vec, grad, other, isX] of [
        [xs, dx, ws, true],
        [ws, dw, xs, false],
      ] as const) {
        for (const i of [0, Math.floor(vec.length / 2), vec.length - 1]) {
          const plus = Float32Array.from(vec);
          const minus = Float32Array.from(vec);
          plus[i]! += h;
          minus[i]! -= h;
          const fd = isX ? (loss(plus, other) - loss(minus, other)) / (2 * h) : (loss(other, plus) - loss(other, minus)) / (2 * h);
          expect(grad[i]).toBeCloseTo(fd, 2);
        }
      }
    }
  });

  it('make tfjs-layers training work on wasm (fused conv + bias + relu)', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
        tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2 }),
      ],
    });
    const opt = tf.train.adam(0.03);
    const x = tf.randomUniform([4, 8, 8, 3], 0, 1, 'float32', 1);
    const y = tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2);
    const losses: number[] = [];
    let before = 0;
    for (let i = 0; i < 40; i++) {
      // After the first step has built the optimizer's slots, a step must not add tensors.
      if (i === 1) before = tf.memory().numTensors;
      const l = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, true)!;
      losses.push(l.dataSync()[0]!);
      l.dispose();
    }
    expect(losses[39]).toBeLessThan(losses[0]! * 0.5);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
    model.dispose();
    opt.dispose();
  });

  it('MaxPool and AvgPool gradients match the cpu backend, ties included', async () => {
    const poolArb = fc
      .record({
        batch: fc.integer({ min: 1, max: 3 }),
        h: fc.integer({ min: 1, max: 9 }),
        w: fc.integer({ min: 1, max: 9 }),
        c: fc.integer({ min: 1, max: 5 }),
        k: fc.integer({ min: 1, max: 3 }),
        stride: fc.integer({ min: 1, max: 3 }),
        pad: fc.constantFrom('same' as const, 'valid' as const),
        // Few distinct levels make ties common, as after a ReLU: the pixel that takes the
        // gradient must be the one the cpu backend picks.
        levels: fc.constantFrom(0, 3),
        seed: fc.integer({ min: 0, max: 1e6 }),
      })
      .filter((p) => p.pad === 'same' || (p.k <= p.h && p.k <= p.w));
    await fc.assert(
      fc.asyncProperty(poolArb, async (p) => {
        const rand = mulberry32(p.seed);
        const raw = randn(p.batch * p.h * p.w * p.c, rand);
        const xs = p.levels ? raw.map((v) => Math.max(0, Math.round(v * p.levels))) : raw;
        const run = () =>
          tf.tidy(() => {
            const x = tf.tensor4d(xs, [p.batch, p.h, p.w, p.c]);
            const outShape = tf.maxPool(x, p.k, p.stride, p.pad).shape;
            const r = tf.tensor(randn(outShape.reduce((a, b) => a * b, 1), mulberry32(p.seed + 1)), outShape);
            const gMax = tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, p.k, p.stride, p.pad).mul(r).sum())(x);
            const gAvg = tf.grad((a: tf.Tensor) => tf.avgPool(a as tf.Tensor4D, p.k, p.stride, p.pad).mul(r).sum())(x);
            return [gMax.dataSync() as Float32Array, gAvg.dataSync() as Float32Array];
          });
        await initBackend({ backend: 'wasm', announce: false });
        const before = tf.memory().numTensors;
        const [fastMax, fastAvg] = run();
        expect(tf.memory().numTensors).toBe(before);
        await initBackend({ backend: 'cpu', announce: false });
        const [refMax, refAvg] = run();
        expect(relErr(fastMax!, refMax!)).toBeLessThan(1e-4);
        expect(relErr(fastAvg!, refAvg!)).toBeLessThan(1e-4);
      }),
      { numRuns: 60 },
    );
  });

  it('MaxPool 2x2 stride 2 gradient (the direct route): ties, NaN and -Infinity windows follow the general rule', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    // One channel, 2 images of 3x5 (an odd leftover row and column that no window covers):
    // windows with a tie (first wins), a NaN beside a larger value, all NaN, all -Infinity, and
    // -Infinity beside a finite value.
    const N = NaN;
    const I = -Infinity;
    const img1 = [1, 3, 2, 2, 9, 3, 0, 2, 2, 9, 7, 7, 7, 7, 7];
    const img2 = [N, 5, N, N, 4, 1, N, N, N, 4, I, I, I, 2, 1];
    const x = tf.tensor4d([...img1, ...img2], [2, 3, 5, 1]);
    const r = tf.tensor4d([10, 20, 50, 60], [2, 1, 2, 1]);
    const before = tf.memory().numTensors;
    const g = tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid').mul(r).sum())(x);
    // Expected, window by window (row-major, first strictly greatest; NaN never wins):
    // image 1: [1,3 / 3,0] -> 3 at (0,1) (first of the tie); [2,2 / 2,2] -> (0,2).
    // image 2: [N,5 / 1,N] -> 5 at (0,1); [N,N / N,N] -> none.
    // Windows of the second row of pixels are cut (3 rows): nothing else gets a gradient.
    const want = new Array(30).fill(0);
    want[1] = 10;
    want[2] = 20;
    want[15 + 1] = 50;
    expect(Array.from(g.dataSync())).toEqual(want);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // All -Infinity, and -Infinity beside a finite value, in a 2x2 image each.
    const y = tf.tensor4d([I, I, I, I, I, I, -3, I], [2, 2, 2, 1]);
    const gy = tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid').mul(tf.tensor4d([5, 6], [2, 1, 1, 1])).sum())(y);
    expect(Array.from(gy.dataSync())).toEqual([0, 0, 0, 0, 0, 0, 6, 0]);
    tf.dispose([x, r, y, gy]);
  });

  it('batch norm gradients match the same formula written in elementary ops', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    await fc.assert(
      // At least 4 values per channel: normalising a single value is degenerate (the output is
      // the offset whatever x is), and with 2 or 3 the terms of dx nearly cancel, so two float32
      // computations differ by rounding alone (seen: 4.7e-4 at [2, 1, 1]). fusedTraining.test.ts
      // checks those small cases against a float64 closed form instead.
      fc.asyncProperty(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1e6 }), async (b, hw, c, seed) => {
        fc.pre(b * hw * hw >= 4);
        const rand = mulberry32(seed);
        const x = tf.tensor4d(randn(b * hw * hw * c, rand), [b, hw, hw, c]);
        const scale = tf.tensor1d(randn(c, rand));
        const offset = tf.tensor1d(randn(c, rand));
        const r = tf.tensor4d(randn(b * hw * hw * c, rand), [b, hw, hw, c]);
        const before = tf.memory().numTensors;
        // Mean and variance come from the batch, as in training, so their gradients matter too.
        const viaKernel = tf.grads((xi: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
          const { mean, variance } = tf.moments(xi, [0, 1, 2]);
          return tf.batchNorm(xi as tf.Tensor4D, mean, variance, o as tf.Tensor1D, s as tf.Tensor1D, 1e-3).mul(r).sum();
        })([x, scale, offset]);
        const viaOps = tf.grads((xi: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
          const { mean, variance } = tf.moments(xi, [0, 1, 2]);
          return xi.sub(mean).mul(tf.rsqrt(variance.add(1e-3))).mul(s).add(o).mul(r).sum();
        })([x, scale, offset]);
        for (let i = 0; i < 3; i++) expect(relErr(viaKernel[i]!.dataSync() as Float32Array, viaOps[i]!.dataSync() as Float32Array)).toBeLessThan(1e-4);
        tf.dispose([...viaKernel, ...viaOps]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([x, scale, offset, r]);
      }),
      { numRuns: 30 },
    );
  });
});
