import * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../models/classifier.js';
import { ATTRIBUTION_COMMON_DEFAULTS, type AttributionCommon, fillAttributionParams, inChunks, prepareAttribution } from './common.js';
import { normalizeMaps } from './heatmap.js';
import { fromModel } from './provenance.js';

/** Parameters of {@link integratedGradients}. */
export interface IntegratedGradientsParams extends AttributionCommon {
  /** The reference input: a constant pixel value, or a batch [N, H, W, C] / image [1, H, W, C]. @defaultValue 0 (black) */
  baseline: number | tf.Tensor4D;
  /** Points on the straight path (midpoint rule). @defaultValue 32 */
  steps: number;
}

/** Defaults of {@link integratedGradients}. */
export const INTEGRATED_GRADIENTS_DEFAULTS: IntegratedGradientsParams = { ...ATTRIBUTION_COMMON_DEFAULTS, baseline: 0, steps: 32 };

/**
 * Integrated Gradients (Sundararajan et al., 2017): (x - baseline) times the mean gradient of the
 * target logit along the straight path from the baseline to x, summed over channels; the map is
 * the absolute value divided by its maximum.
 * @returns [N, H, W] maps in [0, 1] (caller disposes)
 * @example `const maps = await integratedGradients(model, images, { steps: 64 });`
 */
export async function integratedGradients(model: Classifier, x: tf.Tensor4D, params?: Partial<IntegratedGradientsParams>): Promise<tf.Tensor3D> {
  return fromModel(await integratedGradientsMaps(model, x, params), model);
}

async function integratedGradientsMaps(model: Classifier, x: tf.Tensor4D, params?: Partial<IntegratedGradientsParams>): Promise<tf.Tensor3D> {
  const p = fillAttributionParams('integratedGradients', INTEGRATED_GRADIENTS_DEFAULTS, params);
  if (!Number.isInteger(p.steps) || p.steps < 1) throw new RangeError(`integratedGradients: steps must be a positive integer; got ${String(p.steps)}.`);
  const b = p.baseline;
  if (b instanceof tf.Tensor) {
    const okShape = b.rank === 4 && (b.shape[0] === 1 || b.shape[0] === x.shape[0]) && tf.util.arraysEqual(b.shape.slice(1), x.shape.slice(1));
    if (!okShape) throw new Error(`integratedGradients: baseline must be [1 or N, ${x.shape.slice(1).join(', ')}]; got [${b.shape.join(', ')}].`);
  } else if (typeof b !== 'number' || !(b >= 0 && b <= 1)) throw new RangeError(`integratedGradients: a constant baseline must lie in [0, 1]; got ${String(b)}.`);
  const { clf, targets } = await prepareAttribution('integratedGradients', model, x, p);
  return inChunks(x, p.batchSize, async (chunk, start) => {
    const n = chunk.shape[0];
    const base = tf.tidy(() =>
      b instanceof tf.Tensor ? (b.shape[0] === 1 ? tf.tile(b, [n, 1, 1, 1]) : b.slice([start, 0, 0, 0], [n, -1, -1, -1])) : tf.fill(chunk.shape, b),
    ) as tf.Tensor4D;
    const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d(targets.subarray(start, start + n), 'int32'), clf.numClasses));
    let sum = tf.zerosLike(chunk) as tf.Tensor4D;
    try {
      for (let s = 0; s < p.steps; s++) {
        const alpha = (s + 0.5) / p.steps;
        const next = tf.tidy(() => {
          const point = tf.add(base, tf.mul(tf.sub(chunk, base), alpha)) as tf.Tensor4D;
          const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(clf.logits(v as tf.Tensor4D), onehot)) as tf.Scalar)(point);
          return tf.add(sum, g) as tf.Tensor4D;
        });
        sum.dispose();
        sum = next;
      }
      return tf.tidy(() => {
        const attr = tf.sum(tf.mul(tf.sub(chunk, base), tf.div(sum, p.steps)), 3) as tf.Tensor3D;
        return normalizeMaps(tf.abs(attr), 'max');
      });
    } finally {
      tf.dispose([sum, base, onehot]);
    }
  });
}
