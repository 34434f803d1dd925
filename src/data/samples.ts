import * as tf from '@tensorflow/tfjs';

/**
 * A labelled image batch: images [N, H, W, C] float32 in [0, 1] (NHWC), int32 labels [N],
 * and an id per image so a report can name it. The tensors belong to the Samples: call
 * `dispose()` when done. `at` and `slice` return new Samples that own their own tensors.
 */
export interface Samples {
  readonly images: tf.Tensor4D;
  readonly labels: tf.Tensor1D;
  readonly ids: readonly string[];
  readonly classNames: readonly string[];
  /** Where the images came from (e.g. 'CIFAR-10, JPEG q75 copy'); records of checks on them state it. */
  readonly source?: string;
  readonly size: number;
  at(index: number): Samples;
  slice(start: number, end?: number): Samples;
  dispose(): void;
}

/** Checks shapes, dtypes and ranges, then wraps the tensors (which the Samples now owns). */
export function makeSamples(
  images: tf.Tensor4D,
  labels: tf.Tensor1D,
  options: { ids?: readonly string[]; classNames?: readonly string[]; source?: string } = {},
): Samples {
  if (images.rank !== 4) throw new Error(`Samples images must be a rank-4 tensor [N, H, W, C]; got shape [${images.shape.join(', ')}].`);
  if (labels.rank !== 1) throw new Error(`Samples labels must be a rank-1 int32 tensor [N]; got shape [${labels.shape.join(', ')}].`);
  const n = images.shape[0];
  if (n === 0) throw new Error('Samples must hold at least one image; got an empty batch (shape [0, ...]). A check on no images proves nothing: draw some, e.g. cifar10.test({ count: 200, seed: 1 }).');
  if (labels.shape[0] !== n) throw new Error(`Samples has ${n} images but ${labels.shape[0]} labels; they must match one to one.`);
  if (labels.dtype !== 'int32') throw new Error(`Samples labels must be int32, got ${labels.dtype}; cast with labels.toInt()`);
  if (images.dtype !== 'float32') throw new Error(`Samples images must be float32 in [0, 1], got ${images.dtype}; use images.toFloat().div(255) for 8-bit pixels.`);
  const ids = options.ids ?? Array.from({ length: n }, (_, i) => String(i));
  if (ids.length !== n) throw new Error(`Samples has ${n} images but ${ids.length} ids.`);
  const classNames = options.classNames ?? [];
  const { source } = options;
  const slice = (start: number, end = n): Samples => {
    const s = Math.max(0, start);
    const e = Math.min(n, end);
    if (e <= s) throw new Error(`Samples.slice(${start}, ${end}) is empty: the Samples holds ${n} images.`);
    return makeSamples(images.slice([s, 0, 0, 0], [e - s, -1, -1, -1]), labels.slice([s], [e - s]), { ids: ids.slice(s, e), classNames, source });
  };
  return {
    images,
    labels,
    ids,
    classNames,
    source,
    size: n,
    at(index: number) {
      if (!Number.isInteger(index) || index < 0 || index >= n) throw new RangeError(`Samples.at(${index}) is out of range: the Samples holds ${n} images (0..${n - 1}).`);
      return slice(index, index + 1);
    },
    slice,
    dispose() {
      images.dispose();
      labels.dispose();
    },
  };
}
