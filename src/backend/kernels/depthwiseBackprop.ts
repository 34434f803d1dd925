import * as tf from '@tensorflow/tfjs';
import { type ConvGeometry, fullCorrelationPads, padFilterToStride, phaseInput } from './geometry.js';

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
    const { w: padded, kh, kw } = padFilterToStride(filter, s);
    // [kh, s, kw, s, C, M] -> [kh, kw, C*M, s*s]: input channel c*M+m of dy, phase as multiplier.
    const w = padded.reshape([kh, s, kw, s, c, m]).reverse([0, 2]).transpose([0, 2, 4, 5, 1, 3]).reshape([kh, kw, c * m, s * s]) as tf.Tensor4D;

    const b = dy.shape[0];
    // Stride 1: no slice of the result (a generic, slow Slice on wasm) is needed.
    const full = s === 1 ? fullCorrelationPads(g, fh, fw) : undefined;
    if (full) {
      const z = tf.depthwiseConv2d(dy, w, 1, full);
      return (m > 1 ? z.reshape([b, g.inHeight, g.inWidth, c, m]).sum(4) : z) as tf.Tensor4D;
    }
    const { d, qh, qw, pads } = phaseInput(dy, g, kh, kw);
    let z: tf.Tensor = tf.depthwiseConv2d(d, w, 1, pads);
    // Output channel of z is (c*M + m)*s*s + phase; sum out m, then order as phase*C + c.
    if (m > 1) z = z.reshape([b, qh, qw, c, m, s * s]).sum(4);
    z = s > 1 ? tf.depthToSpace(z.reshape([b, qh, qw, c, s * s]).transpose([0, 1, 2, 4, 3]).reshape([b, qh, qw, s * s * c]) as tf.Tensor4D, s) : z.reshape([b, qh, qw, c]);
    return (z as tf.Tensor4D).slice([0, g.padTop, g.padLeft, 0], [-1, g.inHeight, g.inWidth, c]);
  });
}
