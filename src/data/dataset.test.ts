import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ImageDataset } from './dataset.js';

function dataset(perClass: number[]): ImageDataset {
  const n = perClass.reduce((a, b) => a + b, 0);
  const labels = new Uint8Array(n);
  let k = 0;
  perClass.forEach((c, cls) => {
    for (let i = 0; i < c; i++) labels[k++] = cls;
  });
  const pixels = Uint8Array.from({ length: n * 12 }, (_, i) => i % 256);
  return new ImageDataset(pixels, labels, Array.from({ length: n }, (_, i) => `img${i}`), perClass.map((_, i) => `c${i}`), 2, 2, 3);
}

describe('ImageDataset', () => {
  it('draws deterministic, class-stratified, duplicate-free samples', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 3, max: 30 }), { minLength: 2, maxLength: 6 }), fc.integer(), (perClass, seed) => {
        const ds = dataset(perClass);
        const k = perClass.length;
        const count = Math.min(...perClass) * k;
        const a = ds.stratifiedIndices({ count, seed });
        expect(Array.from(ds.stratifiedIndices({ count, seed }))).toEqual(Array.from(a));
        expect(new Set(a).size).toBe(count);
        const counts = new Array(k).fill(0);
        for (const i of a) counts[ds.labels[i]!]++;
        expect(counts.every((c) => c === count / k)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('meets the count even when a class is short, and filters classes by name or index', () => {
    const ds = dataset([2, 50, 50]);
    const idx = ds.stratifiedIndices({ count: 30, seed: 1 });
    expect(idx.length).toBe(30);
    const only = ds.stratifiedIndices({ count: 10, seed: 1, classes: ['c1', 2] });
    expect(Array.from(only).every((i) => ds.labels[i] !== 0)).toBe(true);
    expect(() => ds.stratifiedIndices({ classes: ['c9'] })).toThrow(/Unknown class "c9". Known classes: 0=c0, 1=c1, 2=c2/);
    expect(() => ds.stratifiedIndices({ count: 103 })).toThrow(/only 102/);
    expect(() => ds.stratifiedIndices({ count: 0 })).toThrow(/positive integer/);
  });

  it('gives every image once per epoch, shuffled by seed, and leaks nothing', () => {
    const ds = dataset([5, 6, 7]);
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    for (const b of ds.batches({ batchSize: 4, shuffle: true, seed: 3 })) {
      expect(b.xs.shape.slice(1)).toEqual([2, 2, 3]);
      expect(b.ys.dtype).toBe('int32');
      seen.push(...b.indices);
      tf.dispose([b.xs, b.ys]);
    }
    expect(seen.slice().sort((a, b) => a - b)).toEqual(Array.from({ length: 18 }, (_, i) => i));
    expect(seen).not.toEqual(Array.from({ length: 18 }, (_, i) => i));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('scales pixels to [0, 1] and keeps ids with their images', async () => {
    const ds = dataset([1, 1]);
    const s = ds.toSamples([1]);
    expect(s.ids).toEqual(['img1']);
    expect(Array.from(await s.images.data()).map((v) => Math.round(v * 255))).toEqual(Array.from({ length: 12 }, (_, i) => 12 + i));
    const one = s.at(0);
    expect(() => s.at(1)).toThrow(/out of range/);
    tf.dispose([s.images, s.labels, one.images, one.labels]);
  });
});
