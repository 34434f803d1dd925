import * as tf from '@tensorflow/tfjs';

/** ||a - b|| / ||b|| (Euclidean), with the denominator floored at 1e-6 so all-zero references compare absolutely. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-6);
}

/** relErr between two models' outputs on the same random batch of 32x32x3 images (no tensors left behind). */
export function predictionRelErr(model: tf.LayersModel, reference: tf.LayersModel, batch = 4, seed = 9): number {
  const [a, b] = tf.tidy(() => {
    const x = tf.randomUniform([batch, 32, 32, 3], 0, 1, 'float32', seed);
    return [model.predict(x) as tf.Tensor, reference.predict(x) as tf.Tensor];
  });
  const err = relErr(a!.dataSync(), b!.dataSync());
  tf.dispose([a!, b!]);
  return err;
}
