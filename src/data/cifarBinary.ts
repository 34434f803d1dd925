import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CIFAR10_CLASSES } from './classes.js';
import { ImageDataset } from './dataset.js';

/** One record of the official binary release: 1 label byte, then 1024 R, 1024 G, 1024 B bytes. */
export const CIFAR_RECORD_BYTES = 1 + 32 * 32 * 3;

export const CIFAR_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'] as const;
export const CIFAR_TEST_FILES = ['test_batch.bin'] as const;

/** The folder that holds the batch files, given it or its parent (the tarball's layout); else undefined. */
export function findCifarBinaryDir(dir: string): string | undefined {
  for (const d of [dir, join(dir, 'cifar-10-batches-bin')]) {
    if (existsSync(join(d, 'test_batch.bin')) || existsSync(join(d, 'data_batch_1.bin'))) return d;
  }
  return undefined;
}

/** Class names from batches.meta.txt when present and well-formed, else the canonical list. */
function readClassNames(dir: string): string[] {
  const meta = join(dir, 'batches.meta.txt');
  if (!existsSync(meta)) return [...CIFAR10_CLASSES];
  const names = readFileSync(meta, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  return names.length === 10 ? names : [...CIFAR10_CLASSES];
}

/**
 * Reads CIFAR-10 binary batch files (`cifar-10-batches-bin`) into an {@link ImageDataset} of
 * 32x32x3 images, converting the planar R,G,B layout to channels-last.
 *
 * @param dir the `cifar-10-batches-bin` folder, or its parent.
 * @param split 'train' reads data_batch_1..5.bin, 'test' reads test_batch.bin.
 */
export function readCifarBinary(dir: string, split: 'train' | 'test'): ImageDataset {
  const root = findCifarBinaryDir(dir);
  const files = split === 'train' ? CIFAR_TRAIN_FILES : CIFAR_TEST_FILES;
  if (!root) {
    throw new Error(`No CIFAR-10 binary batches in ${dir}: expected ${files.join(', ')} there or in ${join(dir, 'cifar-10-batches-bin')}. Run \`npx robustness data cifar10\` to download them.`);
  }
  const missing = files.filter((f) => !existsSync(join(root, f)));
  if (missing.length) {
    throw new Error(`CIFAR-10 ${split} split in ${root} is incomplete: missing ${missing.join(', ')}. Re-download with \`npx robustness data cifar10 --force\`.`);
  }
  let total = 0;
  for (const f of files) {
    const size = statSync(join(root, f)).size;
    if (size === 0 || size % CIFAR_RECORD_BYTES !== 0) {
      throw new Error(
        `${join(root, f)} is truncated or not a CIFAR-10 binary batch: its ${size} bytes are not a whole number of ${CIFAR_RECORD_BYTES}-byte records (1 label byte + 3072 pixel bytes). Re-download with \`npx robustness data cifar10 --force\`.`,
      );
    }
    total += size / CIFAR_RECORD_BYTES;
  }
  const classNames = readClassNames(root);
  const pixels = new Uint8Array(total * 3072);
  const labels = new Uint8Array(total);
  const ids: string[] = new Array(total);
  let n = 0;
  for (const f of files) {
    const path = join(root, f);
    const buf = readFileSync(path);
    const records = buf.length / CIFAR_RECORD_BYTES;
    for (let r = 0; r < records; r++, n++) {
      const off = r * CIFAR_RECORD_BYTES;
      const label = buf[off]!;
      if (label >= classNames.length) {
        throw new Error(`${path} is corrupt: record ${r} has label ${label}, but CIFAR-10 labels are 0..9. Re-download with \`npx robustness data cifar10 --force\`.`);
      }
      labels[n] = label;
      ids[n] = `${basename(f)}#${r}`;
      const dst = n * 3072;
      for (let p = 0; p < 1024; p++) {
        pixels[dst + p * 3] = buf[off + 1 + p]!;
        pixels[dst + p * 3 + 1] = buf[off + 1 + 1024 + p]!;
        pixels[dst + p * 3 + 2] = buf[off + 1 + 2048 + p]!;
      }
    }
  }
  return new ImageDataset(pixels, labels, ids, classNames, 32, 32, 3);
}

/** Encodes 32x32x3 channels-last images and labels as CIFAR-10 binary records (for tests and exports). */
export function encodeCifarBinary(pixels: Uint8Array, labels: ArrayLike<number>): Uint8Array {
  const n = labels.length;
  if (pixels.length !== n * 3072) throw new Error(`encodeCifarBinary: ${pixels.length} bytes are not ${n} images of 32x32x3.`);
  const out = new Uint8Array(n * CIFAR_RECORD_BYTES);
  for (let i = 0; i < n; i++) {
    const off = i * CIFAR_RECORD_BYTES;
    out[off] = labels[i]!;
    for (let p = 0; p < 1024; p++) {
      for (let c = 0; c < 3; c++) out[off + 1 + c * 1024 + p] = pixels[i * 3072 + p * 3 + c]!;
    }
  }
  return out;
}
