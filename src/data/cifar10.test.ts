import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeCifarBinary } from './cifarBinary.js';
import { cifar10, cifar10Dataset, locateCifar10 } from './cifar10.js';
import { listImageFolder } from './imageFolder.js';

const root = mkdtempSync(join(tmpdir(), 'cifar10-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('cifar10', () => {
  it('finds the binary layout through dir and draws stratified samples', async () => {
    const dir = join(root, 'bin');
    mkdirSync(dir);
    const labels = Array.from({ length: 40 }, (_, i) => i % 10);
    writeFileSync(join(dir, 'test_batch.bin'), encodeCifarBinary(Uint8Array.from({ length: 40 * 3072 }, (_, i) => i % 256), labels));
    expect(locateCifar10(dir)).toMatchObject({ kind: 'binary', caveat: 'CIFAR-10, official binary release' });
    const before = tf.memory().numTensors;
    const s = await cifar10.test({ count: 20, seed: 1, dir });
    expect(s.images.shape).toEqual([20, 32, 32, 3]);
    const counts = new Array(10).fill(0);
    for (const l of await s.labels.data()) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(2));
    const cats = await cifar10.test({ count: 4, seed: 1, dir, classes: ['cat'] });
    expect(Array.from(await cats.labels.data())).toEqual([3, 3, 3, 3]);
    s.dispose();
    cats.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('says what to do when CIFAR10_DIR points at nothing useful, or nothing is set', () => {
    const empty = mkdtempSync(join(root, 'empty-'));
    expect(() => locateCifar10(empty)).toThrow(/holds neither CIFAR-10 binary batches.*nor image folders/);
    const saved = { dir: process.env.CIFAR10_DIR, cache: process.env.ROBUSTNESS_CACHE };
    try {
      delete process.env.CIFAR10_DIR;
      process.env.ROBUSTNESS_CACHE = empty;
      expect(() => locateCifar10()).toThrow(/CIFAR-10 not found.*npx robustness data cifar10.*CIFAR10_DIR/);
    } finally {
      if (saved.dir) process.env.CIFAR10_DIR = saved.dir;
      if (saved.cache) process.env.ROBUSTNESS_CACHE = saved.cache;
      else delete process.env.ROBUSTNESS_CACHE;
    }
  });
});

// The shared JPEG copy (the test setup points CIFAR10_DIR at it when it sits beside the checkout).
const shared = process.env.CIFAR10_DIR;
describe.runIf(shared && existsSync(join(shared, 'test')))('the shared CIFAR-10 JPEG copy', () => {
  it('has 5,000 test and 50,000 training images, balanced over the ten classes', () => {
    const src = locateCifar10();
    expect(src).toMatchObject({ kind: 'folder', caveat: 'CIFAR-10, JPEG q75 copy' });
    const test = cifar10Dataset('test');
    expect(test.size).toBe(5000);
    expect(test.classCounts()).toEqual(new Array(10).fill(500));
    expect([test.height, test.width, test.channels]).toEqual([32, 32, 3]);
    const train = listImageFolder(src.dir, 'train', { classNames: cifar10.classNames });
    expect(train.files.length).toBe(50_000);
    const counts = new Array(10).fill(0);
    for (const f of train.files) counts[f.label]++;
    expect(counts).toEqual(new Array(10).fill(5000));
  });
});
