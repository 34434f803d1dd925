import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../util/random.js';
import { initBackend } from '../select.js';
import { RELU_GRAD } from './fusedTraining.js';
import { setSimdKernels, simdKernels } from './simdWasm.js';

// The wasm SIMD loops against the JavaScript loops they replace (bit for bit, Object.is, so signed
// zeros and NaN count), on lengths that leave a scalar tail, with the values that make masks
// differ (NaN, infinities, signed zeros, the cap itself), and through the kernels that use them.

afterEach(() => setSimdKernels(true));
afterAll(async () => {
  await initBackend({ announce: false });
});

interface HeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  disposeData(id: tf.DataId): void;
}

const SPECIAL = [0, -0, NaN, Infinity, -Infinity, 6, 1e-40, -1e-40, 3.4e38];

function values(n: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, (_, i) => (i % 7 === 3 ? SPECIAL[(i * 13 + seed) % SPECIAL.length]! : (rand() * 2 - 1) * 8));
}

/** Runs `f` on heap copies of `inputs`, returns the output values; frees everything it made. */
function onHeap(inputs: Float32Array[], n: number, f: (offsets: number[], out: number) => void): Float32Array {
  const be = tf.backend() as unknown as HeapBackend;
  const ts = inputs.map((v) => tf.tensor1d(v));
  const out = be.makeOutput([n], 'float32');
  try {
    f(
      ts.map((t) => be.typedArrayFromHeap(t).byteOffset),
      be.typedArrayFromHeap(out).byteOffset,
    );
    return be.typedArrayFromHeap(out).slice();
  } finally {
    tf.dispose(ts);
    be.disposeData(out.dataId);
  }
}

const sameBits = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

describe('wasm SIMD loops (simdWasm.ts)', () => {
  it('are available on the wasm backend in this Node, and not on cpu', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    expect(simdKernels()).toBeDefined();
    setSimdKernels(false);
    expect(simdKernels()).toBeUndefined();
    setSimdKernels(true);
    await initBackend({ backend: 'cpu', announce: false });
    expect(simdKernels()).toBeUndefined();
  });

  it('reluMask equals dy * +(y > 0) (* +(y <= cap)) bit for bit, tails and special values included', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    const k = simdKernels()!;
    const before = tf.memory().numTensors;
    for (const n of [1, 3, 4, 5, 17, 64, 1001]) {
      for (const cap of [Infinity, 6, 0.5]) {
        const dy = values(n, n);
        const y = values(n, n + 1);
        const got = onHeap([dy, y], n, ([a, b], out) => k.reluMask(a!, b!, out, n, cap));
        const want = new Float32Array(n);
        for (let i = 0; i < n; i++) want[i] = cap === Infinity ? dy[i]! * +(y[i]! > 0) : dy[i]! * +(y[i]! > 0) * +(y[i]! <= cap);
        expect(sameBits(got, want), `n=${n} cap=${cap}`).toBe(true);
      }
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('addReluMask equals fround(a + b) * +(y > 0) bit for bit', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    const k = simdKernels()!;
    for (const n of [1, 2, 4, 7, 33, 1000]) {
      const [a, b, y] = [values(n, 2 * n), values(n, 2 * n + 1), values(n, 2 * n + 2)];
      const got = onHeap([a, b, y], n, ([pa, pb, py], out) => k.addReluMask(pa!, pb!, py!, out, n));
      const want = new Float32Array(n);
      for (let i = 0; i < n; i++) want[i] = Math.fround(a[i]! + b[i]!) * +(y[i]! > 0);
      expect(sameBits(got, want), `n=${n}`).toBe(true);
    }
  });

  it('the ReLU-gradient kernel gives the same bits with and without SIMD, and leaks nothing', async () => {
    await initBackend({ backend: 'wasm', announce: false });
    for (const cap of [Infinity, 6]) {
      const n = 2 * 9 * 5 * 3;
      const dy = tf.tensor4d(values(n, 5), [2, 9, 5, 3]);
      const x = tf.tensor4d(values(n, 6), [2, 9, 5, 3]);
      const before = tf.memory().numTensors;
      const run = () => {
        const out = tf.engine().runKernel(RELU_GRAD, { dy, x }, { cap } as unknown as tf.NamedAttrMap) as tf.Tensor;
        const v = out.dataSync() as Float32Array;
        out.dispose();
        return v;
      };
      const fast = run();
      setSimdKernels(false);
      const js = run();
      setSimdKernels(true);
      expect(tf.memory().numTensors).toBe(before);
      expect(sameBits(fast, js)).toBe(true);
      tf.dispose([dy, x]);
    }
  });

  it('DepthToSpace through the SIMD copy equals the JavaScript loop and the cpu backend exactly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ b: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 6 }), w: fc.integer({ min: 1, max: 6 }), c: fc.constantFrom(2, 4, 8, 12, 16), s: fc.constantFrom(2, 4), seed: fc.nat() }),
        async (k) => {
          const shape: [number, number, number, number] = [k.b, k.h, k.w, k.c * k.s * k.s];
          const v = values(shape.reduce((a, b) => a * b, 1), k.seed);
          await initBackend({ backend: 'wasm', announce: false });
          const before = tf.memory().numTensors;
          const d2s = () => tf.tidy(() => tf.depthToSpace(tf.tensor4d(v, shape), k.s).dataSync() as Float32Array);
          const fast = d2s();
          setSimdKernels(false);
          const js = d2s();
          setSimdKernels(true);
          expect(tf.memory().numTensors).toBe(before);
          await initBackend({ backend: 'cpu', announce: false });
          const ref = tf.tidy(() => tf.depthToSpace(tf.tensor4d(v, shape), k.s).dataSync() as Float32Array);
          expect(sameBits(fast, js)).toBe(true);
          expect(sameBits(fast, ref)).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });
});
