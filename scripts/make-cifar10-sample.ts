// Makes assets/cifar10-sample/, the 200 CIFAR-10 test images shipped inside the package for runs
// that have neither CIFAR10_DIR, a download in the cache nor the network.
//
//   npx tsx scripts/make-cifar10-sample.ts [--from ../shared/datasets/cifar10-jpeg] [--out assets/cifar10-sample]
//
// Deterministic: the images are cifar10.test({ count: 200, seed: 1 }) drawn from the JPEG copy's
// test half (20 per class, decoded by the package's own JPEG decoder), in the order of that draw,
// so the sample holds exactly the images the example spec measures on the full copy, and its first
// image is that draw's first image. Output, in CIFAR-10's own binary layout:
//   test_batch.bin     200 records of 1 label byte + 1024 R + 1024 G + 1024 B bytes
//   batches.meta.txt   the class names, one a line
//   ids.txt            the source image of each record (test/<class>/<file> in the JPEG copy)
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CIFAR10_CLASSES } from '../src/data/classes.js';
import { encodeCifarBinary } from '../src/data/cifarBinary.js';
import { EMBEDDED_SAMPLE_COUNT, EMBEDDED_SAMPLE_SEED } from '../src/data/embeddedSample.js';
import { readImageFolder } from '../src/data/imageFolder.js';

const { values } = parseArgs({ options: { from: { type: 'string' }, out: { type: 'string' } } });
const from = resolve(values.from ?? '../shared/datasets/cifar10-jpeg');
const out = resolve(values.out ?? 'assets/cifar10-sample');

const test = readImageFolder(from, 'test', { classNames: CIFAR10_CLASSES, cache: false, progress: false });
const picked = test.subset(test.stratifiedIndices({ count: EMBEDDED_SAMPLE_COUNT, seed: EMBEDDED_SAMPLE_SEED }));
const perClass = picked.classCounts();
if (perClass.some((c) => c !== EMBEDDED_SAMPLE_COUNT / CIFAR10_CLASSES.length)) {
  throw new Error(`${from}/test gave ${perClass.join('/')} images per class; the sample needs ${EMBEDDED_SAMPLE_COUNT / CIFAR10_CLASSES.length} of each.`);
}

// Written beside the target and swapped in whole, like every other folder this project places.
const staging = `${out}.${process.pid}.tmp`;
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
writeFileSync(join(staging, 'test_batch.bin'), encodeCifarBinary(picked.pixels, picked.labels));
writeFileSync(join(staging, 'batches.meta.txt'), `${CIFAR10_CLASSES.join('\n')}\n`);
writeFileSync(join(staging, 'ids.txt'), `${picked.ids.join('\n')}\n`);
rmSync(out, { recursive: true, force: true });
renameSync(staging, out);
console.log(`${out}: ${picked.size} images (${perClass.join('/')} per class) from ${from}/test; ${readdirSync(out).join(', ')}`);
