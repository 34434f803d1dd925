import * as tf from '@tensorflow/tfjs';
import { type BuildContext, scaled } from './common.js';

const PLAN: (number | 'pool')[] = [64, 64, 'pool', 128, 128, 'pool', 256, 256, 256, 'pool', 512, 512, 512, 'pool', 512, 512, 512, 'pool'];

/**
 * VGG16 (Simonyan and Zisserman 2015): 13 3x3 convs in five groups, each group closed by a 2x2
 * max pool, times the width; batch norm after each conv (as CIFAR VGGs are trained); a CIFAR
 * head of one hidden Dense (512 x width) and the logits.
 */
export function vgg16(ctx: BuildContext): tf.SymbolicTensor[] {
  const input = tf.input({ shape: ctx.inputShape, name: 'image' });
  let x: tf.SymbolicTensor = input;
  for (const step of PLAN) {
    if (step === 'pool') {
      x = tf.layers.maxPooling2d({ name: ctx.name('pool'), poolSize: 2 }).apply(x) as tf.SymbolicTensor;
      continue;
    }
    x = tf.layers
      .conv2d({ name: ctx.name('conv'), filters: scaled(step, ctx.width), kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: ctx.init(), kernelRegularizer: ctx.regularizer })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: ctx.name('bn'), momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU({ name: ctx.name('relu') }).apply(x) as tf.SymbolicTensor;
  }
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ name: 'fc', units: scaled(512, ctx.width), activation: 'relu', kernelInitializer: ctx.init(), kernelRegularizer: ctx.regularizer }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ name: 'logits', units: ctx.numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: ctx.seed }), kernelRegularizer: ctx.regularizer }).apply(x) as tf.SymbolicTensor;
  return [input, logits];
}
