import * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../models/classifier.js';
import { resolveClassifier } from '../models/classifier.js';
import { frozenHead } from '../models/frozen.js';
import { checkImages } from '../data/inputs.js';
import { ATTRIBUTION_COMMON_DEFAULTS, type AttributionCommon, fillAttributionParams, inChunks, resolveTargets } from './common.js';
import { normalizeMaps, resizeMaps } from './heatmap.js';
import { isOnnxModel, type OnnxModel } from '../models/onnx/index.js';
import { layerTap, onnxTap } from '../models/featureTap.js';
import { findGradCamLayer, findLayerByName } from '../models/layers.js';
import { fromModel } from './provenance.js';
import { runPooledMaps } from './pooling.js';

/** Parameters of {@link gradcam}. */
export interface GradCamParams extends AttributionCommon {
  /**
   * Name (or nested path `outer/inner`) of the layer whose feature maps are weighted; for an
   * imported ONNX model, an ONNX output or node name. @defaultValue found by `findGradCamLayer` (src/models/layers.ts)
   * (ONNX: `OnnxModel.defaultGradCamValue`)
   */
  layer?: string;
}

/** Defaults of {@link gradcam}. */
export const GRADCAM_DEFAULTS: GradCamParams = { ...ATTRIBUTION_COMMON_DEFAULTS, layer: undefined };

function asLayersModel(model: Classifier): tf.LayersModel {
  if (!(model instanceof tf.LayersModel)) {
    throw new Error('Grad-CAM needs a tf.LayersModel or an imported ONNX model (it reads an inner layer); for a { predict } classifier use saliency, integratedGradients or occlusion.');
  }
  return model;
}

/**
 * Grad-CAM (Selvaraju et al., 2017): with A the chosen layer's feature maps [h, w, K] and y the
 * target class's logit, the map is ReLU(sum_k alpha_k A_k) with alpha_k the spatial mean of
 * dy/dA_k, upsampled bilinearly to the input size and divided by its maximum.
 *
 * @param model - a tf.LayersModel with a convolution, or an imported ONNX model
 * @param x - images [N, H, W, C] in [0, 1]
 * @param params - `layer`, `target` (default: predicted class), `output`, `batchSize`
 * @returns [N, H, W] maps in [0, 1] (caller disposes)
 * @example
 * ```ts
 * const maps = await gradcam(model, images);             // last conv block, predicted class
 * const byName = await gradcam(model, images, { layer: 'conv2d_3', target: labels });
 * ```
 */
export async function gradcam(model: Classifier, x: tf.Tensor4D, params?: Partial<GradCamParams>): Promise<tf.Tensor3D> {
  return fromModel(await gradcamMaps(model, x, params), model);
}

async function gradcamMaps(model: Classifier, x: tf.Tensor4D, params?: Partial<GradCamParams>): Promise<tf.Tensor3D> {
  const p = fillAttributionParams('gradcam', GRADCAM_DEFAULTS, params);
  // A LayersModel's layer, or a value of an imported ONNX graph: the code below needs only the tap.
  const lm = isOnnxModel(model) ? undefined : asLayersModel(model);
  const lmLayer = lm ? (p.layer !== undefined ? findLayerByName(lm, p.layer) : findGradCamLayer(lm)) : undefined;
  const layer = lm ? layerTap(lmLayer!) : onnxTap(model as OnnxModel, p.layer);
  await checkImages('gradcam', x);
  const clf = await resolveClassifier(model, { output: p.output }, x);
  // Without given targets the predicted class is read off the capture pass below.
  const targets = p.target === undefined ? undefined : await resolveTargets('gradcam', clf, x, p.target, p.batchSize);
  // On the worker threads, part of the batch each, when they can take the model (src/workers).
  const pooled = await runPooledMaps('gradcam', model, x, { ...p }, targets);
  if (pooled) return pooled;
  const [H, W] = [x.shape[1], x.shape[2]];
  return inChunks(x, p.batchSize, async (chunk, start) => {
    let feature: tf.Tensor | undefined;
    try {
      return tf.tidy(() => {
        const n = chunk.shape[0];
        // Layer calls run inside the model's own tidy, so the captured map is kept (and disposed
        // in finally); the model gets a clone, since a functional model also disposes consumed
        // intermediates.
        const logits = layer.withHook((original) => {
          feature = tf.keep(original());
          return feature.clone();
        }, () => clf.logits(chunk));
        const A = feature!;
        if (A.rank !== 4) throw new Error(`Grad-CAM: layer '${layer.name}' outputs shape [${A.shape.join(', ')}]; it needs a 4-D feature map [N, h, w, c]. Name a convolutional layer.`);
        if (A.shape[1]! * A.shape[2]! === 1) throw new Error(`Grad-CAM: layer '${layer.name}' outputs 1x1 feature maps, so every map would be the same value at every pixel and explain nothing. Name an earlier layer with a larger spatial output (findGradCamLayer picks the last one).`);
        const classes = targets ? tf.tensor1d(targets.subarray(start, start + n), 'int32') : (tf.argMax(logits, 1) as tf.Tensor1D);
        const onehot = tf.oneHot(classes, clf.numClasses);
        // The scores as a function of the layer's output: through the frozen graph's layers after
        // it when it has them (the layers before need not run again), else the whole model with
        // the layer's output substituted.
        const head = lm ? frozenHead(lm, lmLayer!) : undefined;
        const headLogits = !head ? undefined : clf.output === 'logits' ? (a: tf.Tensor) => head.run(a) : clf.trueLogits && head.endsInSoftmax ? (a: tf.Tensor) => head.run(a, true) : undefined;
        const scores = (a: tf.Tensor) => (headLogits ? headLogits(a) : layer.withHook(() => a.clone(), () => clf.logits(chunk)));
        const dA = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(scores(a), onehot)) as tf.Scalar)(A);
        const alpha = tf.mean(dA, [1, 2], true);
        const cam = tf.relu(tf.sum(tf.mul(A, alpha), 3)) as tf.Tensor3D;
        return normalizeMaps(resizeMaps(cam, [H, W]), 'max');
      });
    } finally {
      feature?.dispose();
    }
  });
}
