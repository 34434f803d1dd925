import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CIFAR_RECORD_BYTES, encodeCifarBinary, readCifarBinary } from './cifarBinary.js';

const root = mkdtempSync(join(tmpdir(), 'cifar-bin-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function batch(n: number, seed: number): { pixels: Uint8Array; labels: Uint8Array } {
  const pixels = new Uint8Array(n * 3072);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 31 + seed * 7) % 256;
  const labels = Uint8Array.from({ length: n }, (_, i) => (i + seed) % 10);
  return { pixels, labels };
}

function writeSplit(dir: string, files: Record<string, { pixels: Uint8Array; labels: Uint8Array }>): void {
  for (const [name, b] of Object.entries(files)) writeFileSync(join(dir, name), encodeCifarBinary(b.pixels, b.labels));
}

describe('CIFAR-10 binary reader', () => {
  it('reads the planar records back as channels-last images with labels and ids', () => {
    const dir = mkdtempSync(join(root, 'ok-'));
    const test = batch(7, 3);
    writeSplit(dir, { 'test_batch.bin': test });
    const ds = readCifarBinary(dir, 'test');
    expect(ds.size).toBe(7);
    expect([ds.height, ds.width, ds.channels]).toEqual([32, 32, 3]);
    expect(Array.from(ds.labels)).toEqual(Array.from(test.labels));
    expect(ds.pixels).toEqual(test.pixels);
    expect(ds.ids[2]).toBe('test_batch.bin#2');
    expect(ds.classNames[3]).toBe('cat');
  });

  it('puts the R plane in channel 0 (the official layout), byte for byte', () => {
    const dir = mkdtempSync(join(root, 'planes-'));
    const rec = new Uint8Array(CIFAR_RECORD_BYTES);
    rec[0] = 9;
    rec.fill(10, 1, 1025);
    rec.fill(20, 1025, 2049);
    rec.fill(30, 2049);
    writeFileSync(join(dir, 'test_batch.bin'), rec);
    const samples = readCifarBinary(dir, 'test').toSamples();
    const px = samples.images.slice([0, 5, 5, 0], [1, 1, 1, 3]);
    expect(Array.from(px.dataSync()).map((v) => Math.round(v * 255))).toEqual([10, 20, 30]);
    expect(Array.from(samples.labels.dataSync())).toEqual([9]);
    px.dispose();
    samples.dispose();
  });

  it('round-trips any batch through encode and read', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1000 }), (n, seed) => {
        const dir = mkdtempSync(join(root, 'prop-'));
        const b = batch(n, seed);
        writeSplit(dir, { 'test_batch.bin': b });
        const ds = readCifarBinary(dir, 'test');
        return ds.pixels.every((v, i) => v === b.pixels[i]) && ds.labels.every((v, i) => v === b.labels[i]);
      }),
      { numRuns: 20 },
    );
  });

  it('reads the five training batches in order, and finds them through the tarball folder', () => {
    const dir = mkdtempSync(join(root, 'train-'));
    const inner = join(dir, 'cifar-10-batches-bin');
    mkdirSync(inner);
    writeSplit(inner, Object.fromEntries([1, 2, 3, 4, 5].map((k) => [`data_batch_${k}.bin`, batch(2, k)])));
    const ds = readCifarBinary(dir, 'train');
    expect(ds.size).toBe(10);
    expect(ds.ids[9]).toBe('data_batch_5.bin#1');
  });

  it('names a truncated file and the fix', () => {
    const dir = mkdtempSync(join(root, 'trunc-'));
    writeFileSync(join(dir, 'test_batch.bin'), encodeCifarBinary(batch(2, 1).pixels, batch(2, 1).labels).subarray(0, 5000));
    expect(() => readCifarBinary(dir, 'test')).toThrow(/test_batch\.bin is truncated.*3073-byte records.*--force/);
  });

  it('names a corrupt label', () => {
    const dir = mkdtempSync(join(root, 'label-'));
    const bytes = encodeCifarBinary(batch(2, 1).pixels, batch(2, 1).labels);
    bytes[CIFAR_RECORD_BYTES] = 42;
    writeFileSync(join(dir, 'test_batch.bin'), bytes);
    expect(() => readCifarBinary(dir, 'test')).toThrow(/test_batch\.bin is corrupt: record 1 has label 42/);
  });

  it('lists the missing batches of an incomplete split, and says how to get them', () => {
    const dir = mkdtempSync(join(root, 'missing-'));
    writeSplit(dir, { 'data_batch_1.bin': batch(1, 1) });
    expect(() => readCifarBinary(dir, 'train')).toThrow(/missing data_batch_2\.bin, data_batch_3\.bin/);
    const empty = mkdtempSync(join(root, 'empty-'));
    expect(() => readCifarBinary(empty, 'test')).toThrow(/No CIFAR-10 binary batches.*robustness data cifar10/);
  });

  it('leaves no tensors behind when making samples', () => {
    const dir = mkdtempSync(join(root, 'leak-'));
    writeSplit(dir, { 'test_batch.bin': batch(3, 0) });
    const before = tf.memory().numTensors;
    const s = readCifarBinary(dir, 'test').toSamples();
    s.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
