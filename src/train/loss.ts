// The loss one training step minimises, written once: the calling thread's step (train.ts) and a
// worker thread's share of a data-parallel step (src/workers/dataParallel.ts) both compute it.
import * as tf from '@tensorflow/tfjs';
import { regularizationLoss } from '../models/regularizers.js';

/** The model's classifier and, with an activity penalty, the same layers with that layer's output as a second output. */
export function trainingModel(model: tf.LayersModel, activity?: { layer: string }): tf.LayersModel {
  if (!activity) return model;
  const layer = model.layers.find((l) => l.name === activity.layer);
  if (!layer) throw new Error(`activityL1 names layer '${activity.layer}', which the model lacks. Its layers: ${model.layers.map((l) => l.name).join(', ')}.`);
  // Same layers, two outputs: training this one trains the classifier.
  return tf.model({ inputs: model.inputs, outputs: [model.outputs[0]!, layer.output as tf.SymbolicTensor] });
}

export interface LossSpec {
  model: tf.LayersModel;
  /** trainingModel(model, activityL1). */
  fitModel: tf.LayersModel;
  numClasses: number;
  activityL1?: { layer: string; lambda: number };
}

/**
 * Softmax cross-entropy (mean over the batch) + the model's kernel penalties + the activity
 * penalty (per image, averaged over the batch), in training mode; `correct` (kept, for the caller
 * to dispose) counts the rows predicted right. Call it inside tf.variableGrads or an optimizer's minimize. Every term is a mean over the rows or independent
 * of them, so the mean over a batch equals the row-weighted mean of the losses of its parts.
 */
export function trainingLoss(spec: LossSpec, xs: tf.Tensor, ys: tf.Tensor): { loss: tf.Scalar; correct: tf.Scalar } {
  // No tidy here: the caller's tf.variableGrads (or minimize) scopes the intermediates and keeps what the tape needs.
  const out = spec.fitModel.apply(xs, { training: true }) as tf.Tensor | tf.Tensor[];
  const [logits, hidden] = Array.isArray(out) ? out : [out];
  const correct = tf.keep((logits as tf.Tensor2D).argMax(1).equal(ys).sum() as tf.Scalar);
  let loss = tf.losses.softmaxCrossEntropy(tf.oneHot(ys as tf.Tensor1D, spec.numClasses), logits as tf.Tensor2D).add(regularizationLoss(spec.model)) as tf.Scalar;
  if (spec.activityL1 && hidden) loss = loss.add(hidden.abs().sum().div(xs.shape[0]).mul(spec.activityL1.lambda));
  return { loss, correct };
}
