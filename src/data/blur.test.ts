import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gaussianBlur, gaussianKernel1d } from './blur.js';
import { gaussianNoise, uniformNoise } from './noise.js';

/** Direct 2-D blur with reflect-101 edges, written out. */
function blurDirect(img: number[], h: number, w: number, c: number, sigma: number): number[] {
  const k = Array.from(gaussianKernel1d(sigma));
  const r = (k.length - 1) / 2;
  const reflect = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
  const out = new Array<number>(h * w * c).fill(0);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) s += k[dy + r]! * k[dx + r]! * img[(reflect(y + dy, h) * w + reflect(x + dx, w)) * c + ch]!;
        out[(y * w + x) * c + ch] = s;
      }
  return out;
}

describe('gaussianBlur', () => {
  it('equals a direct 2-D Gaussian convolution with reflected edges, and stays in [0, 1]', async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: 0.2, max: 1.5, noNaN: true }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 6 * 7 * 2, maxLength: 6 * 7 * 2 }), async (sigma, img) => {
        const x = tf.tensor4d(img, [1, 6, 7, 2]);
        const before = tf.memory().numTensors;
        const b = gaussianBlur(x, sigma);
        expect(tf.memory().numTensors).toBe(before + 1);
        const got = await b.data();
        blurDirect(img, 6, 7, 2, sigma).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
        expect(Math.min(...got)).toBeGreaterThanOrEqual(-1e-6);
        expect(Math.max(...got)).toBeLessThanOrEqual(1 + 1e-6);
        tf.dispose([x, b]);
      }),
      { numRuns: 20 },
    );
  });

  it('uses a kernel of 2 * ceil(3 sigma) + 1 taps summing to 1; sigma 0 is the identity', async () => {
    expect(gaussianKernel1d(0.5).length).toBe(5);
    expect(gaussianKernel1d(1).length).toBe(7);
    expect(gaussianKernel1d(0.5).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    const x = tf.randomUniform([2, 4, 4, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const same = gaussianBlur(x, 0);
    expect(Array.from(await same.data())).toEqual(Array.from(await x.data()));
    tf.dispose([x, same]);
  });

  it('rejects a negative sigma, a kernel too wide for the image, and the wrong rank', () => {
    const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    expect(() => gaussianBlur(x, -1)).toThrow(/sigma must be a finite number >= 0/);
    expect(() => gaussianBlur(x, 2)).toThrow(/too wide/);
    expect(() => gaussianBlur(tf.zeros([4, 4]) as unknown as tf.Tensor4D, 1)).toThrow(/\[N, H, W, C\]/);
    x.dispose();
  });
});

describe('noise', () => {
  it('uniform noise stays within eps in Linf and in [0, 1]; both are seeded', async () => {
    const x = tf.randomUniform([2, 4, 4, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const a = uniformNoise(x, 0.1, 5);
    const b = uniformNoise(x, 0.1, 5);
    const g1 = gaussianNoise(x, 0.2, 9);
    const g2 = gaussianNoise(x, 0.2, 9);
    const [xa, aa, ba, g1a, g2a] = await Promise.all([x.data(), a.data(), b.data(), g1.data(), g2.data()]);
    expect(Array.from(aa)).toEqual(Array.from(ba));
    expect(Array.from(g1a)).toEqual(Array.from(g2a));
    aa.forEach((v, i) => {
      expect(Math.abs(v - xa[i]!)).toBeLessThanOrEqual(0.1 + 1e-6);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    });
    expect(() => uniformNoise(x, 2)).toThrow(/eps must lie in \[0, 1\]/);
    tf.dispose([x, a, b, g1, g2]);
  });
});
