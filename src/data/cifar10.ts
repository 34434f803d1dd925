import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cacheDir } from './cacheDir.js';
import { findCifarBinaryDir, readCifarBinary } from './cifarBinary.js';
import { CIFAR10_CLASSES } from './classes.js';
import type { ImageDataset } from './dataset.js';
import { readImageFolder } from './imageFolder.js';
import type { Samples } from './samples.js';

export type Split = 'train' | 'test';

/** Where CIFAR-10 was found, and in which layout. */
export interface Cifar10Source {
  kind: 'binary' | 'folder';
  dir: string;
  /** Provenance to state beside any figure computed on it. */
  caveat: string;
}

export interface Cifar10Options {
  /** Images to draw, class-stratified; all of the split when left out. */
  count?: number;
  /** Seed of the draw. @defaultValue 0 */
  seed?: number;
  /** Only these classes (names or indices). */
  classes?: readonly (string | number)[];
  /** A folder in either layout; overrides `CIFAR10_DIR`. */
  dir?: string;
}

/**
 * Finds CIFAR-10: the `dir` given, else `CIFAR10_DIR`, else a download in the cache. Either
 * layout is accepted: the official binary batches (`cifar-10-batches-bin`) or image folders
 * `<dir>/<split>/<class>/*.jpg|png`.
 */
export function locateCifar10(dir?: string): Cifar10Source {
  const given = dir ?? process.env.CIFAR10_DIR;
  const candidates = given ? [resolve(given)] : [join(cacheDir(), 'cifar-10-batches-bin')];
  for (const d of candidates) {
    const bin = findCifarBinaryDir(d);
    if (bin) return { kind: 'binary', dir: bin, caveat: 'CIFAR-10, official binary release' };
    if (existsSync(join(d, 'test')) || existsSync(join(d, 'train'))) {
      const jpeg = /jpe?g/i.test(d);
      return { kind: 'folder', dir: d, caveat: jpeg ? 'CIFAR-10, JPEG q75 copy' : 'CIFAR-10, image-folder copy' };
    }
  }
  if (given) {
    throw new Error(`CIFAR10_DIR=${given} holds neither CIFAR-10 binary batches (test_batch.bin, data_batch_1..5.bin) nor image folders (train/<class>/*.jpg, test/<class>/*.jpg). Point it at one of those layouts.`);
  }
  throw new Error(`CIFAR-10 not found: no CIFAR10_DIR is set and nothing is in ${candidates[0]}. Run \`npx robustness data cifar10\` to download it, or set CIFAR10_DIR to a folder in either layout.`);
}

const loaded = new Map<string, ImageDataset>();

/** The whole split, decoded once per process (and, for image folders, cached on disk). */
export function cifar10Dataset(split: Split, dir?: string): ImageDataset {
  const src = locateCifar10(dir);
  const key = `${src.kind}:${src.dir}:${split}`;
  let ds = loaded.get(key);
  if (!ds) {
    ds = src.kind === 'binary' ? readCifarBinary(src.dir, split) : readImageFolder(src.dir, split, { classNames: CIFAR10_CLASSES });
    loaded.set(key, ds);
  }
  return ds;
}

function draw(split: Split, options: Cifar10Options): Samples {
  const ds = cifar10Dataset(split, options.dir);
  return ds.toSamples(ds.stratifiedIndices(options));
}

/**
 * CIFAR-10 as {@link Samples}: deterministic, class-stratified draws.
 *
 * @example
 * const samples = await cifar10.test({ count: 200, seed: 1 });
 * // ... samples.dispose() when done
 */
export const cifar10 = {
  classNames: CIFAR10_CLASSES,
  /** A class-stratified draw from the test split. */
  async test(options: Cifar10Options = {}): Promise<Samples> {
    return draw('test', options);
  },
  /** A class-stratified draw from the training split (for batches over an epoch use `dataset('train')`). */
  async train(options: Cifar10Options = {}): Promise<Samples> {
    return draw('train', options);
  },
  /** The whole split as an {@link ImageDataset}: 8-bit pixels in memory, float batches on demand. */
  async dataset(split: Split, options: Pick<Cifar10Options, 'dir'> = {}): Promise<ImageDataset> {
    return cifar10Dataset(split, options.dir);
  },
  locate: locateCifar10,
};
