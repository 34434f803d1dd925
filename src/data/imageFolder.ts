import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { cacheDir } from './cacheDir.js';
import { ImageDataset } from './dataset.js';
import { readDatasetCache, writeDatasetCache } from './datasetCache.js';
import { decodeImage } from './decodeImage.js';
import { createProgress } from '../util/progress.js';

const IMAGE_EXT = /\.(png|jpe?g)$/i;

export interface ImageFolderOptions {
  /**
   * The class names in label order. Given, every class folder must be one of them (CIFAR-10's
   * layout); left out, the sorted folder names are the classes.
   */
  classNames?: readonly string[];
  /** Decoded-dataset cache; `false` disables it. @defaultValue `<cacheDir()>/decoded` */
  cache?: string | false;
  /** Show decoding progress on stderr. @defaultValue true */
  progress?: boolean;
}

interface Listing {
  classNames: string[];
  files: { path: string; rel: string; label: number }[];
  fingerprint: string;
}

/** Lists `<root>/<split>/<class>/*.{png,jpg,jpeg}` and checks the layout, without decoding. */
export function listImageFolder(root: string, split: string, options: Pick<ImageFolderOptions, 'classNames'> = {}): Listing {
  const dir = resolve(root, split);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(`Image folder ${dir} does not exist. Expected the layout <root>/${split}/<class>/*.png|jpg; point CIFAR10_DIR (or the dir option) at <root>.`);
  }
  const folders = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (folders.length === 0) throw new Error(`${dir} has no class folders. Expected <root>/${split}/<class>/*.png|jpg, one folder per class.`);
  const classNames = options.classNames ? [...options.classNames] : folders;
  const unknown = folders.filter((f) => !classNames.includes(f));
  if (unknown.length) {
    throw new Error(`Unknown class folder${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `'${u}'`).join(', ')} in ${dir}. Expected only ${classNames.join(', ')}; remove or rename ${unknown.length > 1 ? 'them' : 'it'}.`);
  }
  const files: Listing['files'] = [];
  const hash = createHash('sha1').update(`${dir}\n${classNames.join(',')}\n`);
  for (const folder of folders) {
    const label = classNames.indexOf(folder);
    const names = readdirSync(join(dir, folder)).filter((n) => IMAGE_EXT.test(n)).sort();
    if (names.length === 0) throw new Error(`Class folder ${join(dir, folder)} holds no .png or .jpg images. Add images or remove the folder.`);
    for (const name of names) {
      const path = join(dir, folder, name);
      const st = statSync(path);
      hash.update(`${folder}/${name}:${st.size}:${Math.round(st.mtimeMs)}\n`);
      files.push({ path, rel: `${split}/${folder}/${name}`, label });
    }
  }
  return { classNames, files, fingerprint: hash.digest('hex') };
}

/**
 * The error for images of different sizes, naming the odd ones out: the size most files share
 * is the dataset's (the first file may be the odd one), so every file is read to count. Only
 * the error path pays for that.
 */
function sizeMismatch(files: Listing['files'], at: number, first: { width: number; height: number }, img: { width: number; height: number }): Error {
  const sizeOf = new Map<string, string[]>();
  const add = (key: string, path: string) => sizeOf.set(key, [...(sizeOf.get(key) ?? []), path]);
  for (let i = 0; i < files.length; i++) {
    const d = i === 0 ? first : i === at ? img : decodeImage(readFileSync(files[i]!.path), files[i]!.path);
    add(`${d.width}x${d.height}`, files[i]!.path);
  }
  // Most files decide; on a tie, the first file's size.
  const firstKey = `${first.width}x${first.height}`;
  const [common] = [...sizeOf.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] === firstKey ? -1 : b[0] === firstKey ? 1 : 0))[0]!;
  const odd = [...sizeOf.entries()].filter(([k]) => k !== common).flatMap(([k, paths]) => paths.map((p) => `${p} is ${k}`));
  const shown = odd.slice(0, 5).join('; ') + (odd.length > 5 ? `; and ${odd.length - 5} more` : '');
  return new Error(`${shown}, but ${sizeOf.get(common)!.length} of the ${files.length} images of this dataset are ${common}. Resize ${odd.length > 1 ? 'them' : 'it'} to ${common} or remove ${odd.length > 1 ? 'them' : 'it'}.`);
}

/**
 * Reads an image folder split into an {@link ImageDataset}. Images are decoded once and cached
 * as one binary file (keyed by the files' names, sizes and times), so later runs and epochs
 * read bytes instead of decoding JPEGs again. All images must share the first image's size.
 *
 * @example
 * const test = readImageFolder(process.env.CIFAR10_DIR!, 'test', { classNames: CIFAR10_CLASSES });
 */
export function readImageFolder(root: string, split: string, options: ImageFolderOptions = {}): ImageDataset {
  const listing = listImageFolder(root, split, options);
  const cache = options.cache === false ? undefined : (options.cache ?? join(cacheDir(), 'decoded'));
  const prefix = `${basename(resolve(root))}-${split}-`;
  const cachePath = cache && join(cache, `${prefix}${listing.fingerprint.slice(0, 16)}.rds`);
  const cached = cachePath ? readDatasetCache(cachePath, listing.fingerprint) : undefined;
  if (cached) return cached;

  const { files } = listing;
  const progress = options.progress === false ? undefined : createProgress({ label: `decoding ${split} images`, total: files.length });
  const first = decodeImage(readFileSync(files[0]!.path), files[0]!.path);
  const { width, height } = first;
  const per = width * height * 3;
  const pixels = new Uint8Array(files.length * per);
  const labels = new Uint8Array(files.length);
  const wide = listing.classNames.length > 256;
  const labels32 = wide ? new Int32Array(files.length) : undefined;
  files.forEach((f, i) => {
    const img = i === 0 ? first : decodeImage(readFileSync(f.path), f.path);
    if (img.width !== width || img.height !== height) throw sizeMismatch(files, i, { width, height }, img);
    pixels.set(img.data, i * per);
    if (labels32) labels32[i] = f.label;
    else labels[i] = f.label;
    if (i % 500 === 0) progress?.update(i);
  });
  progress?.done();
  const ds = new ImageDataset(pixels, labels32 ?? labels, files.map((f) => f.rel), listing.classNames, height, width, 3);
  if (cache && cachePath) {
    writeDatasetCache(cachePath, ds, listing.fingerprint);
    // Earlier decodes of the same folder and split are stale now: keep the cache from growing.
    for (const f of readdirSync(cache)) {
      if (f.startsWith(prefix) && f.endsWith('.rds') && join(cache, f) !== cachePath) rmSync(join(cache, f), { force: true });
    }
  }
  return ds;
}
