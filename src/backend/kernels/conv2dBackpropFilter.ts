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
    // The taps reach padded rows [-padTop, fh + (outH - 1) * sh - padTop): keep the rows of x
    // inside that range and pad the rest. An explicit pad may exceed the reach (every window in
    // the padding along one axis); then no pixel of x touches the filter and dW is zero.
    const rows = reach(-g.padTop, fh + (g.outHeight - 1) * sh, g.inHeight);
    const cols = reach(-g.padLeft, fw + (g.outWidth - 1) * sw, g.inWidth);
    if (!rows || !cols) return tf.zeros([fh, fw, g.inChannels, dy.shape[3]]) as tf.Tensor4D;
    let xs: tf.Tensor4D = x;
    if (rows.lo > 0 || cols.lo > 0 || rows.size < g.inHeight || cols.size < g.inWidth) {
      xs = xs.slice([0, rows.lo, cols.lo, 0], [-1, rows.size, cols.size, -1]);
    }
    const xT = xs.transpose([3, 1, 2, 0]) as tf.Tensor4D;
    const dyT = dy.transpose([1, 2, 0, 3]) as tf.Tensor4D;
    const r = tf.conv2d(
      xT,
      dyT,
      1,
      [[0, 0], [rows.before, rows.after], [cols.before, cols.after], [0, 0]],
      'NHWC',
      [sh, sw],
    );
    return r.transpose([1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * Which pixels of an axis of length `n` the taps reach when they cover `span` padded positions
 * starting at `start` (negative: inside the leading pad): the kept range [lo, lo + size) and the
 * zeros needed before and after it. Undefined when the reach misses the axis entirely.
 */
function reach(start: number, span: number, n: number): { lo: number; size: number; before: number; after: number } | undefined {
  const end = start + span; // exclusive
  const lo = Math.max(0, start);
  const hi = Math.min(n, end);
  if (hi <= lo) return undefined;
  return { lo, size: hi - lo, before: lo - start, after: end - hi };
}
