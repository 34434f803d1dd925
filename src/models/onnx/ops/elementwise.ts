import * as tf from '@tensorflow/tfjs';
import { BATCH, input, nodeError, toNhwc, type Layout, type OpBuilder, type OpContext, type OpInput } from '../op.js';

/**
 * Brings every input to one layout: NHWC when any input is a stored-NHWC image tensor, so that a
 * bias or a per-channel constant [1, C, 1, 1] (converted here, once) broadcasts against it.
 * Returns the layout and, per input, a function giving its tensor in that layout.
 */
export function alignInputs(ctx: OpContext, inputs: readonly OpInput[]): { layout: Layout; prep: ((t: tf.Tensor) => tf.Tensor)[] } {
  const layout: Layout = inputs.some((i) => i.layout === 'nhwc' && !i.value) ? 'nhwc' : 'plain';
  const prep = inputs.map((inp) => {
    if (layout === 'plain' || inp.layout === 'nhwc') return (t: tf.Tensor) => t;
    const rank = inp.shape.length;
    if (rank > 4) throw nodeError(ctx, `input '${inp.name}' of rank ${rank} cannot broadcast against a 4-D image tensor`);
    if (inp.value) {
      const v = ctx.keep(tf.tidy(() => tf.transpose(tf.reshape(inp.value!, [...new Array(4 - rank).fill(1), ...inp.shape]), [0, 2, 3, 1])));
      return () => v;
    }
    return (t: tf.Tensor) => toNhwc(rank === 4 ? t : tf.reshape(t, [...new Array(4 - rank).fill(1), ...t.shape]), 'plain');
  });
  return { layout, prep };
}

function hasBatch(t: tf.Tensor | undefined): boolean {
  return t !== undefined && t.dtype === 'int32' && (t.dataSync() as Int32Array).includes(BATCH);
}

function binary(f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): OpBuilder {
  return (ctx) => {
    const ins = [input(ctx, 0), input(ctx, 1)];
    if (ins.some((i) => hasBatch(i.value))) {
      throw nodeError(ctx, 'computes with the batch size inside a shape; export with a fixed batch size, or reshape with -1 for the batch axis');
    }
    const { layout, prep } = alignInputs(ctx, ins);
    return { layouts: [layout], run: ([a, b]) => [f(prep[0]!(a!), prep[1]!(b!))] };
  };
}

export const Add = binary((a, b) => tf.add(a, b));
export const Sub = binary((a, b) => tf.sub(a, b));
export const Mul = binary((a, b) => tf.mul(a, b));
/** Integer Div truncates in ONNX; tfjs floors, which agrees for the non-negative sizes of shape arithmetic. */
export const Div = binary((a, b) => (a.dtype === 'int32' && b.dtype === 'int32' ? tf.floorDiv(a, b) : tf.div(a, b)));
