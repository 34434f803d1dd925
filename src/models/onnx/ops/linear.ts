import * as tf from '@tensorflow/tfjs';
import { attrFloat, attrInt, input, nodeError, toPlain, type OpBuilder } from '../op.js';

/** Gemm: alpha * A' B' + beta * C; a constant B (the usual weight) is transposed and scaled once. */
export const Gemm: OpBuilder = (ctx) => {
  const a = input(ctx, 0);
  const b = input(ctx, 1);
  const c = ctx.inputs[2];
  const alpha = attrFloat(ctx, 'alpha', 1);
  const beta = attrFloat(ctx, 'beta', 1);
  const transA = attrInt(ctx, 'transA', 0) === 1;
  const transB = attrInt(ctx, 'transB', 0) === 1;
  if (a.shape.length !== 2 || b.shape.length !== 2) throw nodeError(ctx, `A and B must be 2-D; got [${a.shape.join(', ')}] and [${b.shape.join(', ')}] (add a Flatten before it)`);
  const bFixed = b.value ? ctx.keep(tf.tidy(() => tf.mul(transB ? tf.transpose(b.value!) : b.value!, alpha))) : undefined;
  const cFixed = c?.value ? ctx.keep(tf.tidy(() => tf.mul(c.value!, beta))) : undefined;
  return {
    layouts: ['plain'],
    run: ([at, bt, ct]) => {
      const A = toPlain(at!, a.layout) as tf.Tensor2D;
      const y = bFixed ? tf.matMul(A, bFixed as tf.Tensor2D, transA, false) : tf.mul(tf.matMul(A, toPlain(bt!, b.layout) as tf.Tensor2D, transA, transB), alpha);
      if (!c) return [y];
      return [tf.add(y, cFixed ?? tf.mul(ct!, beta))];
    },
  };
};

/** MatMul with numpy semantics for operands of rank 2 or more. */
export const MatMul: OpBuilder = (ctx) => {
  const a = input(ctx, 0);
  const b = input(ctx, 1);
  if (a.shape.length < 2 || b.shape.length < 2) throw nodeError(ctx, 'MatMul with a 1-D operand is not supported');
  return { layouts: ['plain'], run: ([at, bt]) => [tf.matMul(toPlain(at!, a.layout), toPlain(bt!, b.layout))] };
};
