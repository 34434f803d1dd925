import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../util/random.js';
import { initBackend } from '../select.js';
import { installFastKernels, restoreStockKernels } from './install.js';
import { depthToSpaceWasm, identityWasm } from './layoutWasm.js';
import { sumColumns } from './sumLeading.js';
import { reducePermutation } from './transposeWasm.js';

// The direct DepthToSpace against the cpu backend's (an independent implementation), and the
// zero-copy Identity's sharing: a clone must read the same values and outlive its source.

afterAll(async () => {
  await initBackend({ announce: false });
});

describe('layout kernels on wasm', () => {
  it('are the ones installed on wasm (not the stock kernels)', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    expect(tf.getKernel('Identity', 'wasm')?.kernelFunc).toBe(identityWasm);
    // depthToSpaceWasm wraps the stock kernel, so compare by behaviour: the stock one has no name.
    expect((tf.getKernel('DepthToSpace', 'wasm') as { __fast?: boolean } | undefined)?.__fast).toBe(true);
    expect(typeof depthToSpaceWasm(undefined)).toBe('function');
  });

  it('restoreStockKernels puts back only the named stock kernels, and installFastKernels replaces them again', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    restoreStockKernels('wasm', ['Identity']);
    try {
      expect(tf.getKernel('Identity', 'wasm')?.kernelFunc).not.toBe(identityWasm);
      expect((tf.getKernel('DepthToSpace', 'wasm') as { __fast?: boolean } | undefined)?.__fast).toBe(true);
      const a = tf.tensor1d([1, 2]);
      const b = tf.clone(a);
      expect(b.dataId).not.toBe(a.dataId); // the stock kernel copies
      tf.dispose([a, b]);
    } finally {
      installFastKernels('wasm');
    }
    expect(tf.getKernel('Identity', 'wasm')?.kernelFunc).toBe(identityWasm);
  });

  it('DepthToSpace (NHWC) equals the cpu backend exactly for random shapes and block sizes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ b: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 5 }), w: fc.integer({ min: 1, max: 5 }), c: fc.integer({ min: 1, max: 5 }), s: fc.integer({ min: 2, max: 3 }), seed: fc.nat() }), async (k) => {
        const rand = mulberry32(k.seed);
        const shape: [number, number, number, number] = [k.b, k.h, k.w, k.c * k.s * k.s];
        const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1);
        await initBackend({ backend: 'wasm', announce: false });
        const before = tf.memory().numTensors;
        const fast = tf.tidy(() => tf.depthToSpace(tf.tensor4d(values, shape), k.s).dataSync());
        expect(tf.memory().numTensors).toBe(before);
        await initBackend({ backend: 'cpu', announce: false });
        const ref = tf.tidy(() => tf.depthToSpace(tf.tensor4d(values, shape), k.s).dataSync());
        expect(Array.from(fast)).toEqual(Array.from(ref));
      }),
      { numRuns: 60 },
    );
  });

  it('Identity: a clone reads the same values, survives its source, and is freed with the last reference', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    const mem0 = tf.memory();
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tf.clone(a);
    expect(b.dataId).toBe(a.dataId);
    expect(tf.memory().numTensors).toBe(mem0.numTensors + 2);
    // one data buffer for both (the engine's byte count is per tensor, so it is not the measure)
    expect(tf.memory().numDataBuffers).toBe(mem0.numDataBuffers + 1);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    // Ops on the clone make new data; the clone itself never changes.
    const c = tf.add(b, 1);
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    tf.dispose([b, c]);
    expect(tf.memory().numTensors).toBe(mem0.numTensors);
    expect(tf.memory().numBytes).toBe(mem0.numBytes);
  });

  it('Identity keeps gradients and variables right (a variable read through a clone, then assigned)', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    const v = tf.variable(tf.tensor1d([1, 2, 3]));
    const snapshot = tf.clone(v);
    v.assign(tf.tensor1d([7, 8, 9]));
    expect(Array.from(snapshot.dataSync())).toEqual([1, 2, 3]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.clone(x), x)))(snapshot);
    expect(Array.from(g.dataSync())).toEqual([2, 4, 6]);
    tf.dispose([v, snapshot, g]);
  });
});

describe('sum over leading axes on wasm', () => {
  it('equals the cpu backend (float32 tolerance) for random shapes, leading axes, keepDims; other axes still work', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ shape: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }), lead: fc.nat(4), keepDims: fc.boolean(), inner: fc.boolean(), seed: fc.nat() }),
        async (k) => {
          const rand = mulberry32(k.seed);
          const values = Float32Array.from({ length: k.shape.reduce((a, b) => a * b, 1) }, () => 10 * rand() - 5);
          const rank = k.shape.length;
          // leading axes 0..n-1 (the fast route), or the innermost axis (the stock route)
          const axes = k.inner ? [rank - 1] : Array.from({ length: Math.min(k.lead, rank) || 1 }, (_, i) => i);
          const run = () => tf.tidy(() => { const t = tf.sum(tf.tensor(values, k.shape), axes, k.keepDims); return { v: t.dataSync(), s: t.shape }; });
          await initBackend({ backend: 'wasm', announce: false });
          const before = tf.memory().numTensors;
          const fast = run();
          expect(tf.memory().numTensors).toBe(before);
          await initBackend({ backend: 'cpu', announce: false });
          const ref = run();
          expect(fast.s).toEqual(ref.s);
          Array.from(ref.v).forEach((r, i) => expect(Math.abs(fast.v[i]! - r)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(r))));
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe('Transpose on wasm (outer/inner axis swaps in tiles, the rest stock)', () => {
  it('reduces a permutation by dropping size-1 axes and merging axes that stay adjacent', () => {
    expect(reducePermutation([64, 32, 32, 32], [3, 1, 2, 0])).toEqual({ dims: [64, 1024, 32], perm: [2, 1, 0] });
    expect(reducePermutation([4096, 128], [1, 0])).toEqual({ dims: [4096, 128], perm: [1, 0] });
    expect(reducePermutation([64, 32, 32, 32], [1, 2, 0, 3])).toEqual({ dims: [64, 1024, 32], perm: [1, 0, 2] });
    expect(reducePermutation([1, 5, 1, 7], [3, 2, 1, 0])).toEqual({ dims: [5, 7], perm: [1, 0] });
    expect(reducePermutation([2, 3, 4], [0, 1, 2])).toEqual({ dims: [24], perm: [0] });
    expect(reducePermutation([1, 1], [1, 0])).toEqual({ dims: [], perm: [] });
  });

  it('equals the cpu backend exactly for random shapes and permutations (float32 and int32), without leaks', async () => {
    const shapeArb = fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 });
    const caseArb = shapeArb.chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        // Half the cases take the tiled route: the first and last axes swapped.
        perm: fc.oneof(
          fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }),
          fc.constant<number[]>(shape.length === 1 ? [0] : [shape.length - 1, ...Array.from({ length: shape.length - 2 }, (_, i) => i + 1), 0]),
        ),
        dtype: fc.constantFrom('float32' as const, 'int32' as const),
        seed: fc.nat(),
      }),
    );
    await fc.assert(
      fc.asyncProperty(caseArb, async (k) => {
        const rand = mulberry32(k.seed);
        const n = k.shape.reduce((a, b) => a * b, 1);
        const values = Array.from({ length: n }, () => Math.round(1000 * rand() - 500) / (k.dtype === 'int32' ? 1 : 7));
        const run = () => tf.tidy(() => { const t = tf.transpose(tf.tensor(values, k.shape, k.dtype), k.perm); return { v: Array.from(t.dataSync()), s: t.shape }; });
        await initBackend({ backend: 'wasm', announce: false });
        const before = tf.memory().numTensors;
        const fast = run();
        expect(tf.memory().numTensors).toBe(before);
        await initBackend({ backend: 'cpu', announce: false });
        expect(fast).toEqual(run());
      }),
      { numRuns: 120 },
    );
  });

  it('equals the cpu backend on the shapes training uses (batch to channels, a dense layer\'s weights)', async () => {
    for (const [shape, perm] of [[[64, 9, 7, 5], [3, 1, 2, 0]], [[33, 3, 17], [2, 1, 0]], [[300, 20], [1, 0]], [[20, 300], [1, 0]], [[1, 5, 1, 19], [3, 1, 2, 0]]] as [number[], number[]][]) {
      const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i * 0.5 - 3);
      const run = () => tf.tidy(() => Array.from(tf.transpose(tf.tensor(values, shape), perm).dataSync()));
      await initBackend({ backend: 'wasm', announce: false });
      const fast = run();
      await initBackend({ backend: 'cpu', announce: false });
      expect(fast).toEqual(run());
    }
  });
});

describe('sumColumns (the sum over leading axes)', () => {
  it('adds each column in row order in float64, with 8-column groups and a remainder', () => {
    for (const cols of [1, 7, 8, 13, 16]) {
      const rand = mulberry32(cols);
      const rows = 37;
      const v = Float32Array.from({ length: rows * cols }, () => (rand() - 0.5) * 1e4);
      const y = new Float32Array(cols);
      sumColumns(v, y, cols);
      for (let k = 0; k < cols; k++) {
        let a = 0;
        for (let r = 0; r < rows; r++) a += v[r * cols + k]!;
        expect(y[k]).toBe(Math.fround(a));
      }
    }
  });
});
