import * as tf from '@tensorflow/tfjs';
import { tensorFromProto, type TensorProto } from '../proto.js';
import { BATCH, LOGICAL_TO_NHWC, attrInt, attrInts, attrString, constInput, constInts, input, nodeError, toPlain, type OpBuilder, type OpContext, type OpInput } from '../op.js';
import { alignInputs } from './elementwise.js';

const plainOut = (f: (xs: readonly (tf.Tensor | undefined)[], rt: { batch: number }) => tf.Tensor) => ({ layouts: ['plain' as const], run: (xs: readonly (tf.Tensor | undefined)[], rt: { batch: number }) => [f(xs, rt)] });

/** A constant: its value is the output, folded at import like every node with constant inputs. */
export const Constant: OpBuilder = (ctx) => {
  const a = ctx.attrs;
  let make: () => tf.Tensor;
  if (a.has('value')) make = () => tensorFromProto(a.get('value') as TensorProto, `ONNX node '${ctx.node}' value`);
  else if (a.has('value_float')) make = () => tf.scalar(a.get('value_float') as number);
  else if (a.has('value_floats')) make = () => tf.tensor1d(a.get('value_floats') as number[]);
  else if (a.has('value_int')) make = () => tf.scalar(a.get('value_int') as number, 'int32');
  else if (a.has('value_ints')) make = () => tf.tensor1d(a.get('value_ints') as number[], 'int32');
  else throw nodeError(ctx, `has no value attribute this importer reads (${[...a.keys()].join(', ')})`);
  return plainOut(() => make());
};

/** Shape: of a value computed from the image, its shape with the batch axis symbolic. */
export const Shape: OpBuilder = (ctx) => {
  const x = input(ctx, 0);
  if (x.shape.some((d) => Number.isNaN(d))) throw nodeError(ctx, `the shape of '${x.name}' depends on the batch size in a way that cannot be folded`);
  const rank = x.shape.length;
  const norm = (v: number) => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
  const start = norm(attrInt(ctx, 'start', 0));
  const end = ctx.attrs.has('end') ? norm(attrInt(ctx, 'end', rank)) : rank;
  const shape = x.shape.slice(start, end);
  return { ...plainOut(() => tf.tensor1d(shape, 'int32')), static: true };
};

/** Flatten to 2-D at `axis` (default 1), in ONNX's (NCHW) element order. */
export const Flatten: OpBuilder = (ctx) => {
  const x = input(ctx, 0);
  const rank = x.shape.length;
  const axis0 = attrInt(ctx, 'axis', 1);
  const axis = axis0 < 0 ? axis0 + rank : axis0;
  return plainOut(([t]) => {
    const p = toPlain(t!, x.layout);
    const rows = p.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    return tf.reshape(p, [rows, -1]);
  });
};

/** Reshape to a constant shape (0 copies a dim unless allowzero, -1 is inferred, BATCH is the batch size). */
export const Reshape: OpBuilder = (ctx) => {
  const x = input(ctx, 0);
  const target = ctx.opset < 5 ? attrInts(ctx, 'shape')! : constInts(ctx, 1, 'the target shape');
  const allowZero = attrInt(ctx, 'allowzero', 0) === 1;
  return plainOut(([t], rt) => {
    const p = toPlain(t!, x.layout);
    return tf.reshape(p, target.map((d, i) => (d === BATCH ? rt.batch : d === 0 && !allowZero ? p.shape[i]! : d)));
  });
};

/** Transpose; from a stored-NHWC input the two permutations are composed, so one transpose runs. */
export const Transpose: OpBuilder = (ctx) => {
  const x = input(ctx, 0);
  const rank = x.shape.length;
  const perm = attrInts(ctx, 'perm', [...Array(rank).keys()].reverse())!;
  const stored = x.layout === 'nhwc' ? perm.map((a) => LOGICAL_TO_NHWC[a]!) : perm;
  return plainOut(([t]) => tf.transpose(t!, stored));
};

/** Concat; image tensors concatenate in NHWC (channel axis 1 becomes 3). */
export const Concat: OpBuilder = (ctx) => {
  const ins = ctx.inputs.filter((i): i is OpInput => i !== undefined);
  const rank = ins[0]!.shape.length;
  const axis0 = attrInt(ctx, 'axis', 0);
  const axis = axis0 < 0 ? axis0 + rank : axis0;
  const { layout, prep } = alignInputs(ctx, ins);
  const stored = layout === 'nhwc' ? [0, 3, 1, 2][axis]! : axis;
  return { layouts: [layout], run: (xs) => [tf.concat(xs.filter((t) => t !== undefined).map((t, i) => prep[i]!(t!)), stored)] };
};

/**
 * Reflect padding from slices, reversals and a concat. tfjs's mirrorPad gradient (4.22) only
 * slices the centre of dy and drops what the reflected borders received, so input gradients
 * through it are wrong; these ops have exact gradients.
 */
function reflectPad(x: tf.Tensor, paddings: readonly [number, number][]): tf.Tensor {
  let y = x;
  paddings.forEach(([b, e], axis) => {
    if (b === 0 && e === 0) return;
    const n = y.shape[axis]!;
    if (b >= n || e >= n) throw new Error(`reflect padding of ${Math.max(b, e)} needs more than ${n} values along axis ${axis}`);
    const part = (start: number, size: number) => {
      const begin = y.shape.map(() => 0);
      const sizes = y.shape.map(() => -1);
      begin[axis] = start;
      sizes[axis] = size;
      return tf.reverse(tf.slice(y, begin, sizes), axis);
    };
    y = tf.concat([...(b > 0 ? [part(1, b)] : []), y, ...(e > 0 ? [part(n - 1 - e, e)] : [])], axis);
  });
  return y;
}

/** Pad (constant or reflect) with constant pads, as attributes (opset < 11) or inputs. */
export const Pad: OpBuilder = (ctx) => {
  const x = input(ctx, 0);
  const rank = x.shape.length;
  const mode = attrString(ctx, 'mode', 'constant');
  const pads = ctx.opset < 11 ? attrInts(ctx, 'pads')! : constInts(ctx, 1, 'pads');
  const value = ctx.opset < 11 ? (ctx.attrs.get('value') as number | undefined) ?? 0 : ctx.inputs[2] ? constInput(ctx, 2, 'the constant value').dataSync()[0]! : 0;
  if (ctx.opset >= 18 && ctx.inputs[3]) throw nodeError(ctx, 'the axes input is not supported');
  if (pads.length !== 2 * rank) throw nodeError(ctx, `pads has ${pads.length} entries for a rank-${rank} input`);
  if (pads.some((p) => p < 0)) throw nodeError(ctx, 'negative pads (cropping) are not supported');
  if (mode !== 'constant' && mode !== 'reflect') throw nodeError(ctx, `mode '${mode}' is not supported (constant and reflect are)`);
  const logical = [...Array(rank).keys()].map((a) => [pads[a]!, pads[a + rank]!] as [number, number]);
  const paddings = x.layout === 'nhwc' ? [0, 2, 3, 1].map((a) => logical[a]!) : logical;
  return {
    layouts: [x.layout],
    run: ([t]) => [mode === 'reflect' ? reflectPad(t!, paddings) : tf.pad(t!, paddings, value)],
  };
};

/** Gather along an axis with constant indices (the Gather of a shape chain, or of a plain tensor). */
export const Gather: OpBuilder = (ctx) => {
  const x = input(ctx, 0);
  const rank = x.shape.length;
  const axis0 = attrInt(ctx, 'axis', 0);
  const axis = axis0 < 0 ? axis0 + rank : axis0;
  const idx = constInput(ctx, 1, 'the indices');
  const dim = x.shape[axis]!;
  const fixed = ctx.keep(tf.tidy(() => {
    const v = Int32Array.from(idx.dataSync(), (i) => (i < 0 ? i + dim : i));
    return tf.tensor(v, idx.shape, 'int32');
  }));
  return plainOut(([t]) => tf.gather(toPlain(t!, x.layout), fixed, axis));
};

function axesOf(ctx: OpContext, what: string): number[] {
  return ctx.opset < 13 ? attrInts(ctx, 'axes', [])! : ctx.inputs[1] ? constInts(ctx, 1, what) : [];
}

/** Unsqueeze: inserts unit axes (axes as attribute before opset 13, as input after). */
export const Unsqueeze: OpBuilder = (ctx) => {
  const x = input(ctx, 0);
  const outRank = x.shape.length + axesOf(ctx, 'axes').length;
  const axes = axesOf(ctx, 'axes').map((a) => (a < 0 ? a + outRank : a));
  return plainOut(([t]) => {
    const shape = [...toPlain(t!, x.layout).shape];
    for (const a of [...axes].sort((p, q) => p - q)) shape.splice(a, 0, 1);
    return tf.reshape(toPlain(t!, x.layout), shape);
  });
};

/** Squeeze: drops unit axes (all of them when none are named). */
export const Squeeze: OpBuilder = (ctx) => {
  const x = input(ctx, 0);
  const rank = x.shape.length;
  const axes = axesOf(ctx, 'axes').map((a) => (a < 0 ? a + rank : a));
  return plainOut(([t]) => {
    const p = toPlain(t!, x.layout);
    return tf.reshape(p, p.shape.filter((d, i) => (axes.length ? !axes.includes(i) : d !== 1)));
  });
};

/** Slice with constant starts/ends/axes/steps (inputs from opset 10, attributes before). */
export const Slice: OpBuilder = (ctx) => {
  const x = input(ctx, 0);
  const rank = x.shape.length;
  const legacy = ctx.opset < 10;
  const starts = legacy ? attrInts(ctx, 'starts')! : constInts(ctx, 1, 'starts');
  const ends = legacy ? attrInts(ctx, 'ends')! : constInts(ctx, 2, 'ends');
  const axes = (legacy ? attrInts(ctx, 'axes') : ctx.inputs[3] ? constInts(ctx, 3, 'axes') : undefined) ?? starts.map((_, i) => i);
  const steps = (!legacy && ctx.inputs[4] ? constInts(ctx, 4, 'steps') : undefined) ?? starts.map(() => 1);
  if (x.shape.some((d) => d === BATCH) && axes.some((a) => x.shape[a < 0 ? a + rank : a] === BATCH)) throw nodeError(ctx, 'slices the batch axis');
  // Per sliced axis, the indices it keeps: a contiguous slice for step 1, a gather otherwise
  // (tfjs's stridedSlice returns zeros for int32 tensors with a negative stride on wasm).
  const picks = axes.map((a0, i) => {
    const a = a0 < 0 ? a0 + rank : a0;
    const dim = x.shape[a]!;
    const step = steps[i]!;
    if (step === 0) throw nodeError(ctx, 'a step of 0');
    const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v < 0 ? v + dim : v));
    const b = step > 0 ? clamp(starts[i]!, 0, dim) : clamp(starts[i]!, 0, dim - 1);
    const e = step > 0 ? clamp(ends[i]!, 0, dim) : clamp(ends[i]!, -1, dim - 1);
    const idx: number[] = [];
    for (let k = b; step > 0 ? k < e : k > e; k += step) idx.push(k);
    const contiguous = step === 1;
    return { axis: a, begin: b, size: idx.length, indices: contiguous ? undefined : ctx.keep(tf.tensor1d(idx, 'int32')) };
  });
  return plainOut(([t]) => {
    let y = toPlain(t!, x.layout);
    for (const p of picks) {
      if (p.indices) y = tf.gather(y, p.indices, p.axis);
      else {
        const begin = new Array(rank).fill(0);
        const size = new Array(rank).fill(-1);
        begin[p.axis] = p.begin;
        size[p.axis] = p.size;
        y = tf.slice(y, begin, size);
      }
    }
    return y;
  });
};

const FLOATS = new Set([1, 10, 11, 16]);

/** Cast: every float type to float32, every integer type to int32, bool to bool. */
export const Cast: OpBuilder = (ctx) => {
  const x = input(ctx, 0);
  const to = attrInt(ctx, 'to', 1);
  const dtype = FLOATS.has(to) ? 'float32' : to === 9 ? 'bool' : 'int32';
  if (dtype === 'float32' && x.value?.dtype === 'int32' && (x.value.dataSync() as Int32Array).includes(BATCH)) throw nodeError(ctx, 'casts the batch size to a float');
  return { layouts: [x.layout], run: ([t]) => [t!.dtype === dtype ? t! : tf.cast(t!, dtype)] };
};

/** ConstantOfShape: a constant shape filled with the value attribute (default float 0). */
export const ConstantOfShape: OpBuilder = (ctx) => {
  const shape = constInts(ctx, 0, 'the shape');
  if (shape.includes(BATCH)) throw nodeError(ctx, 'makes a tensor whose size depends on the batch; export with a fixed batch size');
  const v = ctx.attrs.get('value') as TensorProto | undefined;
  return plainOut(() =>
    tf.tidy(() => {
      const fill = v ? tensorFromProto(v, `ONNX node '${ctx.node}' value`) : tf.scalar(0);
      return tf.fill(shape, fill.dataSync()[0]!, fill.dtype);
    }),
  );
};


