import * as tf from '@tensorflow/tfjs';
import { type BuildContext, convBn, gapHead, scaled } from './common.js';

/**
 * MobileNet v1 (Howard et al. 2017): a 3x3 conv, then depthwise separable blocks (3x3
 * depthwise + batch norm + ReLU, 1x1 pointwise + batch norm + ReLU). For 32x32 inputs the stem
 * has stride 1, so the last stage sees 2x2. `depth` is the number of 512-channel blocks in the
 * middle (5 in the paper's network); the width multiplier is the paper's alpha.
 */
export function mobilenet(ctx: BuildContext, depth = 5): tf.SymbolicTensor[] {
  if (!Number.isInteger(depth) || depth < 0) throw new RangeError(`MobileNet depth (the 512-channel blocks) must be an integer >= 0; got ${depth}.`);
  const input = tf.input({ shape: ctx.inputShape, name: 'image' });
  let x = convBn(ctx, input, scaled(32, ctx.width), 3, 1, true);
  const plan: [number, number][] = [[64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2], ...Array.from({ length: depth }, () => [512, 1] as [number, number]), [1024, 2], [1024, 1]];
  for (const [filters, strides] of plan) {
    x = tf.layers
      .depthwiseConv2d({ name: ctx.name('dwconv'), kernelSize: 3, strides, padding: 'same', useBias: false, depthwiseInitializer: ctx.init(), depthwiseRegularizer: ctx.regularizer })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: ctx.name('bn'), momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU({ name: ctx.name('relu') }).apply(x) as tf.SymbolicTensor;
    x = convBn(ctx, x, scaled(filters, ctx.width), 1, 1, true, 'pwconv');
  }
  return [input, gapHead(ctx, x)];
}
