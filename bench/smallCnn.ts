import * as tf from '@tensorflow/tfjs';

/**
 * The small CNN of DESIGN.md, "Backends and speed": conv32-conv32-pool-conv64-conv64-pool-
 * dense128-dense10 on 32x32x3, the network PyTorch trains at about 325 images/s on these machines.
 */
export function smallCnn(seed = 1): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 100 + s });
  const conv = (filters: number, s: number, inputShape?: number[]) =>
    tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(s), ...(inputShape ? { inputShape } : {}) });
  return tf.sequential({
    layers: [
      conv(32, 1, [32, 32, 3]),
      conv(32, 2),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      conv(64, 3),
      conv(64, 4),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 128, activation: 'relu', kernelInitializer: init(5) }),
      tf.layers.dense({ units: 10, kernelInitializer: init(6) }),
    ],
  });
}

/** One training step: softmax cross-entropy from logits, Adam. */
export function trainStep(model: tf.LayersModel, opt: tf.Optimizer, x: tf.Tensor4D, y: tf.Tensor2D): number {
  const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor2D) as tf.Scalar, true)!;
  const v = loss.dataSync()[0]!;
  loss.dispose();
  return v;
}

/** The gradient of the loss with respect to the input batch (what every attack needs). */
export function inputGradient(model: tf.LayersModel, x: tf.Tensor4D, y: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => tf.grad((xi: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, model.apply(xi) as tf.Tensor2D))(x) as tf.Tensor4D);
}
