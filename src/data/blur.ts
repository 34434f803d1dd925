import * as tf from '@tensorflow/tfjs';

/** Half-width of the Gaussian kernel for `sigma`: ceil(3 sigma), so the kernel spans +-3 sigma. */
export function blurRadius(sigma: number): number {
  return Math.ceil(3 * sigma);
}

/** The normalised 1-D Gaussian kernel for `sigma` (length 2 * ceil(3 sigma) + 1). */
export function gaussianKernel1d(sigma: number): Float32Array {
  const r = blurRadius(sigma);
  const k = new Float64Array(2 * r + 1);
  for (let i = -r; i <= r; i++) k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  const sum = k.reduce((a, b) => a + b, 0);
  return Float32Array.from(k, (v) => v / sum);
}

/**
 * Gaussian blur of an image batch [N, H, W, C] (the paper blurs by sigma 0.5 to test Grad-CAM's
 * stability). Kernel size 2 * ceil(3 sigma) + 1, applied separably as two depthwise
 * convolutions; edges are handled by reflection without repeating the edge pixel
 * (OpenCV's BORDER_REFLECT_101, tf.mirrorPad 'reflect'). sigma 0 returns a copy. The result
 * is a new tensor (caller disposes); a blur of values in [0, 1] stays in [0, 1].
 * @param sigma - standard deviation in pixels, >= 0
 * @example `const blurred = gaussianBlur(samples.images, 0.5);`
 */
export function gaussianBlur(images: tf.Tensor4D, sigma: number): tf.Tensor4D {
  if (!(images instanceof tf.Tensor) || images.rank !== 4) {
    throw new Error(`gaussianBlur expects images [N, H, W, C]; got ${images instanceof tf.Tensor ? `shape [${images.shape.join(', ')}]` : typeof images}. Add a batch axis with expandDims(0) for one image.`);
  }
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma < 0) throw new RangeError(`gaussianBlur: sigma must be a finite number >= 0; got ${String(sigma)}.`);
  if (sigma === 0) return images.clone();
  const [, H, W, C] = images.shape;
  const r = blurRadius(sigma);
  if (r >= H || r >= W) {
    throw new RangeError(`gaussianBlur: sigma ${sigma} needs a ${2 * r + 1}-pixel kernel, too wide to reflect at the edges of a ${H}x${W} image; use sigma below ${(Math.min(H, W) - 1) / 3}.`);
  }
  const k = gaussianKernel1d(sigma);
  return tf.tidy(() => {
    const x = images.toFloat();
    const kv = tf.tensor1d(k);
    const vertical = kv.reshape([2 * r + 1, 1, 1, 1]).tile([1, 1, C, 1]) as tf.Tensor4D;
    const horizontal = kv.reshape([1, 2 * r + 1, 1, 1]).tile([1, 1, C, 1]) as tf.Tensor4D;
    const padded = tf.mirrorPad(x, [[0, 0], [r, r], [r, r], [0, 0]], 'reflect');
    const v = tf.depthwiseConv2d(padded, vertical, 1, 'valid');
    return tf.depthwiseConv2d(v, horizontal, 1, 'valid') as tf.Tensor4D;
  });
}
