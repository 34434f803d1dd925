import * as tf from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';

// onnx-proto is protobufjs's static code for ONNX's own onnx.proto (schema of ONNX 1.10, IR 8);
// fields added by later ONNX versions are skipped by its decoder, none of which a classifier needs.
export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;

/** An int64 as protobufjs gives it: a number, or a Long object for values past 2^53. */
type Int64 = number | { toString(): string };

const INT32_MAX = 2 ** 31 - 1;

/**
 * An int64 as an int32. Shapes and indices are far inside int32; the only larger values in
 * practice are INT64_MAX / INT64_MIN, which PyTorch writes as "to the end" in Slice, and which
 * keep that meaning when clamped.
 */
export function int64(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  const n = typeof v === 'number' ? v : Number(v.toString());
  return Math.max(-INT32_MAX - 1, Math.min(INT32_MAX, n));
}

/** Decodes an .onnx file. @throws when the bytes are not an ONNX model */
export function decodeModel(bytes: Uint8Array, path: string): ModelProto {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new Error(`${path} is not an ONNX model (${(err as Error).message}). Export it with torch.onnx.export or check the file.`);
  }
  if (!model.graph || (model.graph.node ?? []).length === 0) {
    throw new Error(`${path} holds no ONNX graph (no nodes). Export the model again with torch.onnx.export.`);
  }
  return model;
}

const D = onnx.TensorProto.DataType;

/** The tfjs dtype a tensor of this ONNX type becomes: all floats float32, all integers int32. */
function tfDtype(t: number, what: string): 'float32' | 'int32' | 'bool' {
  if (t === D.FLOAT || t === D.DOUBLE || t === D.FLOAT16) return 'float32';
  if (t === D.BOOL) return 'bool';
  if ([D.INT8, D.INT16, D.INT32, D.INT64, D.UINT8, D.UINT16, D.UINT32, D.UINT64].includes(t)) return 'int32';
  throw new Error(`${what} has ONNX data type ${D[t] ?? t}, which this importer does not read (it reads float, double, float16, integers and bool).`);
}

/** IEEE half bits to a float. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** The values of a TensorProto, from raw_data (little-endian) or its typed fields. */
function values(t: TensorProto, n: number, what: string): Float32Array | Int32Array | Uint8Array {
  const type = t.dataType ?? 0;
  const dtype = tfDtype(type, what);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const out = dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n);
  if (raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = { [D.FLOAT]: 4, [D.DOUBLE]: 8, [D.FLOAT16]: 2, [D.BOOL]: 1, [D.INT8]: 1, [D.UINT8]: 1, [D.INT16]: 2, [D.UINT16]: 2, [D.INT32]: 4, [D.UINT32]: 4, [D.INT64]: 8, [D.UINT64]: 8 }[type]!;
    if (raw.byteLength !== n * size) throw new Error(`${what}: raw_data holds ${raw.byteLength} bytes for ${n} values of ${D[type]}; the file is damaged.`);
    for (let i = 0; i < n; i++) {
      const o = i * size;
      switch (type) {
        case D.FLOAT: out[i] = view.getFloat32(o, true); break;
        case D.DOUBLE: out[i] = view.getFloat64(o, true); break;
        case D.FLOAT16: out[i] = halfToFloat(view.getUint16(o, true)); break;
        case D.BOOL: case D.UINT8: out[i] = view.getUint8(o); break;
        case D.INT8: out[i] = view.getInt8(o); break;
        case D.INT16: out[i] = view.getInt16(o, true); break;
        case D.UINT16: out[i] = view.getUint16(o, true); break;
        case D.INT32: out[i] = view.getInt32(o, true); break;
        case D.UINT32: out[i] = int64(view.getUint32(o, true)); break;
        case D.INT64: out[i] = int64(view.getBigInt64(o, true)); break;
        case D.UINT64: out[i] = int64(view.getBigUint64(o, true)); break;
      }
    }
    return out;
  }
  const typed: ArrayLike<Int64> =
    type === D.FLOAT ? t.floatData ?? [] : type === D.DOUBLE ? t.doubleData ?? [] : type === D.INT64 ? t.int64Data ?? [] : type === D.UINT64 || type === D.UINT32 ? t.uint64Data ?? [] : t.int32Data ?? [];
  if (typed.length !== n) throw new Error(`${what}: holds ${typed.length} values for shape [${(t.dims ?? []).map(int64).join(', ')}]; the file is damaged.`);
  for (let i = 0; i < n; i++) {
    const v = typed[i]!;
    out[i] = type === D.FLOAT16 ? halfToFloat(v as number) : typeof v === 'number' ? v : int64(v);
  }
  return out;
}

/** A TensorProto (an initializer or a Constant's value) as a tfjs tensor; the caller disposes. */
export function tensorFromProto(t: TensorProto, what: string): tf.Tensor {
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData ?? []).length > 0) {
    throw new Error(`${what} keeps its data in an external file; export the model with its weights inside (torch.onnx.export's default for models under 2 GB).`);
  }
  const shape = (t.dims ?? []).map(int64);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(values(t, n, what), shape, tfDtype(t.dataType ?? 0, what));
}

/** An attribute's value as plain JS: number, number[], string, TensorProto, or string[]. */
export type AttrValue = number | number[] | string | string[] | TensorProto;

/** A node's attributes by name. */
export function attributes(node: NodeProto): Map<string, AttrValue> {
  const out = new Map<string, AttrValue>();
  const A = onnx.AttributeProto.AttributeType;
  for (const a of node.attribute ?? []) {
    const name = a.name ?? '';
    switch (a.type) {
      case A.FLOAT: out.set(name, a.f ?? 0); break;
      case A.INT: out.set(name, int64(a.i)); break;
      case A.STRING: out.set(name, new TextDecoder().decode(a.s ?? new Uint8Array())); break;
      case A.TENSOR: out.set(name, a.t!); break;
      case A.FLOATS: out.set(name, [...(a.floats ?? [])]); break;
      case A.INTS: out.set(name, (a.ints ?? []).map(int64)); break;
      case A.STRINGS: out.set(name, (a.strings ?? []).map((s) => new TextDecoder().decode(s))); break;
      default: out.set(name, `unsupported attribute type ${a.type}`);
    }
  }
  return out;
}

/** The opset version of the default (ai.onnx) domain. */
export function defaultOpset(model: ModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry ? int64(entry.version) : 1;
}
