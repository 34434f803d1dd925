import * as tf from '@tensorflow/tfjs';
import type { ConvGeometry } from './geometry.js';

/**
 * dx of a depthwise conv (NHWC, filter [fh, fw, C, M], output channel c*M + m) as one
 * depthwise convolution, with the same phase split as {@link conv2dBackpropInputFast}: each of
 * the s*s phases becomes a channel multiplier, the multiplier M is summed out, and
 * depthToSpace interleaves the phases.
 */
export function depthwiseBackpropInputFast(dy: tf.Tensor4D, filter: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const { strideHeight: s, strideWidth: sw } = g;
    if (s !== sw) throw new Error('depthwiseBackpropInputFast: unequal strides need another route');
    const [fh, fw, c, m] = filter.shape;
    const kh = Math.ceil(fh / s);
    const kw = Math.ceil(fw / s);
    let w: tf.Tensor = filter;
    if (kh * s !== fh || kw * s !== fw) w = tf.pad(w, [[0, kh * s - fh], [0, kw * s - fw], [0, 0], [0, 0]]);
    // [kh, s, kw, s, C, M] -> [kh, kw, C*M, s*s]: input channel c*M+m of dy, phase as multiplier.
    w = w.reshape([kh, s, kw, s, c, m]).reverse([0, 2]).transpose([0, 2, 4, 5, 1, 3]).reshape([kh, kw, c * m, s * s]);

    const b = dy.shape[0];
    if (s === 1) {
      // Stride 1: a full correlation whose padding lands exactly on the input extent, so no
      // slice of the result (a generic, slow Slice on wasm) is needed.
      const top = fh - 1 - g.padTop;
      const left = fw - 1 - g.padLeft;
      const bottom = g.inHeight - g.outHeight - top + fh - 1;
      const right = g.inWidth - g.outWidth - left + fw - 1;
      if (top >= 0 && left >= 0 && bottom >= 0 && right >= 0) {
        const z = tf.depthwiseConv2d(dy, w as tf.Tensor4D, 1, [[0, 0], [top, bottom], [left, right], [0, 0]]);
        return (m > 1 ? z.reshape([b, g.inHeight, g.inWidth, c, m]).sum(4) : z) as tf.Tensor4D;
      }
    }
    const qh = Math.floor((g.inHeight - 1 + g.padTop) / s) + 1;
    const qw = Math.floor((g.inWidth - 1 + g.padLeft) / s) + 1;
    let d: tf.Tensor4D = dy;
    if (qh < g.outHeight || qw < g.outWidth) d = d.slice([0, 0, 0, 0], [-1, Math.min(qh, g.outHeight), Math.min(qw, g.outWidth), -1]);
    const padBottom = Math.max(0, qh - g.outHeight);
    const padRight = Math.max(0, qw - g.outWidth);
    let z: tf.Tensor = tf.depthwiseConv2d(d, w as tf.Tensor4D, 1, [[0, 0], [kh - 1, padBottom], [kw - 1, padRight], [0, 0]]);
    // Output channel of z is (c*M + m)*s*s + phase; sum out m, then order as phase*C + c.
    if (m > 1) z = z.reshape([b, qh, qw, c, m, s * s]).sum(4);
    z = s > 1 ? tf.depthToSpace(z.reshape([b, qh, qw, c, s * s]).transpose([0, 1, 2, 4, 3]).reshape([b, qh, qw, s * s * c]) as tf.Tensor4D, s) : z.reshape([b, qh, qw, c]);
    return (z as tf.Tensor4D).slice([0, g.padTop, g.padLeft, 0], [-1, g.inHeight, g.inWidth, c]);
  });
}
