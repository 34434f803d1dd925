import * as tf from '@tensorflow/tfjs';

/*
 * The one place that checks what attacks, attributions and matchers are given: image batches
 * (rank, dtype, at least one image, every pixel finite and in [0, 1]), labels (rank, one per
 * image, int32, inside the model's classes) and budgets (finite, > 0, at most the norm's largest
 * meaningful value). A matcher checks its samples, then hands the same tensors to an attack: the
 * device read-backs (the pixel range, the labels) are remembered per tensor, so one call reads
 * them once. Tensors cannot change once made; a tf.Variable can, so it is read every time.
 */

/** How a check names the inputs in its messages: a function's arguments, or a matcher's Samples. */
export interface InputNames {
  images: string;
  labels: string;
  /** The batch with its verb, for the count messages ('samples hold'). */
  batch: string;
}

/** Names for a function given `(x, y)`, as attacks and attributions are. */
export const ARGUMENT_NAMES: InputNames = { images: 'images', labels: 'labels', batch: 'the image batch holds' };

/** Names for a matcher given Samples. */
export const SAMPLES_NAMES: InputNames = { images: 'samples.images', labels: 'samples.labels', batch: 'samples hold' };

/** Largest meaningful budget for images of `size` values per sample: the box's diameter. */
export function maxEps(norm: 'linf' | 'l2', size: number): number {
  return norm === 'linf' ? 1 : Math.sqrt(size);
}

const described = (t: unknown): string => (t instanceof tf.Tensor ? `shape [${t.shape.join(', ')}]` : t === null ? 'null' : typeof t);

/** Throws unless `x` is a float32 [N, H, W, C] tensor with N >= 1 (no device read). */
export function checkImageBatch(name: string, x: unknown, names: InputNames = ARGUMENT_NAMES): asserts x is tf.Tensor4D {
  if (!(x instanceof tf.Tensor) || x.rank !== 4) {
    throw new Error(`${name}: ${names.images} must be a rank-4 tensor [N, H, W, C]; got ${described(x)}. Add a batch axis with x.expandDims(0) for a single image.`);
  }
  if (x.dtype !== 'float32') throw new Error(`${name}: ${names.images} must be float32 in [0, 1]; got ${x.dtype}. Use x.toFloat().div(255) for 8-bit pixels.`);
  // A check over no images passes vacuously; refuse it (a filter that matched nothing, count: 0).
  if (x.shape[0] < 1) throw new RangeError(`${name}: ${names.batch} 0 images, and a check on no images proves nothing. Draw some, e.g. cifar10.test({ count: 200, seed: 1 }).`);
}

/** Throws unless `y` is an int32 [n] tensor: one class index per image (no device read). */
export function checkLabelBatch(name: string, y: unknown, n: number, names: InputNames = ARGUMENT_NAMES): asserts y is tf.Tensor1D {
  if (!(y instanceof tf.Tensor) || y.rank !== 1) throw new Error(`${name}: ${names.labels} must be a rank-1 int32 tensor [N], one class index per image; got ${described(y)}.`);
  if (y.shape[0] !== n) throw new RangeError(`${name}: ${names.batch} ${n} images but labels of shape [${y.shape.join(', ')}]; give one int32 label per image, matching one to one.`);
  if (y.dtype !== 'int32') throw new TypeError(`${name}: ${names.labels} must be int32 class indices; got ${y.dtype}. Cast with labels.toInt().`);
}

const checkedRange = new WeakSet<tf.Tensor>();

/** Throws unless every pixel of `images` is finite and lies in [0, 1]; names the offending range. */
export async function assertUnitRange(images: tf.Tensor, what = 'images'): Promise<void> {
  if (checkedRange.has(images)) return;
  const [lo, hi, finite] = tf.tidy(() => [images.min(), images.max(), tf.all(tf.isFinite(images))]);
  try {
    const [min, max, ok] = await Promise.all([lo!.data(), hi!.data(), finite!.data()]);
    if (!(min[0]! >= 0 && max[0]! <= 1)) {
      throw new RangeError(`${what} must lie in [0, 1], but range over [${min[0]}, ${max[0]}]. Scale 8-bit pixels by 1/255 before testing.`);
    }
    if (!ok[0]) throw new RangeError(`${what} contain NaN or Infinity; every pixel must be a number in [0, 1].`);
  } finally {
    tf.dispose([lo!, hi!, finite!]);
  }
  if (!(images instanceof tf.Variable)) checkedRange.add(images);
}

/** {@link checkImageBatch}, then {@link assertUnitRange}. */
export async function checkImages(name: string, x: tf.Tensor4D, names: InputNames = ARGUMENT_NAMES): Promise<void> {
  checkImageBatch(name, x, names);
  await assertUnitRange(x, `${name}: ${names.images}`);
}

/** Checks an image batch and its labels: {@link checkImageBatch}, {@link checkLabelBatch}, {@link assertUnitRange}. */
export async function checkBatch(name: string, x: tf.Tensor4D, y: tf.Tensor1D, names: InputNames = ARGUMENT_NAMES): Promise<void> {
  checkImageBatch(name, x, names);
  checkLabelBatch(name, y, x.shape[0], names);
  await assertUnitRange(x, `${name}: ${names.images}`);
}

const hostLabels = new WeakMap<tf.Tensor, Int32Array>();

/** The labels on the host, read from the device once per tensor; the caller gets its own copy. */
export async function readLabels(y: tf.Tensor1D): Promise<Int32Array> {
  let host = hostLabels.get(y);
  if (!host) {
    host = new Int32Array(await y.data());
    if (!(y instanceof tf.Variable)) hostLabels.set(y, host);
  }
  return host.slice();
}

/**
 * Throws unless every value is a whole class index of a model with `k` classes. `what` names the
 * values ('label', 'target class'); labels outside the classes usually come from another dataset.
 */
export function checkClasses(name: string, what: string, values: ArrayLike<number>, k: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(Number.isInteger(v) && v >= 0 && v < k)) {
      const hint = what === 'label' ? ' Check that the labels belong to this model (are these samples from the dataset it was trained on?).' : '';
      throw new RangeError(`${name}: ${what} ${v} at index ${i} is outside the model's ${k} classes (0..${k - 1}).${hint}`);
    }
  }
}

/**
 * Checks a budget: 0 < eps <= 1 for Linf, 0 < eps <= sqrt(H*W*C) for L2 (`size` values per image;
 * Infinity when `allowInfinite`). `what` names it in the message ('eps', 'eps[2]').
 */
export function checkEps(eps: unknown, norm: 'linf' | 'l2', size: number, name: string, allowInfinite = false, what = 'eps'): void {
  if (allowInfinite && eps === Infinity) return;
  const hi = maxEps(norm, size);
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0 || eps > hi) {
    const range = norm === 'linf' ? '(0, 1] (images are in [0, 1]; 8/255 is a common CIFAR-10 budget)' : `(0, ${hi.toFixed(2)}] (sqrt of the values per image)`;
    const got = typeof eps === 'number' ? String(eps) : JSON.stringify(eps) ?? String(eps);
    throw new RangeError(`${name}: ${what} must be a number in ${range} for the ${norm} norm; got ${got}.${allowInfinite ? ' Leave it out (Infinity) for no budget.' : ''}`);
  }
}
