import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cacheDir } from './cacheDir.js';
import { findCifarBinaryDir, readCifarBinary } from './cifarBinary.js';
import { CIFAR10_CLASSES } from './classes.js';
import type { ImageDataset } from './dataset.js';
import { cifar10Remote, downloadCifar10 } from './download.js';
import { EMBEDDED_SAMPLE_CAVEAT, EMBEDDED_SAMPLE_COUNT, readEmbeddedSample } from './embeddedSample.js';
import { readImageFolder } from './imageFolder.js';
import type { Samples } from './samples.js';

export type Split = 'train' | 'test';

const BINARY_CAVEAT = 'CIFAR-10, official binary release';

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
    if (bin) return { kind: 'binary', dir: bin, caveat: BINARY_CAVEAT };
    if (existsSync(join(d, 'test')) || existsSync(join(d, 'train'))) {
      const jpeg = /jpe?g/i.test(d);
      return { kind: 'folder', dir: d, caveat: jpeg ? 'CIFAR-10, JPEG q75 copy' : 'CIFAR-10, image-folder copy' };
    }
  }
  if (given) {
    throw new Error(`CIFAR10_DIR=${given} holds neither CIFAR-10 binary batches (test_batch.bin, data_batch_1..5.bin) nor image folders (train/<class>/*.jpg, test/<class>/*.jpg). Point it at one of those layouts.`);
  }
  throw new Error(`CIFAR-10 not found: no CIFAR10_DIR is set and nothing is in ${candidates[0]}. Run \`npx robustness data cifar10\` to download it (cifar10.test() and cifar10.dataset() do so on first use), or set CIFAR10_DIR to a folder in either layout.`);
}

const loaded = new Map<string, ImageDataset>();

function readSplit(src: Cifar10Source, split: Split): ImageDataset {
  const key = `${src.kind}:${src.dir}:${split}`;
  let ds = loaded.get(key);
  if (!ds) {
    const raw = src.kind === 'binary' ? readCifarBinary(src.dir, split) : readImageFolder(src.dir, split, { classNames: CIFAR10_CLASSES });
    ds = raw.withSource(src.caveat);
    loaded.set(key, ds);
  }
  return ds;
}

/**
 * The whole split from what is on disk (`dir`, `CIFAR10_DIR` or the cache), decoded once per
 * process (and, for image folders, cached on disk). Never downloads: `cifar10.dataset()` does.
 */
export function cifar10Dataset(split: Split, dir?: string): ImageDataset {
  return readSplit(locateCifar10(dir), split);
}

/** `ROBUSTNESS_OFFLINE` set to anything but '', '0' or 'false' forbids the first-use download. */
export function isOffline(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.ROBUSTNESS_OFFLINE;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** Why the full set could not be had, per cache and address: a worker asks the network once. */
const unreachable = new Map<string, string>();
const downloading = new Map<string, Promise<string>>();

/**
 * Finds the full CIFAR-10, downloading it into the cache on first use; or, when that cannot be
 * had, the reason (for the embedded sample's caveat and the error that names the way out).
 */
async function obtainCifar10(dir?: string): Promise<Cifar10Source | { missing: string }> {
  if (dir ?? process.env.CIFAR10_DIR) return locateCifar10(dir);
  const cache = cacheDir();
  const cached = findCifarBinaryDir(join(cache, 'cifar-10-batches-bin'));
  if (cached) return { kind: 'binary', dir: cached, caveat: BINARY_CAVEAT };
  if (isOffline()) return { missing: `ROBUSTNESS_OFFLINE=${process.env.ROBUSTNESS_OFFLINE} forbids the download and nothing is in ${join(cache, 'cifar-10-batches-bin')}` };
  const { url } = cifar10Remote();
  const key = `${cache}\n${url}`;
  const failed = unreachable.get(key);
  if (failed) return { missing: failed };
  let pending = downloading.get(key);
  if (!pending) {
    pending = downloadCifar10({ cache });
    downloading.set(key, pending);
  }
  try {
    return { kind: 'binary', dir: await pending, caveat: BINARY_CAVEAT };
  } catch (err) {
    const why = `the first-use download failed: ${(err as Error).message}`;
    unreachable.set(key, why);
    return { missing: why };
  } finally {
    downloading.delete(key);
  }
}

let warned = false;

/** The way to the full set, for messages. */
function howToGetFull(): string {
  const offline = isOffline() ? 'unset ROBUSTNESS_OFFLINE and run again with network (the full set is then downloaded into the cache once)' : 'run again with network (the full set is then downloaded into the cache once)';
  return `To get the full set: ${offline}, or run \`npx robustness data cifar10\`, or set CIFAR10_DIR to a copy in either layout (binary batches or <split>/<class>/*.jpg).`;
}

/** The embedded sample when it can serve the request; else an error that says what to do. */
function fromEmbedded(split: Split, missing: string, options: Cifar10Options | 'all'): ImageDataset {
  const sample = readEmbeddedSample();
  const refuse = (what: string) =>
    new Error(`CIFAR-10 not found: no CIFAR10_DIR is set, and ${missing}. The embedded ${EMBEDDED_SAMPLE_COUNT}-image sample (${EMBEDDED_SAMPLE_COUNT / CIFAR10_CLASSES.length} test images per class) cannot serve ${what}. ${howToGetFull()}`);
  if (split !== 'test') throw refuse(`the ${split} split: it holds test images only`);
  if (options === 'all' || options.count === undefined) throw refuse('the whole test split');
  const classes = options.classes ? ` of ${options.classes.join(', ')}` : '';
  const holds = sample.stratifiedIndices({ classes: options.classes }).length;
  if (options.count > holds) throw refuse(`${options.count} images${classes}: it holds ${holds}`);
  if (!warned && !process.env.ROBUSTNESS_QUIET) {
    warned = true;
    process.stderr.write(`[vitest-robustness] CIFAR-10: using the embedded ${EMBEDDED_SAMPLE_COUNT}-image sample, because ${missing}. Every check on it is marked "${EMBEDDED_SAMPLE_CAVEAT}". ${howToGetFull()}\n`);
  }
  return sample;
}

async function splitFor(split: Split, options: Cifar10Options | 'all', dir?: string): Promise<ImageDataset> {
  const src = await obtainCifar10(dir);
  return 'missing' in src ? fromEmbedded(split, src.missing, options) : readSplit(src, split);
}

async function draw(split: Split, options: Cifar10Options): Promise<Samples> {
  const ds = await splitFor(split, options, options.dir);
  return ds.toSamples(ds.stratifiedIndices(options));
}

/**
 * CIFAR-10 as {@link Samples}: deterministic, class-stratified draws. The data is `dir`, else
 * `CIFAR10_DIR`, else the cache; with none of them, the official binary release is downloaded
 * into the cache on first use (once, also across processes), unless `ROBUSTNESS_OFFLINE` is set.
 * When none of that gives the full set, a draw that fits in the embedded 200-image sample comes
 * from it (its Samples and every record of a check on them say so); a larger one is an error.
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
    return splitFor(split, 'all', options.dir);
  },
  /**
   * A class-stratified draw from the embedded 200-image sample whatever else is available: the
   * same pixels on every machine, for checks that pin their input (a heatmap snapshot).
   * @example const first = await cifar10.sample({ count: 1 });
   */
  async sample(options: Omit<Cifar10Options, 'dir'> = {}): Promise<Samples> {
    const ds = readEmbeddedSample();
    return ds.toSamples(ds.stratifiedIndices(options));
  },
  locate: locateCifar10,
};
