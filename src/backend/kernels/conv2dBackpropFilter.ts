import * as tf from '@tensorflow/tfjs';
import type { ConvGeometry } from './geometry.js';

/**
 * dW of a conv2d (NHWC, dilation 1) as one forward convolution: with the batch as the channel
 * axis, dW[di, dj, c, o] = sum_{b,i,j} x[b, i*s+di-top, j*s+dj-left, c] dy[b, i, j, o] is a
 * convolution of x^T [C, H, W, B] with dy^T [outH, outW, B, O] at dilation s.
 *
 * @param x [B, H, W, C]
 * @param dy [B, outH, outW, O]
 * @returns [fh, fw, C, O]
 */
export function conv2dBackpropFilterFast(x: tf.Tensor4D, dy: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = g;
    // Padded extent the taps reach: fh + (outH - 1) * s rows.
    const needH = fh + (g.outHeight - 1) * sh;
    const needW = fw + (g.outWidth - 1) * sw;
    let xs: tf.Tensor4D = x;
    const bottom = needH - g.inHeight - g.padTop;
    const right = needW - g.inWidth - g.padLeft;
    if (bottom < 0 || right < 0) {
      xs = xs.slice([0, 0, 0, 0], [-1, g.inHeight + Math.min(0, bottom), g.inWidth + Math.min(0, right), -1]);
    }
    const xT = xs.transpose([3, 1, 2, 0]) as tf.Tensor4D;
    const dyT = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D;
    const r = tf.conv2d(
      xT,
      dyT,
      1,
      [[0, 0], [g.padTop, Math.max(0, bottom)], [g.padLeft, Math.max(0, right)], [0, 0]],
      'NHWC',
      [sh, sw],
    );
    return r.transpose([1, 2, 0, 3]) as tf.Tensor4D;
  });
}
