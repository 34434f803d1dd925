import * as tf from '@tensorflow/tfjs';
import type { AttrValue } from './proto.js';

/**
 * How a value's tensor is stored. ONNX image tensors are NCHW; our kernels are NHWC. A 4-D value
 * that a convolution produced or consumes is kept as 'nhwc': the tfjs tensor is the logical NCHW
 * tensor transposed by [0, 2, 3, 1]. Every other value is 'plain' (stored as ONNX shapes it).
 * Layouts are decided once, at import; constants are converted then, never per call.
 */
export type Layout = 'nhwc' | 'plain';

/** A stand-in for the batch size inside folded shape values (Shape -> Gather -> Concat -> Reshape). */
export const BATCH = -2_000_000_007;

/** An input of a node as the importer sees it while building the node's step. */
export interface OpInput {
  /** The ONNX value name. */
  readonly name: string;
  /** The value itself when it is known at import (initializers, constants, folded shapes). */
  readonly value?: tf.Tensor;
  readonly layout: Layout;
  /** Logical (ONNX) shape; batch-dependent dims are {@link BATCH}. */
  readonly shape: readonly number[];
}

/** What an operator needs to build its step. */
export interface OpContext {
  readonly node: string;
  readonly opType: string;
  readonly opset: number;
  /** One per ONNX input; undefined for an omitted optional input (''). */
  readonly inputs: readonly (OpInput | undefined)[];
  readonly attrs: ReadonlyMap<string, AttrValue>;
  /** Tensors made at import that the model keeps (converted weights); disposed with it. */
  keep<T extends tf.Tensor>(t: T): T;
}

/** Per-call facts an operator may need. */
export interface RunContext {
  /** The batch size of this call (what {@link BATCH} stands for). */
  readonly batch: number;
}

/** A built node: its outputs' layouts and the function computing them. */
export interface OpStep {
  readonly layouts: readonly Layout[];
  /** True when the outputs do not depend on the input values (Shape): the node is folded at import. */
  readonly static?: boolean;
  /**
   * Computes the outputs from one tensor per input (a constant input gets its plain value; an
   * omitted one undefined); synchronous and differentiable. Runs inside the caller's tidy.
   */
  run(xs: readonly (tf.Tensor | undefined)[], rt: RunContext): tf.Tensor[];
}

export type OpBuilder = (ctx: OpContext) => OpStep;

/** Error for a node the importer cannot run, naming the node and the fix. */
export function nodeError(ctx: Pick<OpContext, 'node' | 'opType'>, problem: string): Error {
  return new Error(`ONNX node '${ctx.node}' (${ctx.opType}): ${problem}`);
}

/** The logical axis that a stored NHWC axis holds, and back. */
export const NHWC_TO_LOGICAL = [0, 2, 3, 1] as const;
export const LOGICAL_TO_NHWC = [0, 3, 1, 2] as const;

/** A stored tensor as its logical (ONNX) tensor. */
export function toPlain(t: tf.Tensor, layout: Layout): tf.Tensor {
  if (layout === 'plain') return t;
  const [n, h, w, c] = t.shape as [number, number, number, number];
  // NHWC and NCHW order the same elements identically when H*W or C is 1: a reshape suffices.
  if (h * w === 1 || c === 1) return tf.reshape(t, [n, c, h, w]);
  return tf.transpose(t, [0, 3, 1, 2]);
}

/** A logical rank-4 tensor stored as NHWC. */
export function toNhwc(t: tf.Tensor, layout: Layout): tf.Tensor4D {
  if (layout === 'nhwc') return t as tf.Tensor4D;
  if (t.rank !== 4) throw new Error(`expected a 4-D image tensor, got shape [${t.shape.join(', ')}]`);
  const [n, c, h, w] = t.shape as [number, number, number, number];
  if (h * w === 1 || c === 1) return tf.reshape(t, [n, h, w, c]);
  return tf.transpose(t, [0, 2, 3, 1]) as tf.Tensor4D;
}

/** The stored shape of a value with this logical shape. */
export function storedShape(shape: readonly number[], layout: Layout): number[] {
  return layout === 'nhwc' ? NHWC_TO_LOGICAL.map((a) => shape[a]!) : [...shape];
}

/** Attribute helpers: a missing attribute gets its ONNX default. */
export function attrInt(ctx: OpContext, name: string, dflt: number): number {
  const v = ctx.attrs.get(name);
  if (v === undefined) return dflt;
  if (typeof v !== 'number') throw nodeError(ctx, `attribute ${name} should be a number`);
  return v;
}
/** A float attribute (the same reading as {@link attrInt}: ONNX ints and floats are both numbers here). */
export const attrFloat = attrInt;
export function attrInts(ctx: OpContext, name: string, dflt?: number[]): number[] | undefined {
  const v = ctx.attrs.get(name);
  if (v === undefined) return dflt;
  if (!Array.isArray(v)) throw nodeError(ctx, `attribute ${name} should be a list`);
  return v as number[];
}
export function attrString(ctx: OpContext, name: string, dflt: string): string {
  const v = ctx.attrs.get(name);
  if (v === undefined) return dflt;
  if (typeof v !== 'string') throw nodeError(ctx, `attribute ${name} should be a string`);
  return v;
}

/** The input at i, which must exist. */
export function input(ctx: OpContext, i: number): OpInput {
  const x = ctx.inputs[i];
  if (!x) throw nodeError(ctx, `input ${i} is missing`);
  return x;
}

/** The values of an input that must be known at import (weights, shapes, pads). */
export function constInput(ctx: OpContext, i: number, what: string): tf.Tensor {
  const x = input(ctx, i);
  if (!x.value) throw nodeError(ctx, `${what} (input '${x.name}') must be a constant known at import; it is computed from the image. This importer runs classifiers whose weights and shapes are fixed.`);
  return x.value;
}

/** The integer values of a constant input, read to the host. */
export function constInts(ctx: OpContext, i: number, what: string): number[] {
  return Array.from(constInput(ctx, i, what).dataSync());
}
