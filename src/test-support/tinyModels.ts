import * as tf from '@tensorflow/tfjs';

// Two tiny classifiers on 8x8 two-class images (bandsDataset({ size: 8 })): one ignores its input
// (nothing can move it), the other reads two pixel columns, so a large enough Linf perturbation
// flips every image.

/** Always scores class 0 higher, whatever the image. */
export function constantModel(): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), tf.layers.dense({ units: 2, kernelInitializer: 'zeros', biasInitializer: tf.initializers.constant({ value: 0 }) })] });
  const w = [tf.zeros([192, 2]), tf.tensor1d([1, 0])];
  m.layers[1]!.setWeights(w);
  tf.dispose(w);
  return m;
}

/** Brightness of the left and right bands decides the class. */
export function fragileModel(): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), tf.layers.dense({ units: 2 })] });
  const k = tf.buffer([192, 2]);
  // Weights small enough that the softmax does not saturate, so the loss gradient is not exactly zero.
  for (let y = 0; y < 8; y++) for (let c = 0; c < 3; c++) {
    k.set(1, (y * 8 + 2) * 3 + c, 0);
    k.set(1, (y * 8 + 6) * 3 + c, 1);
  }
  const w = [k.toTensor(), tf.zeros([2])];
  m.layers[1]!.setWeights(w);
  tf.dispose(w);
  return m;
}
