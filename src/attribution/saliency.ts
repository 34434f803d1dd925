import * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../models/classifier.js';
import { ATTRIBUTION_COMMON_DEFAULTS, type AttributionCommon, fillAttributionParams, inChunks, prepareAttribution } from './common.js';
import { normalizeMaps } from './heatmap.js';
import { fromModel } from './provenance.js';

/** Parameters of {@link saliency}. */
export type SaliencyParams = AttributionCommon;

/** Defaults of {@link saliency}. */
export const SALIENCY_DEFAULTS: SaliencyParams = { ...ATTRIBUTION_COMMON_DEFAULTS };

/**
 * Gradient saliency (Simonyan et al., 2014): per pixel, the largest absolute gradient of the
 * target class's logit over the channels, divided by the map's maximum.
 * @returns [N, H, W] maps in [0, 1] (caller disposes)
 * @example `const maps = await saliency(model, images, { target: labels });`
 */
export async function saliency(model: Classifier, x: tf.Tensor4D, params?: Partial<SaliencyParams>): Promise<tf.Tensor3D> {
  return fromModel(await saliencyMaps(model, x, params), model);
}

async function saliencyMaps(model: Classifier, x: tf.Tensor4D, params?: Partial<SaliencyParams>): Promise<tf.Tensor3D> {
  const p = fillAttributionParams('saliency', SALIENCY_DEFAULTS, params);
  const { clf, targets } = await prepareAttribution('saliency', model, x, p);
  return inChunks(x, p.batchSize, async (chunk, start) =>
    tf.tidy(() => {
      const onehot = tf.oneHot(tf.tensor1d(targets.subarray(start, start + chunk.shape[0]), 'int32'), clf.numClasses);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(clf.logits(v as tf.Tensor4D), onehot)) as tf.Scalar)(chunk);
      return normalizeMaps(tf.max(tf.abs(g), 3) as tf.Tensor3D, 'max');
    }),
  );
}
