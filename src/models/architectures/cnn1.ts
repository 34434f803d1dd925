import * as tf from '@tensorflow/tfjs';
import { type BuildContext, scaled } from './common.js';

/** Name of the hidden layer whose activity the Fig. 1 experiment penalises and measures. */
/** The name of its one hidden layer (where an activity penalty or a density measurement goes). */
const HIDDEN = 'hidden';

/**
 * The paper's single-layer CNN of Fig. 1: 50 filters of 5x5, valid padding, ReLU, on 32x32x3
 * (28 x 28 x 50 = 39,200 hidden units, the layer named 'hidden'), then the logits.
 */
export function cnn1(ctx: BuildContext): tf.SymbolicTensor[] {
  const input = tf.input({ shape: ctx.inputShape, name: 'image' });
  let x = tf.layers
    .conv2d({ name: HIDDEN, filters: scaled(50, ctx.width), kernelSize: 5, padding: 'valid', activation: 'relu', kernelInitializer: ctx.init(), kernelRegularizer: ctx.regularizer })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ name: 'logits', units: ctx.numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: ctx.seed }), kernelRegularizer: ctx.regularizer }).apply(x) as tf.SymbolicTensor;
  return [input, logits];
}
