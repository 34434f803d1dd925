import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCifarBinary } from './cifarBinary.js';
import { CIFAR10_CLASSES } from './classes.js';
import { ImageDataset } from './dataset.js';

/** Images in the sample shipped with the package, and the seed of the draw that chose them. */
export const EMBEDDED_SAMPLE_COUNT = 200;
export const EMBEDDED_SAMPLE_SEED = 1;

/** The provenance every figure computed on the sample carries. */
export const EMBEDDED_SAMPLE_CAVEAT = `CIFAR-10, embedded ${EMBEDDED_SAMPLE_COUNT}-image sample (JPEG q75 copy)`;

/**
 * `assets/cifar10-sample/` at the package root. The same relative path holds from src/data/
 * (tests, the project's own specs) and from dist/data/ (the installed package).
 */
export const EMBEDDED_SAMPLE_DIR = fileURLToPath(new URL('../../assets/cifar10-sample/', import.meta.url));

let loaded: ImageDataset | undefined;

/**
 * The 200 CIFAR-10 test images (20 per class) shipped inside the package, made by
 * scripts/make-cifar10-sample.ts from the JPEG q75 copy's test half. Ids name each image's
 * source file in that copy.
 */
export function readEmbeddedSample(): ImageDataset {
  if (loaded) return loaded;
  const dir = EMBEDDED_SAMPLE_DIR;
  const damaged = (what: string) => new Error(`The embedded CIFAR-10 sample in ${dir} ${what}: the package is damaged. Reinstall vitest-robustness, or regenerate it with \`npx tsx scripts/make-cifar10-sample.ts\` in a checkout.`);
  if (!existsSync(join(dir, 'test_batch.bin'))) throw damaged('is missing');
  const ds = readCifarBinary(dir, 'test');
  const ids = readFileSync(join(dir, 'ids.txt'), 'utf8').split('\n').filter(Boolean);
  const perClass = EMBEDDED_SAMPLE_COUNT / CIFAR10_CLASSES.length;
  if (ds.size !== EMBEDDED_SAMPLE_COUNT || ds.classCounts().some((c) => c !== perClass)) throw damaged(`holds ${ds.size} images (${ds.classCounts().join('/')} per class), not ${perClass} of each class`);
  if (ids.length !== ds.size) throw damaged(`names ${ids.length} source images for ${ds.size} records`);
  loaded = new ImageDataset(ds.pixels, ds.labels, ids.map((id) => `embedded:${id}`), ds.classNames, 32, 32, 3, EMBEDDED_SAMPLE_CAVEAT);
  return loaded;
}
