import * as tf from '@tensorflow/tfjs';
import { attrInt, attrInts, input, nodeError, toNhwc, type OpBuilder, type OpContext } from '../op.js';
import { windowPads } from './conv.js';

interface Window {
  k: [number, number];
  s: [number, number];
  /** [top, left, bottom, right], ceil_mode's extra bottom/right rows included. */
  pads: [number, number, number, number];
  /** Pads as the model declared them, without ceil_mode's extra. */
  declared: [number, number, number, number];
  out: [number, number];
}

function window(ctx: OpContext, hw: readonly number[]): Window {
  const k = attrInts(ctx, 'kernel_shape');
  if (!k || k.length !== 2) throw nodeError(ctx, 'only 2-D pooling with a kernel_shape of 2 entries is supported');
  const s = attrInts(ctx, 'strides', [1, 1])!;
  const dil = attrInts(ctx, 'dilations', [1, 1])!;
  if (dil.some((d) => d !== 1)) throw nodeError(ctx, 'dilated pooling is not supported');
  const declared = windowPads(ctx, hw, k, s, [1, 1]);
  const pads = [...declared] as [number, number, number, number];
  const ceil = attrInt(ctx, 'ceil_mode', 0) === 1;
  const out: number[] = [];
  for (let a = 0; a < 2; a++) {
    const span = hw[a]! + declared[a]! + declared[a + 2]! - k[a]!;
    let o = (ceil ? Math.ceil(span / s[a]!) : Math.floor(span / s[a]!)) + 1;
    // As PyTorch and ONNX: the last window must start inside the input or its leading pad.
    if (ceil && (o - 1) * s[a]! >= hw[a]! + declared[a]!) o--;
    pads[a + 2] += Math.max(0, (o - 1) * s[a]! + k[a]! - (hw[a]! + declared[a]! + declared[a + 2]!));
    out.push(o);
  }
  return { k: k as [number, number], s: s as [number, number], pads, declared, out: out as [number, number] };
}

const padding = (p: readonly number[]): [number, number][] => [[0, 0], [p[0]!, p[2]!], [p[1]!, p[3]!], [0, 0]];

/** MaxPool: padded with -Infinity (a pad never wins), then a valid max pool. */
export const MaxPool: OpBuilder = (ctx) => {
  const x = input(ctx, 0);
  if (x.shape.length !== 4) throw nodeError(ctx, 'only 2-D max pooling is supported');
  if (attrInt(ctx, 'storage_order', 0) !== 0) throw nodeError(ctx, 'storage_order 1 is not supported');
  const w = window(ctx, x.shape.slice(2));
  const padded = w.pads.some((p) => p > 0);
  return {
    layouts: ['nhwc'],
    run: ([xt]) => {
      const t = toNhwc(xt!, x.layout);
      return [tf.maxPool(padded ? tf.pad(t, padding(w.pads), -Infinity) : t, w.k, w.s, 'valid')];
    },
  };
};

/**
 * AveragePool: a valid average pool over the zero-padded input; with count_include_pad 0 (the
 * ONNX default) each output is rescaled by kernel area / real pixels in its window, a map made once.
 */
export const AveragePool: OpBuilder = (ctx) => {
  const x = input(ctx, 0);
  if (x.shape.length !== 4) throw nodeError(ctx, 'only 2-D average pooling is supported');
  const hw = x.shape.slice(2);
  const w = window(ctx, hw);
  const includePad = attrInt(ctx, 'count_include_pad', 0) === 1;
  const extra = w.pads.some((p, i) => p !== w.declared[i]);
  if (extra && includePad) throw nodeError(ctx, 'ceil_mode with count_include_pad is not supported');
  const padded = w.pads.some((p) => p > 0);
  let scale: tf.Tensor4D | undefined;
  if (padded && !includePad) {
    const area = w.k[0] * w.k[1];
    const counts = new Float32Array(w.out[0] * w.out[1]);
    const real = (start: number, k: number, pad: number, n: number) => Math.min(n, start - pad + k) - Math.max(0, start - pad);
    for (let i = 0; i < w.out[0]; i++) {
      for (let j = 0; j < w.out[1]; j++) counts[i * w.out[1] + j] = area / (real(i * w.s[0], w.k[0], w.pads[0], hw[0]!) * real(j * w.s[1], w.k[1], w.pads[1], hw[1]!));
    }
    scale = ctx.keep(tf.tensor4d(counts, [1, w.out[0], w.out[1], 1]));
  }
  return {
    layouts: ['nhwc'],
    run: ([xt]) => {
      const t = toNhwc(xt!, x.layout);
      const y = tf.avgPool(padded ? tf.pad(t, padding(w.pads)) : t, w.k, w.s, 'valid');
      return [scale ? tf.mul(y, scale) : y];
    },
  };
};

function global(f: (t: tf.Tensor4D) => tf.Tensor): OpBuilder {
  return (ctx) => {
    const x = input(ctx, 0);
    if (x.shape.length !== 4) throw nodeError(ctx, 'only 2-D global pooling (4-D input) is supported');
    return { layouts: ['nhwc'], run: ([xt]) => [f(toNhwc(xt!, x.layout))] };
  };
}

export const GlobalAveragePool = global((t) => tf.mean(t, [1, 2], true));
export const GlobalMaxPool = global((t) => tf.max(t, [1, 2], true));
