import * as tf from '@tensorflow/tfjs';

/**
 * The paper's Delta: per map, the sum over pixels of the squared difference of two maps (both
 * [N, H, W], or single [H, W] maps, in [0, 1] at input resolution). Returns one value per map.
 * SSD(a, a) = 0 and SSD(a, b) = SSD(b, a).
 * @example `const delta = await ssd(await gradcam(model, x), await gradcam(model, blurred));`
 */
export async function ssd(a: tf.Tensor, b: tf.Tensor): Promise<Float32Array> {
  if (!tf.util.arraysEqual(a.shape, b.shape)) {
    throw new Error(`ssd: the maps differ in shape ([${a.shape.join(', ')}] vs [${b.shape.join(', ')}]); resize one with resizeMaps first.`);
  }
  if (a.rank !== 2 && a.rank !== 3) throw new Error(`ssd expects [N, H, W] or [H, W] maps; got shape [${a.shape.join(', ')}].`);
  const t = tf.tidy(() => {
    const d = tf.square(tf.sub(a.toFloat(), b.toFloat()));
    return a.rank === 2 ? tf.sum(d).reshape([1]) : tf.sum(d, [1, 2]);
  });
  try {
    return new Float32Array(await t.data());
  } finally {
    t.dispose();
  }
}
