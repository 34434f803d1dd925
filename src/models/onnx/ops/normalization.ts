import * as tf from '@tensorflow/tfjs';
import { attrFloat, constInput, input, nodeError, type OpBuilder } from '../op.js';

/**
 * BatchNormalization at inference: y = x * a + b with a = scale / sqrt(var + eps) and
 * b = B - mean * a, both computed once here; the channel axis is 1 (logical), last when stored NHWC.
 */
export const BatchNormalization: OpBuilder = (ctx) => {
  const x = input(ctx, 0);
  const live = (ctx.inputs.length > 1 ? [1, 2, 3, 4] : []).map((i) => constInput(ctx, i, ['scale', 'bias', 'mean', 'variance'][i - 1]!));
  if (live.length !== 4) throw nodeError(ctx, 'needs scale, bias, mean and variance inputs');
  if (attrFloat(ctx, 'training_mode', 0) !== 0) throw nodeError(ctx, 'training_mode is set; export the model in eval mode (model.eval()) for inference');
  const eps = attrFloat(ctx, 'epsilon', 1e-5);
  const [scale, bias, mean, variance] = live as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const rank = x.shape.length;
  // Stored NHWC (or [N, C]) puts channels last; any other plain layout needs [C, 1, ...].
  const shape = x.layout === 'nhwc' || rank === 2 ? [-1] : [-1, ...new Array(rank - 2).fill(1)];
  const a = ctx.keep(tf.tidy(() => tf.reshape(tf.div(scale, tf.sqrt(tf.add(variance, eps))), shape)));
  const b = ctx.keep(tf.tidy(() => tf.reshape(tf.sub(bias, tf.mul(mean, tf.reshape(a, [-1]))), shape)));
  return { layouts: [x.layout], run: ([xt]) => [tf.add(tf.mul(xt!, a), b)] };
};
