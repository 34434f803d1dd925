import * as tf from '@tensorflow/tfjs';
import { type BuildContext, convBn, gapHead, scaled } from './common.js';

/**
 * CIFAR ResNet (He et al. 2016, section 4.2) with basic blocks: depth 6n+2 (20, 32, 44, 56,
 * 110), three stages of 16/32/64 channels times the width, projection shortcuts (1x1 conv +
 * batch norm) where the shape changes.
 */
export function resnet(ctx: BuildContext, depth: number): tf.SymbolicTensor[] {
  if ((depth - 2) % 6 !== 0 || depth < 8) throw new RangeError(`CIFAR ResNet depth must be 6n+2 (8, 14, 20, 32, 44, 56, 110); got ${depth}.`);
  const n = (depth - 2) / 6;
  const input = tf.input({ shape: ctx.inputShape, name: 'image' });
  let x = convBn(ctx, input, scaled(16, ctx.width), 3, 1, true);
  [16, 32, 64].forEach((base, stage) => {
    const filters = scaled(base, ctx.width);
    for (let b = 0; b < n; b++) {
      const strides = stage > 0 && b === 0 ? 2 : 1;
      let y = convBn(ctx, x, filters, 3, strides, true);
      y = convBn(ctx, y, filters, 3, 1, false);
      const inC = x.shape[x.shape.length - 1];
      const shortcut = strides !== 1 || inC !== filters ? convBn(ctx, x, filters, 1, strides, false, 'shortcut') : x;
      x = tf.layers.add({ name: ctx.name('add') }).apply([y, shortcut]) as tf.SymbolicTensor;
      x = tf.layers.reLU({ name: ctx.name('relu') }).apply(x) as tf.SymbolicTensor;
    }
  });
  return [input, gapHead(ctx, x)];
}

/**
 * Bottleneck ResNet-50 (stages of 3, 4, 6, 3 blocks; 64..512 channels x4 expansion, times the
 * width) with a CIFAR stem: one 3x3 conv at stride 1 and no max pool, for 32x32 inputs.
 */
export function resnet50(ctx: BuildContext, blocks: readonly number[] = [3, 4, 6, 3]): tf.SymbolicTensor[] {
  const input = tf.input({ shape: ctx.inputShape, name: 'image' });
  let x = convBn(ctx, input, scaled(64, ctx.width), 3, 1, true);
  [64, 128, 256, 512].forEach((base, stage) => {
    const mid = scaled(base, ctx.width);
    const out = mid * 4;
    for (let b = 0; b < blocks[stage]!; b++) {
      const strides = stage > 0 && b === 0 ? 2 : 1;
      let y = convBn(ctx, x, mid, 1, 1, true);
      y = convBn(ctx, y, mid, 3, strides, true);
      y = convBn(ctx, y, out, 1, 1, false);
      const inC = x.shape[x.shape.length - 1];
      const shortcut = strides !== 1 || inC !== out ? convBn(ctx, x, out, 1, strides, false, 'shortcut') : x;
      x = tf.layers.add({ name: ctx.name('add') }).apply([y, shortcut]) as tf.SymbolicTensor;
      x = tf.layers.reLU({ name: ctx.name('relu') }).apply(x) as tf.SymbolicTensor;
    }
  });
  return [input, gapHead(ctx, x)];
}
