import * as tf from '@tensorflow/tfjs';
import { type ConvGeometry, fullCorrelationPads, padFilterToStride, phaseInput } from './geometry.js';

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
    const { w: padded, kh, kw } = padFilterToStride(filter, s);
    // [kh, s, kw, s, C, O]: tap di = k*s + r; reverse k (correlation of a full conv), then put
    // the phase (r_h, r_w) and C on the output-channel axis, in depthToSpace's order.
    const w = padded.reshape([kh, s, kw, s, c, o]).reverse([0, 2]).transpose([0, 2, 5, 1, 3, 4]).reshape([kh, kw, o, s * s * c]) as tf.Tensor4D;

    const full = s === 1 ? fullCorrelationPads(g, fh, fw) : undefined;
    if (full) return tf.conv2d(dy, w, 1, full);
    const { d, pads } = phaseInput(dy, g, kh, kw);
    let z = tf.conv2d(d, w, 1, pads);
    if (s > 1) z = tf.depthToSpace(z, s);
    if (g.padTop === 0 && g.padLeft === 0 && z.shape[1] === g.inHeight && z.shape[2] === g.inWidth) return z;
    return z.slice([0, g.padTop, g.padLeft, 0], [-1, g.inHeight, g.inWidth, c]);
  });
}
