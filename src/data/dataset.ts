import * as tf from '@tensorflow/tfjs';
import { makeSamples, type Samples } from './samples.js';
import { mulberry32, shuffleInPlace } from '../util/random.js';

/**
 * Decoded images held once in memory as 8-bit HWC pixels (50,000 CIFAR-10 images take 150 MB),
 * from which float tensors are cut per batch. This is what makes an epoch cheap: nothing is
 * decoded twice.
 */
export class ImageDataset {
  readonly size: number;

  /**
   * @param pixels N*H*W*C bytes, image-major, row-major, channels last.
   * @param labels one class index per image.
   * @param source where the images came from, stated beside any figure computed on them
   *   (e.g. 'CIFAR-10, JPEG q75 copy'); Samples drawn from the dataset carry it into records.
   */
  constructor(
    readonly pixels: Uint8Array,
    readonly labels: Uint8Array | Int32Array,
    readonly ids: readonly string[],
    readonly classNames: readonly string[],
    readonly height: number,
    readonly width: number,
    readonly channels: number,
    readonly source?: string,
  ) {
    this.size = labels.length;
    const per = height * width * channels;
    if (pixels.length !== this.size * per) {
      throw new Error(`ImageDataset: ${pixels.length} pixel bytes do not make ${this.size} images of ${height}x${width}x${channels}.`);
    }
    if (ids.length !== this.size) throw new Error(`ImageDataset: ${ids.length} ids for ${this.size} images.`);
  }

  /** Images per class, in class order. */
  classCounts(): number[] {
    const counts = new Array<number>(this.classNames.length).fill(0);
    for (const l of this.labels) counts[l]!++;
    return counts;
  }

  /**
   * A deterministic, class-stratified choice of `count` indices: each class gets count/k images
   * (the remainder going to the first classes), drawn by a seeded shuffle within the class.
   */
  stratifiedIndices(options: { count?: number; seed?: number; classes?: readonly (string | number)[] } = {}): Int32Array {
    const classIdx = resolveClasses(options.classes, this.classNames);
    const byClass = new Map<number, number[]>(classIdx.map((c) => [c, []]));
    for (let i = 0; i < this.size; i++) byClass.get(this.labels[i]!)?.push(i);
    const available = classIdx.reduce((s, c) => s + byClass.get(c)!.length, 0);
    const count = options.count ?? available;
    if (!Number.isInteger(count) || count <= 0) throw new RangeError(`count must be a positive integer, got ${count}.`);
    if (count > available) {
      throw new RangeError(`Asked for ${count} images but the chosen classes hold only ${available}; lower count or add classes.`);
    }
    const rand = mulberry32(options.seed ?? 0);
    const k = classIdx.length;
    const quota = classIdx.map((_, j) => Math.floor(count / k) + (j < count % k ? 1 : 0));
    // A class short of its quota hands the rest to the others, so count is always met.
    let spill = 0;
    classIdx.forEach((c, j) => {
      const have = byClass.get(c)!.length;
      if (quota[j]! > have) {
        spill += quota[j]! - have;
        quota[j] = have;
      }
    });
    for (let j = 0; spill > 0 && j < k; j++) {
      const room = byClass.get(classIdx[j]!)!.length - quota[j]!;
      const take = Math.min(room, spill);
      quota[j]! += take;
      spill -= take;
    }
    const picked: number[] = [];
    classIdx.forEach((c, j) => {
      const pool = byClass.get(c)!.slice();
      shuffleInPlace(pool, rand);
      picked.push(...pool.slice(0, quota[j]));
    });
    // Interleave classes deterministically so that any prefix is roughly balanced too.
    const order = Int32Array.from(picked);
    shuffleInPlace(order, rand);
    return order;
  }

  /** Float32 [n,H,W,C] in [0,1] for the given indices. */
  imagesTensor(indices: ArrayLike<number>): tf.Tensor4D {
    const per = this.height * this.width * this.channels;
    const out = new Float32Array(indices.length * per);
    for (let j = 0; j < indices.length; j++) {
      const src = indices[j]! * per;
      const dst = j * per;
      for (let p = 0; p < per; p++) out[dst + p] = this.pixels[src + p]! / 255;
    }
    return tf.tensor4d(out, [indices.length, this.height, this.width, this.channels], 'float32');
  }

  labelsTensor(indices: ArrayLike<number>): tf.Tensor1D {
    return tf.tensor1d(Int32Array.from(indices, (i) => this.labels[i]!), 'int32');
  }

  /** Samples (tensors owned by the caller) for the given indices, or for all images. */
  toSamples(indices?: ArrayLike<number>): Samples {
    const idx = indices ?? Int32Array.from({ length: this.size }, (_, i) => i);
    return makeSamples(this.imagesTensor(idx), this.labelsTensor(idx), {
      ids: Array.from(idx, (i) => this.ids[i]!),
      classNames: this.classNames,
      source: this.source,
    });
  }

  /**
   * One dataset holding the images of all `parts` in order (bytes copied). The parts must agree
   * on image size and class names.
   * @example const augmented = ImageDataset.concat([clean, adversarial]);
   */
  static concat(parts: readonly ImageDataset[]): ImageDataset {
    const first = parts[0];
    if (!first) throw new Error('ImageDataset.concat needs at least one dataset.');
    for (const p of parts) {
      if (p.height !== first.height || p.width !== first.width || p.channels !== first.channels) {
        throw new Error(`ImageDataset.concat: images of ${p.height}x${p.width}x${p.channels} cannot join images of ${first.height}x${first.width}x${first.channels}; resize one set first.`);
      }
      if (p.classNames.length !== first.classNames.length || p.classNames.some((c, i) => c !== first.classNames[i])) {
        throw new Error(`ImageDataset.concat: class names differ (${p.classNames.join(', ')} vs ${first.classNames.join(', ')}); the labels would mean different classes.`);
      }
    }
    const size = parts.reduce((n, p) => n + p.size, 0);
    const pixels = new Uint8Array(size * first.height * first.width * first.channels);
    const labels = new Int32Array(size);
    const ids: string[] = [];
    let at = 0;
    for (const p of parts) {
      pixels.set(p.pixels, at * first.height * first.width * first.channels);
      labels.set(p.labels, at);
      ids.push(...p.ids);
      at += p.size;
    }
    const sources = [...new Set(parts.map((p) => p.source).filter((x): x is string => x !== undefined))];
    return new ImageDataset(pixels, labels, ids, first.classNames, first.height, first.width, first.channels, sources.length ? sources.join(' + ') : undefined);
  }

  /** A new dataset holding only the given images (shares no tensors; copies bytes). */
  subset(indices: ArrayLike<number>): ImageDataset {
    const per = this.height * this.width * this.channels;
    const pixels = new Uint8Array(indices.length * per);
    for (let j = 0; j < indices.length; j++) pixels.set(this.pixels.subarray(indices[j]! * per, (indices[j]! + 1) * per), j * per);
    return new ImageDataset(
      pixels,
      Int32Array.from(indices, (i) => this.labels[i]!),
      Array.from(indices, (i) => this.ids[i]!),
      this.classNames,
      this.height,
      this.width,
      this.channels,
      this.source,
    );
  }

  /** The same images (shared, not copied) with their provenance stated. */
  withSource(source: string): ImageDataset {
    return new ImageDataset(this.pixels, this.labels, this.ids, this.classNames, this.height, this.width, this.channels, source);
  }

  /**
   * Batches for one epoch: `{ xs, ys, indices }`, float images and int32 labels, shuffled with
   * the seed when asked. The caller disposes each batch's tensors.
   */
  *batches(options: { batchSize: number; shuffle?: boolean; seed?: number; dropRemainder?: boolean }): Generator<{ xs: tf.Tensor4D; ys: tf.Tensor1D; indices: Int32Array }> {
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}.`);
    const order = Int32Array.from({ length: this.size }, (_, i) => i);
    if (options.shuffle) shuffleInPlace(order, mulberry32(options.seed ?? 0));
    for (let start = 0; start < this.size; start += batchSize) {
      const indices = order.subarray(start, Math.min(this.size, start + batchSize));
      if (options.dropRemainder && indices.length < batchSize) break;
      yield { xs: this.imagesTensor(indices), ys: this.labelsTensor(indices), indices: Int32Array.from(indices) };
    }
  }
}

/** Class names or indices to indices, with an error that lists the known classes. */
export function resolveClasses(classes: readonly (string | number)[] | undefined, classNames: readonly string[]): number[] {
  if (!classes) return classNames.map((_, i) => i);
  if (classes.length === 0) throw new RangeError('classes is empty: name at least one class, or leave it out for all.');
  return classes.map((c) => {
    const i = typeof c === 'number' ? c : classNames.indexOf(c);
    if (!Number.isInteger(i) || i < 0 || i >= classNames.length) {
      throw new RangeError(`Unknown class ${JSON.stringify(c)}. Known classes: ${classNames.map((n, j) => `${j}=${n}`).join(', ')}.`);
    }
    return i;
  });
}
