import * as tf from '@tensorflow/tfjs';

/** What every builder receives; defaults are filled in by buildModel. */
export interface BuildContext {
  inputShape: [number, number, number];
  numClasses: number;
  width: number;
  regularizer: ReturnType<typeof tf.regularizers.l1l2> | undefined;
  seed: number;
  /** Unique, readable layer names: `${prefix}_${n}`. */
  name(prefix: string): string;
  /** A seeded initializer, different for every call. */
  init(): ReturnType<typeof tf.initializers.heNormal>;
}

export function context(inputShape: [number, number, number], numClasses: number, width: number, regularizer: ReturnType<typeof tf.regularizers.l1l2> | undefined, seed: number): BuildContext {
  const counts = new Map<string, number>();
  let s = seed * 1000;
  return {
    inputShape,
    numClasses,
    width,
    regularizer,
    seed,
    name(prefix) {
      const n = (counts.get(prefix) ?? 0) + 1;
      counts.set(prefix, n);
      return `${prefix}_${n}`;
    },
    init() {
      return tf.initializers.heNormal({ seed: ++s });
    },
  };
}

/** Channels scaled by the width multiplier, at least 1. */
export function scaled(channels: number, width: number): number {
  return Math.max(1, Math.round(channels * width));
}

/** conv (no bias when batch norm follows) -> batch norm -> optional ReLU. */
export function convBn(ctx: BuildContext, x: tf.SymbolicTensor, filters: number, kernelSize: number, strides: number, relu: boolean, prefix = 'conv'): tf.SymbolicTensor {
  let y = tf.layers
    .conv2d({ name: ctx.name(prefix), filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: ctx.init(), kernelRegularizer: ctx.regularizer })
    .apply(x) as tf.SymbolicTensor;
  y = tf.layers.batchNormalization({ name: ctx.name('bn'), momentum: 0.9 }).apply(y) as tf.SymbolicTensor;
  return relu ? (tf.layers.reLU({ name: ctx.name('relu') }).apply(y) as tf.SymbolicTensor) : y;
}

/** The classifier head: global average pooling, then a linear Dense that outputs logits. */
export function gapHead(ctx: BuildContext, x: tf.SymbolicTensor): tf.SymbolicTensor {
  const p = tf.layers.globalAveragePooling2d({ name: ctx.name('gap') }).apply(x) as tf.SymbolicTensor;
  return tf.layers.dense({ name: 'logits', units: ctx.numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: ctx.seed }), kernelRegularizer: ctx.regularizer }).apply(p) as tf.SymbolicTensor;
}
