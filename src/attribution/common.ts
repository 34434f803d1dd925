import * as tf from '@tensorflow/tfjs';
import { checkClasses, checkImages } from '../data/inputs.js';
import { resolveClassifier, type Classifier, type OutputKind, type ResolvedClassifier } from '../models/classifier.js';

/** Parameters every attribution method takes. */
export interface AttributionCommon {
  /**
   * The class each map explains: one for all images, one per image (array or int32 tensor, e.g.
   * the labels). @defaultValue undefined (the predicted class)
   */
  target?: number | ArrayLike<number> | tf.Tensor1D;
  /** Whether the model outputs logits or probabilities. @defaultValue 'auto' */
  output: OutputKind;
  /** Images (or occluded copies) per model call. @defaultValue 64 */
  batchSize: number;
}

export const ATTRIBUTION_COMMON_DEFAULTS: AttributionCommon = { target: undefined, output: 'auto', batchSize: 64 };

/**
 * An attribution method: maps an image batch [N, H, W, C] in [0, 1] to [N, H, W] maps, each
 * scaled to [0, 1]; the caller disposes the result.
 */
export type Attribution<P extends AttributionCommon = AttributionCommon> = (model: Classifier, x: tf.Tensor4D, params?: Partial<P>) => Promise<tf.Tensor3D>;

/** Fills defaults and rejects unknown keys (the list of known ones is the defaults' keys). */
export function fillAttributionParams<P extends AttributionCommon>(name: string, defaults: P, overrides: Partial<P> | undefined): P {
  const known = Object.keys(defaults);
  for (const key of Object.keys(overrides ?? {})) {
    if (!known.includes(key)) throw new Error(`${name}: unknown parameter '${key}'. Its parameters are: ${known.join(', ')}.`);
  }
  const p = { ...defaults } as P;
  for (const [k, v] of Object.entries(overrides ?? {})) if (v !== undefined) (p as Record<string, unknown>)[k] = v;
  if (!Number.isInteger(p.batchSize) || p.batchSize < 1) throw new RangeError(`${name}: batchSize must be a positive integer; got ${String(p.batchSize)}.`);
  return p;
}

/** The class each map explains: given targets (checked against K), or the predictions. */
export async function resolveTargets(name: string, clf: ResolvedClassifier, x: tf.Tensor4D, target: AttributionCommon['target'], batchSize: number): Promise<Int32Array> {
  const n = x.shape[0];
  let out: Int32Array;
  if (target === undefined || target === null) {
    out = new Int32Array(n);
    for (let s = 0; s < n; s += batchSize) {
      const size = Math.min(batchSize, n - s);
      const arg = tf.tidy(() => clf.logits(x.slice([s, 0, 0, 0], [size, -1, -1, -1])).argMax(1));
      out.set(await arg.data(), s);
      arg.dispose();
    }
    return out;
  }
  if (typeof target === 'number') out = new Int32Array(n).fill(target);
  else if (target instanceof tf.Tensor) {
    if (target.rank !== 1 || target.shape[0] !== n) throw new Error(`${name}: target must hold one class per image ([${n}]); got shape [${target.shape.join(', ')}].`);
    out = Int32Array.from(await target.data());
  } else {
    if (target.length !== n) throw new Error(`${name}: target has ${target.length} entries for ${n} images; give one class for all or one per image.`);
    out = Int32Array.from(Array.from(target));
  }
  checkClasses(name, 'target class', out, clf.numClasses);
  return out;
}

/** Checks inputs, resolves the classifier and the target classes. */
export async function prepareAttribution(name: string, model: Classifier, x: tf.Tensor4D, p: AttributionCommon): Promise<{ clf: ResolvedClassifier; targets: Int32Array }> {
  await checkImages(name, x);
  const clf = await resolveClassifier(model, { output: p.output }, x);
  const targets = await resolveTargets(name, clf, x, p.target, p.batchSize);
  return { clf, targets };
}

/** Runs `f` on slices of at most `size` images and concatenates the [n, H, W] results. */
export async function inChunks(x: tf.Tensor4D, size: number, f: (chunk: tf.Tensor4D, start: number) => Promise<tf.Tensor3D>): Promise<tf.Tensor3D> {
  const n = x.shape[0];
  if (n <= size) return f(x, 0);
  const parts: tf.Tensor3D[] = [];
  try {
    for (let s = 0; s < n; s += size) {
      const chunk = x.slice([s, 0, 0, 0], [Math.min(size, n - s), -1, -1, -1]);
      try {
        parts.push(await f(chunk, s));
      } finally {
        chunk.dispose();
      }
    }
    return tf.concat(parts, 0);
  } finally {
    tf.dispose(parts);
  }
}
