// Test support: the committed PyTorch fixtures (fixtures/onnx/) and tiny ONNX graphs written with
// onnx-proto, so the importer's tests need no Python.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from './proto.js';

export const FIXTURES = join(process.cwd(), 'fixtures/onnx');
export const FIXTURE_NAMES = ['resnet', 'mobilenet', 'vgg', 'normalized'] as const;

/** What scripts/export-onnx-fixtures.py stored beside each model. */
export interface Reference {
  model: string;
  opset: number;
  operators: string[];
  shape: [number, number, number, number];
  input: Float32Array;
  labels: number[];
  outputs: Float32Array;
  outputKind: 'logits' | 'probabilities';
  gradient: Float32Array;
  fgsm: { eps: number; cleanPredictions: number[]; adversarialPredictions: number[] };
}

function f32(b64: string): Float32Array {
  const u = Buffer.from(b64, 'base64');
  return new Float32Array(u.buffer.slice(u.byteOffset, u.byteOffset + u.length));
}

export function reference(name: string): Reference {
  const r = JSON.parse(readFileSync(join(FIXTURES, `${name}.reference.json`), 'utf8'));
  return { ...r, input: f32(r.inputNHWC), outputs: f32(r.outputs), gradient: f32(r.gradientNHWC) };
}

export interface TinyNode {
  op: string;
  name?: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, number | number[] | string>;
}

/** Writes a one-input, one-output ONNX model (float32) to a temp file and returns its path. */
export function writeTinyModel(spec: { nodes: TinyNode[]; inputShape: (number | string)[]; output: string; opset?: number; initializers?: Record<string, { dims: number[]; values: number[]; int64?: boolean }> }): string {
  const A = onnx.AttributeProto.AttributeType;
  const attr = (name: string, v: number | number[] | string) =>
    typeof v === 'string'
      ? { name, type: A.STRING, s: new TextEncoder().encode(v) }
      : Array.isArray(v)
        ? { name, type: A.INTS, ints: v }
        : Number.isInteger(v)
          ? { name, type: A.INT, i: v }
          : { name, type: A.FLOAT, f: v };
  const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    graph: {
      name: 'tiny',
      node: spec.nodes.map((n, i) => ({ opType: n.op, name: n.name ?? `${n.op}_${i}`, input: n.inputs, output: n.outputs, attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attr(k, v)) })),
      initializer: Object.entries(spec.initializers ?? {}).map(([name, t]) =>
        t.int64 ? { name, dims: t.dims, dataType: onnx.TensorProto.DataType.INT64, int64Data: t.values } : { name, dims: t.dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: t.values },
      ),
      input: [{ name: 'input', type: { tensorType: { elemType: 1, shape: { dim: spec.inputShape.map(dim) } } } }],
      output: [{ name: spec.output, type: { tensorType: { elemType: 1 } } }],
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'onnx-tiny-'));
  const path = join(dir, 'tiny.onnx');
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
  return path;
}
