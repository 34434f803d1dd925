import * as tf from '@tensorflow/tfjs';
import { attrFloat, attrInt, constInput, input, nodeError, toPlain, type OpBuilder, type OpContext } from '../op.js';

/** An op applied element by element: the layout passes through. */
function unary(f: (ctx: OpContext) => (x: tf.Tensor) => tf.Tensor): OpBuilder {
  return (ctx) => {
    const g = f(ctx);
    return { layouts: [input(ctx, 0).layout], run: ([x]) => [g(x!)] };
  };
}

export const Relu = unary(() => (x) => tf.relu(x));
export const Sigmoid = unary(() => (x) => tf.sigmoid(x));
export const LeakyRelu = unary((ctx) => {
  const alpha = attrFloat(ctx, 'alpha', 0.01);
  return (x) => tf.leakyRelu(x, alpha);
});
/** max(0, min(1, alpha * x + beta)). */
export const HardSigmoid = unary((ctx) => {
  const alpha = attrFloat(ctx, 'alpha', 0.2);
  const beta = attrFloat(ctx, 'beta', 0.5);
  return (x) => tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1);
});
/** x * max(0, min(1, x / 6 + 1 / 2)), as PyTorch's Hardswish. */
export const HardSwish = unary(() => (x) => tf.mul(x, tf.clipByValue(tf.add(tf.mul(x, 1 / 6), 0.5), 0, 1)));
export const Identity = unary(() => (x) => x);
/** Dropout at inference is the identity (its ratio and training_mode inputs are ignored unless training is asked for). */
export const Dropout: OpBuilder = (ctx) => {
  const training = ctx.inputs[2];
  if (training?.value && training.value.dataSync()[0]) throw nodeError(ctx, 'training_mode is true; export the model in eval mode');
  if (!training?.value && training) throw nodeError(ctx, 'training_mode is computed from the image; export the model in eval mode');
  return { layouts: [input(ctx, 0).layout], run: ([x]) => [x!] };
};

/** Clip with min/max as attributes (opset < 11) or constant inputs; ReLU6 is Clip(0, 6). */
export const Clip = unary((ctx) => {
  let lo: number;
  let hi: number;
  if (ctx.opset < 11) {
    lo = attrFloat(ctx, 'min', -Infinity);
    hi = attrFloat(ctx, 'max', Infinity);
  } else {
    lo = ctx.inputs[1] ? constInput(ctx, 1, 'min').dataSync()[0]! : -Infinity;
    hi = ctx.inputs[2] ? constInput(ctx, 2, 'max').dataSync()[0]! : Infinity;
  }
  if (lo > hi) throw nodeError(ctx, `min ${lo} is above max ${hi}`);
  if (lo === 0 && hi === 6) return (x) => tf.relu6(x);
  if (lo === -Infinity && hi === Infinity) return (x) => x;
  if (lo === -Infinity) return (x) => tf.minimum(x, hi);
  if (hi === Infinity) return (x) => tf.maximum(x, lo);
  return (x) => tf.clipByValue(x, lo, hi);
});

/**
 * Softmax: along one axis from opset 13 (default -1); before that over the flattened trailing
 * axes from `axis` (default 1), which is the same thing for a [N, K] classifier output.
 */
export const Softmax: OpBuilder = (ctx) => {
  const x = input(ctx, 0);
  const rank = x.shape.length;
  const legacy = ctx.opset < 13;
  const axis0 = attrInt(ctx, 'axis', legacy ? 1 : -1);
  const axis = axis0 < 0 ? axis0 + rank : axis0;
  if (axis < 0 || axis >= rank) throw nodeError(ctx, `axis ${axis0} is outside a rank-${rank} input`);
  return {
    layouts: ['plain'],
    run: ([xt]) => {
      const t = toPlain(xt!, x.layout);
      if (legacy) {
        const shape = t.shape;
        const rows = shape.slice(0, axis).reduce((a, b) => a * b, 1);
        return [tf.reshape(tf.softmax(tf.reshape(t, [rows, -1])), shape)];
      }
      if (axis === rank - 1) return [tf.softmax(t)];
      const perm = [...Array(rank).keys()];
      perm[axis] = rank - 1;
      perm[rank - 1] = axis;
      return [tf.transpose(tf.softmax(tf.transpose(t, perm)), perm)];
    },
  };
};
