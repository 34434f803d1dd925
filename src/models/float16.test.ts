import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { predictionRelErr } from '../test-support/numeric.js';
import { buildModel } from './build.js';
import { float32ToFloat16, toFloat16Bits } from './float16.js';
import { loadModel, saveModel } from './io.js';

const root = mkdtempSync(join(tmpdir(), 'float16-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** An independent reading of half-precision bits, from the format's definition. */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** -24;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** tfjs's own decoder: what loadLayersModel does with a float16 weight. */
function tfjsDecode(bits: Uint16Array): Float32Array {
  const t = tf.io.decodeWeights(bits.buffer as ArrayBuffer, [{ name: 'w', shape: [bits.length], dtype: 'float32', quantization: { dtype: 'float16' } }]).w!;
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}

describe('float16 weights', () => {
  it('known values: exact ones, rounding to even, subnormals, overflow, signed zero, NaN', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff], // the largest finite half
      [65520, 0x7c00], // halfway to the next binade rounds to even: infinity
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // exactly half of it rounds to even: zero
      [1.5 * 2 ** -25, 0x0001],
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and the next half rounds to even (down)
      [1 + 3 * 2 ** -11, 0x3c02], // halfway, odd below: up
      [1e-9, 0x0000],
    ];
    for (const [x, h] of cases) expect([x, toFloat16Bits(x)]).toEqual([x, h]);
    expect(halfValue(toFloat16Bits(NaN))).toBeNaN();
  });

  it('every float32 goes to the nearest half (ties to even), as tfjs decodes it', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, min: -70000, max: 70000 }), (x) => {
        const x32 = Math.fround(x);
        const h = toFloat16Bits(x32);
        const v = halfValue(h);
        expect(tfjsDecode(new Uint16Array([h]))[0]).toBe(Math.fround(v));
        if (!Number.isFinite(v)) {
          expect(Math.abs(x32)).toBeGreaterThanOrEqual(65520);
          return;
        }
        // No half is nearer: the neighbours on both sides are at least as far.
        const mag = h & 0x7fff;
        const sign = h & 0x8000;
        for (const n of [mag - 1, mag + 1]) {
          if (n < 0 || n >= 0x7c00) continue;
          const w = halfValue(sign | n);
          const d = Math.abs(x32 - w);
          const dv = Math.abs(x32 - v);
          expect(d).toBeGreaterThanOrEqual(dv);
          if (d === dv) expect(mag & 1).toBe(0);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('every half comes back as itself, and the midpoint to its successor rounds to the even one of the two', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7bfe }), fc.boolean(), (mag, negative) => {
        const sign = negative ? 0x8000 : 0;
        const v = halfValue(sign | mag);
        expect(toFloat16Bits(v)).toBe(sign | mag);
        const mid = (v + halfValue(sign | (mag + 1))) / 2; // exact in float32: one more bit than a half
        expect(Math.fround(mid)).toBe(mid);
        expect(toFloat16Bits(mid)).toBe(sign | (mag % 2 === 0 ? mag : mag + 1));
      }),
      { numRuns: 2000 },
    );
  });

  it('a model saved with float16 weights is half the size, loads with tfjs, and predicts within the rounding', async () => {
    const before = tf.memory().numTensors;
    const model = buildModel({ arch: 'resnet', depth: 8, width: 0.25, seed: 5, regularizer: 'l2' });
    const full = join(root, 'f32');
    const half = join(root, 'f16');
    await saveModel(model, full);
    await saveModel(model, half, undefined, {}, { weights: 'float16' });
    expect(statSync(join(half, 'weights.bin')).size * 2).toBe(statSync(join(full, 'weights.bin')).size);
    const manifest = JSON.parse(readFileSync(join(half, 'model.json'), 'utf8')).weightsManifest[0].weights;
    expect(manifest.every((w: tf.io.WeightsManifestEntry) => w.quantization?.dtype === 'float16')).toBe(true);

    const back = await loadModel(half);
    // Each loaded weight is its float32 value rounded to the nearest half.
    model.weights.forEach((w, i) => {
      const original = w.read().dataSync() as Float32Array;
      const loaded = back.weights[i]!.read().dataSync() as Float32Array;
      expect(Array.from(loaded)).toEqual(Array.from(tfjsDecode(float32ToFloat16(original))));
    });
    // Float16 keeps 11 significant bits: outputs move by about 1e-3 of their size, not more.
    expect(predictionRelErr(back, model)).toBeLessThan(1e-2);
    model.dispose();
    back.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
