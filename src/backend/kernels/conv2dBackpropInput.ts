import * as tf from '@tensorflow/tfjs';
import type { ConvGeometry } from './geometry.js';

/**
 * dx of a conv2d (NHWC, dilation 1) as ONE forward convolution, so it runs at forward speed.
 *
 * For stride s, input row h (offset by the top pad, P = h + padTop) receives dy from the taps
 * di = P mod s + s*k only. Each of the s*s "phases" (P mod s, Q mod s) is therefore a stride-1
 * full correlation of dy with a sub-kernel W[rh::s, rw::s] reversed; stacking the phases as
 * output channels gives one conv with kernel ceil(fh/s) x ceil(fw/s) and s*s*C outputs, and
 * depthToSpace interleaves them back. This never multiplies the zeros a dilated dy would hold.
 *
 * @param dy [B, outH, outW, O]
 * @param filter [fh, fw, C, O]
 */
export function conv2dBackpropInputFast(dy: tf.Tensor4D, filter: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const { strideHeight: s, strideWidth: sw } = g;
    if (s !== sw) throw new Error('conv2dBackpropInputFast: unequal strides need the stock kernel');
    const [fh, fw, c, o] = filter.shape;
    const kh = Math.ceil(fh / s);
    const kw = Math.ceil(fw / s);
    let w: tf.Tensor = filter;
    if (kh * s !== fh || kw * s !== fw) w = tf.pad(w, [[0, kh * s - fh], [0, kw * s - fw], [0, 0], [0, 0]]);
    // [kh, s, kw, s, C, O]: tap di = k*s + r; reverse k (correlation of a full conv), then put
    // the phase (r_h, r_w) and C on the output-channel axis, in depthToSpace's order.
    w = w.reshape([kh, s, kw, s, c, o]).reverse([0, 2]).transpose([0, 2, 5, 1, 3, 4]).reshape([kh, kw, o, s * s * c]);

    if (s === 1) {
      // Stride 1: a plain full correlation whose padding lands exactly on the input extent.
      const top = fh - 1 - g.padTop;
      const left = fw - 1 - g.padLeft;
      const bottom = g.inHeight - g.outHeight - top + fh - 1;
      const right = g.inWidth - g.outWidth - left + fw - 1;
      if (top >= 0 && left >= 0 && bottom >= 0 && right >= 0) {
        return tf.conv2d(dy, w as tf.Tensor4D, 1, [[0, 0], [top, bottom], [left, right], [0, 0]]);
      }
    }
    const qh = Math.floor((g.inHeight - 1 + g.padTop) / s) + 1;
    const qw = Math.floor((g.inWidth - 1 + g.padLeft) / s) + 1;
    let d: tf.Tensor4D = dy;
    // Rows of dy past qh feed no input pixel.
    if (qh < g.outHeight || qw < g.outWidth) d = d.slice([0, 0, 0, 0], [-1, Math.min(qh, g.outHeight), Math.min(qw, g.outWidth), -1]);
    const padBottom = Math.max(0, qh - g.outHeight);
    const padRight = Math.max(0, qw - g.outWidth);
    let z = tf.conv2d(d, w as tf.Tensor4D, 1, [[0, 0], [kh - 1, padBottom], [kw - 1, padRight], [0, 0]]);
    if (s > 1) z = tf.depthToSpace(z, s);
    if (g.padTop === 0 && g.padLeft === 0 && z.shape[1] === g.inHeight && z.shape[2] === g.inWidth) return z;
    return z.slice([0, g.padTop, g.padLeft, 0], [-1, g.inHeight, g.inWidth, c]);
  });
}
