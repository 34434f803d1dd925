import * as tf from '@tensorflow/tfjs';
import { attrInt, attrInts, attrString, constInput, input, nodeError, toNhwc, type OpBuilder, type OpContext } from '../op.js';

/** Padding [top, left, bottom, right] of a 2-D window op, from pads or auto_pad. */
export function windowPads(ctx: OpContext, inHW: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[]): [number, number, number, number] {
  const auto = attrString(ctx, 'auto_pad', 'NOTSET');
  if (auto === 'NOTSET') {
    const p = attrInts(ctx, 'pads', [0, 0, 0, 0])!;
    if (p.length !== 4) throw nodeError(ctx, `pads has ${p.length} entries; a 2-D window needs 4`);
    if (p.some((v) => v < 0)) throw nodeError(ctx, `negative pads [${p.join(', ')}] are not supported`);
    return [p[0]!, p[1]!, p[2]!, p[3]!];
  }
  if (auto === 'VALID') return [0, 0, 0, 0];
  if (auto !== 'SAME_UPPER' && auto !== 'SAME_LOWER') throw nodeError(ctx, `auto_pad '${auto}' is not an ONNX value`);
  const out: number[] = [];
  for (let a = 0; a < 2; a++) {
    const n = inHW[a]!;
    const total = Math.max(0, (Math.ceil(n / strides[a]!) - 1) * strides[a]! + (kernel[a]! - 1) * dilations[a]! + 1 - n);
    out.push(auto === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2), total);
  }
  const [t, th, l, tw] = out as [number, number, number, number];
  return [t, l, th - t, tw - l];
}

/** tfjs padding for pads [t, l, b, r]: 'valid' when there is none. */
export function tfPad(p: readonly number[]): 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  if (p.every((v) => v === 0)) return 'valid';
  return [[0, 0], [p[0]!, p[2]!], [p[1]!, p[3]!], [0, 0]];
}

type ConvFn = (x: tf.Tensor4D, pad?: ReturnType<typeof tfPad>, dilations?: [number, number]) => tf.Tensor4D;

/**
 * A dilated (stride 1) convolution as space-to-batch, an undilated valid convolution, and
 * batch-to-space, as TensorFlow computes atrous convolutions: tfjs has no gradient for dilated
 * convolutions, but has them for these three. Exact: sub-image r of the space-to-batch holds
 * rows r, r + d, ..., so an undilated window over it is a dilated window over the input.
 */
function atrous(conv: ConvFn, pads: readonly number[], d: [number, number]): ConvFn {
  return (x) => {
    const xp = pads.some((p) => p > 0) ? tf.pad(x, [[0, 0], [pads[0]!, pads[2]!], [pads[1]!, pads[3]!], [0, 0]]) : x;
    const [h, w] = [xp.shape[1], xp.shape[2]];
    const extra = [(d[0] - (h % d[0])) % d[0], (d[1] - (w % d[1])) % d[1]];
    const sb = tf.spaceToBatchND(xp, d, [[0, extra[0]!], [0, extra[1]!]]) as tf.Tensor4D;
    const y = conv(sb, 'valid', [1, 1]);
    return tf.batchToSpaceND(y, d, [[0, extra[0]!], [0, extra[1]!]]) as tf.Tensor4D;
  };
}

/**
 * Conv (2-D): plain, depthwise (group = input channels, any channel multiplier) and grouped.
 * Weights [Cout, Cin/group, kh, kw] become tfjs filters once, here.
 */
export const Conv: OpBuilder = (ctx) => {
  const x = input(ctx, 0);
  if (x.shape.length !== 4) throw nodeError(ctx, `only 2-D convolutions (4-D input) are supported; the input has shape [${x.shape.join(', ')}]`);
  const w = constInput(ctx, 1, 'the weight');
  const b = ctx.inputs[2] ? constInput(ctx, 2, 'the bias') : undefined;
  const [cout, cinPerGroup, kh, kw] = w.shape as [number, number, number, number];
  const group = attrInt(ctx, 'group', 1);
  const cin = x.shape[1]!;
  if (cin !== cinPerGroup * group) throw nodeError(ctx, `the weight expects ${cinPerGroup * group} input channels, the input has ${cin}`);
  const strides = attrInts(ctx, 'strides', [1, 1])!;
  const dilations = attrInts(ctx, 'dilations', [1, 1])!;
  if (strides.length !== 2 || dilations.length !== 2) throw nodeError(ctx, 'strides and dilations must have 2 entries');
  if (strides[0] !== strides[1]) throw nodeError(ctx, `unequal strides [${strides.join(', ')}] are not supported`);
  if (strides.some((s) => s > 1) && dilations.some((d) => d > 1)) throw nodeError(ctx, 'a stride and a dilation both above 1 are not supported by tfjs convolutions');
  const pads = windowPads(ctx, x.shape.slice(2), [kh, kw], strides, dilations);
  const pad = tfPad(pads);
  const s = strides as [number, number];
  const d = dilations as [number, number];
  const bias = b ? ctx.keep(b.clone()) : undefined;
  let conv: ConvFn;
  if (group === 1) {
    const filter = ctx.keep(tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D);
    conv = (t, p = pad, dl = d) => tf.conv2d(t, filter, s, p, 'NHWC', dl);
  } else if (cinPerGroup === 1 && cout % cin === 0) {
    // Depthwise: output channel c * m + k reads input channel c.
    const filter = ctx.keep(tf.tidy(() => tf.transpose(tf.reshape(w, [cin, cout / cin, kh, kw]), [2, 3, 0, 1])) as tf.Tensor4D);
    conv = (t, p = pad, dl = d) => tf.depthwiseConv2d(t, filter, s, p, 'NHWC', dl);
  } else {
    if (cout % group !== 0) throw nodeError(ctx, `${cout} output channels do not split into ${group} groups`);
    const filters = tf.tidy(() => tf.split(tf.transpose(w, [2, 3, 1, 0]), group, 3)).map((f) => ctx.keep(f as tf.Tensor4D));
    conv = (t, p = pad, dl = d) => tf.concat(tf.split(t, group, 3).map((part, g) => tf.conv2d(part as tf.Tensor4D, filters[g]!, s, p, 'NHWC', dl)), 3) as tf.Tensor4D;
  }
  if (d[0] > 1 || d[1] > 1) conv = atrous(conv, pads, d);
  return {
    layouts: ['nhwc'],
    run: ([xt]) => {
      const y = conv(toNhwc(xt!, x.layout));
      return [bias ? tf.add(y, bias) : y];
    },
  };
};
