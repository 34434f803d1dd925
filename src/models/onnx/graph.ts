import * as tf from '@tensorflow/tfjs';
import { BATCH, type Layout, type OpContext, type OpInput, type OpStep, storedShape, toPlain } from './op.js';
import { OPERATORS } from './ops/index.js';
import { attributes, defaultOpset, int64, tensorFromProto, type ModelProto, type NodeProto } from './proto.js';

/** One node's work at run time. */
export interface Step {
  readonly node: string;
  readonly opType: string;
  /** Per ONNX input: a value slot, a constant tensor, or undefined (omitted). */
  readonly ins: readonly (number | tf.Tensor | undefined)[];
  readonly outs: readonly number[];
  readonly run: OpStep['run'];
}

/** What the importer knows about a value computed from the image. */
export interface ValueInfo {
  readonly name: string;
  readonly slot: number;
  readonly layout: Layout;
  /** Logical (ONNX) shape, batch axis {@link BATCH}. */
  readonly shape: readonly number[];
  /** The node that makes it, and its operator. */
  readonly node: string;
  readonly opType: string;
  /** Index of that node among the steps. */
  readonly step: number;
}

/** An imported graph: steps over value slots, constants converted once. */
export interface CompiledGraph {
  readonly opset: number;
  readonly inputName: string;
  /** Logical input shape [BATCH, C, H, W] (or [BATCH, H, W, C] for an NHWC model). */
  readonly inputShape: readonly number[];
  readonly inputLayout: Layout;
  readonly outputName: string;
  readonly output: ValueInfo;
  readonly steps: readonly Step[];
  /** Values computed from the image, in the order they are made (the input first). */
  readonly values: readonly ValueInfo[];
  /** Every tensor the graph holds (weights, converted constants). */
  readonly kept: readonly tf.Tensor[];
  /** Operators of the file, with how many nodes of each. */
  readonly operators: Readonly<Record<string, number>>;
  /** Conv outputs folded with the batch norm after them, to that batch norm's output name. */
  readonly folded: ReadonlyMap<string, string>;
}

const DEFAULT_DOMAINS = new Set(['', 'ai.onnx']);

/** Refuses, before any work, a model using operators the importer does not run. */
function checkOperators(model: ModelProto, path: string): void {
  const bad = (model.graph!.node ?? []).filter((n) => !DEFAULT_DOMAINS.has(n.domain ?? '') || !Object.hasOwn(OPERATORS, n.opType ?? ''));
  if (bad.length === 0) return;
  const list = bad.slice(0, 5).map((n) => `'${n.domain ? `${n.domain}.` : ''}${n.opType}' (node '${n.name || n.output?.[0]}')`);
  throw new Error(
    `${path}: unsupported ONNX operator${bad.length > 1 ? 's' : ''} ${list.join(', ')}${bad.length > 5 ? ` and ${bad.length - 5} more` : ''}. ` +
      `This importer runs: ${Object.keys(OPERATORS).sort().join(', ')}. Export the model without it, or open an issue naming the operator.`,
  );
}

/**
 * For a Conv whose only consumer is a BatchNormalization with constant parameters, the
 * convolution with the batch norm folded in (W * a per output channel, bias * a + b): exact at
 * inference, and one op fewer per call. Returns the new weight and bias inputs and the BN node.
 */
function foldBatchNorm(conv: NodeProto, nodes: readonly NodeProto[], index: number, consts: ReadonlyMap<string, tf.Tensor>, uses: ReadonlyMap<string, number>, keep: <T extends tf.Tensor>(t: T) => T): { weight: tf.Tensor; bias: tf.Tensor; bn: NodeProto } | undefined {
  const out = conv.output?.[0];
  const w = consts.get(conv.input?.[1] ?? '');
  if (!out || !w || uses.get(out) !== 1 || (conv.input?.[2] && !consts.has(conv.input[2]))) return undefined;
  const bn = nodes.slice(index + 1).find((n) => n.input?.[0] === out);
  if (!bn || bn.opType !== 'BatchNormalization' || (bn.domain ?? '') !== '' || (bn.output ?? []).filter(Boolean).length !== 1) return undefined;
  const params = (bn.input ?? []).slice(1, 5).map((n) => consts.get(n));
  const attrs = attributes(bn);
  if (params.length !== 4 || params.some((p) => !p) || (attrs.get('training_mode') ?? 0) !== 0) return undefined;
  const [scale, shift, mean, variance] = params as tf.Tensor[];
  const eps = (attrs.get('epsilon') as number | undefined) ?? 1e-5;
  const bias = conv.input?.[2] ? consts.get(conv.input[2]) : undefined;
  const [weight, b] = tf.tidy(() => {
    const a = tf.div(scale!, tf.sqrt(tf.add(variance!, eps)));
    return [keep(tf.mul(w, tf.reshape(a, [-1, 1, 1, 1]))), keep(tf.add(tf.mul(bias ?? tf.zerosLike(a), a), tf.sub(shift!, tf.mul(mean!, a))))];
  });
  return { weight: weight!, bias: b!, bn };
}

/** The symbolic logical shape of a value from its stored shapes at probe batches 1 and 2. */
function symbolicShape(a: readonly number[], b: readonly number[], layout: Layout): number[] {
  const logical = (s: readonly number[]) => (layout === 'nhwc' ? [s[0]!, s[3]!, s[1]!, s[2]!] : [...s]);
  const [p, q] = [logical(a), logical(b)];
  return p.map((d, i) => (d === q[i] ? d : d === 1 && q[i] === 2 ? BATCH : NaN));
}

/**
 * Imports a graph: every node gets its step, built once; a node whose inputs are all constants
 * (weights, Constant nodes, the shapes PyTorch's exporter computes around a flatten) is folded
 * to a constant here. Two probe batches (1 and 2 images) run through the steps as they are built,
 * so every value's shape is known, with the batch axis symbolic.
 */
export function compileGraph(model: ModelProto, path: string, input: { layout: 'NCHW' | 'NHWC'; explicit?: boolean }): CompiledGraph {
  checkOperators(model, path);
  const graph = model.graph!;
  const opset = defaultOpset(model);
  const kept: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => {
    kept.push(tf.keep(t));
    return t;
  };
  const consts = new Map<string, tf.Tensor>();
  const dyn = new Map<string, ValueInfo>();
  const values: ValueInfo[] = [];
  const probes: tf.Tensor[][] = [[], []];
  const steps: Step[] = [];
  const operators: Record<string, number> = {};
  const folded = new Map<string, string>();
  const skip = new Set<NodeProto>();
  const nodes = graph.node ?? [];
  const uses = new Map<string, number>();
  for (const n of [...nodes.flatMap((x) => x.input ?? []), ...(graph.output ?? []).map((o) => o.name ?? '')]) uses.set(n, (uses.get(n) ?? 0) + 1);
  try {
    for (const init of graph.initializer ?? []) consts.set(init.name ?? '', keep(tensorFromProto(init, `${path}: initializer '${init.name}'`)));
    const inputs = (graph.input ?? []).filter((i) => !consts.has(i.name ?? ''));
    if (inputs.length !== 1) throw new Error(`${path}: the graph has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); an image classifier has one.`);
    const inp = inputs[0]!;
    const dims = inp.type?.tensorType?.shape?.dim ?? [];
    const declared = dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null && int64(d.dimValue) > 0 ? int64(d.dimValue) : undefined));
    if (declared.length !== 4 || declared.slice(1).some((d) => d === undefined)) {
      const shown = dims.map((d) => d.dimParam || (d.dimValue !== undefined && d.dimValue !== null ? int64(d.dimValue) : '?')).join(', ');
      throw new Error(`${path}: input '${inp.name}' has shape [${shown}]; the importer needs an image input [N, C, H, W] with fixed C, H and W. Export with a fixed image size (dynamic_axes only for the batch).`);
    }
    const [c, , w] = declared.slice(1) as number[];
    if (input.layout === 'NCHW' && !input.explicit && c! > 4 && [1, 3, 4].includes(w!)) {
      throw new Error(`${path}: input '${inp.name}' has shape [N, ${declared.slice(1).join(', ')}], which looks channels-last (NHWC), but the layout defaults to NCHW. Load it with { layout: 'NHWC' } (or set preprocessing.layout in its card), or { layout: 'NCHW' } if it really has ${c} channels.`);
    }
    const inputLayout: Layout = input.layout === 'NCHW' ? 'nhwc' : 'plain';
    const inputShape = [BATCH, ...(declared.slice(1) as number[])];
    const inputInfo: ValueInfo = { name: inp.name ?? 'input', slot: 0, layout: inputLayout, shape: inputShape, node: '(input)', opType: 'Input', step: -1 };
    dyn.set(inputInfo.name, inputInfo);
    values.push(inputInfo);
    for (const [p, b] of [[0, 1], [1, 2]] as const) probes[p]![0] = tf.keep(tf.fill(storedShape([b, ...inputShape.slice(1)], inputLayout), 0.5));

    for (const [index, node0] of nodes.entries()) {
      let node = node0;
      const opType = node.opType!;
      const name = node.name || `${opType}:${node.output?.[0] ?? steps.length}`;
      operators[opType] = (operators[opType] ?? 0) + 1;
      if (skip.has(node)) continue;
      let replaced: Map<number, tf.Tensor> | undefined;
      if (opType === 'Conv') {
        const fold = foldBatchNorm(node, nodes, index, consts, uses, keep);
        if (fold) {
          skip.add(fold.bn);
          folded.set(node.output![0]!, fold.bn.output![0]!);
          node = { ...node, input: [node.input![0]!, '#folded-weight', '#folded-bias'], output: [fold.bn.output![0]!] };
          replaced = new Map([[1, fold.weight], [2, fold.bias]]);
        }
      }
      const inputsOf: (OpInput | undefined)[] = (node.input ?? []).map((n, i) => {
        const r = replaced?.get(i);
        if (r) return { name: n, value: r, layout: 'plain', shape: r.shape };
        if (!n) return undefined;
        const c = consts.get(n);
        if (c) return { name: n, value: c, layout: 'plain', shape: c.shape };
        const d = dyn.get(n);
        if (d) return { name: n, layout: d.layout, shape: d.shape };
        throw new Error(`${path}: node '${name}' (${opType}) reads '${n}', which no earlier node makes; the graph is not in topological order or is damaged.`);
      });
      const ctx: OpContext = { node: name, opType, opset, inputs: inputsOf, attrs: attributes(node), keep };
      let step: OpStep | undefined;
      tf.tidy(() => {
        step = OPERATORS[opType]!(ctx);
      });
      const outNames = (node.output ?? []).slice(0, step!.layouts.length);
      if (step!.static || inputsOf.every((i) => i === undefined || i.value)) {
        const outs = tf.tidy(() => step!.run(inputsOf.map((i) => i?.value), { batch: NaN }).map((t, k) => toPlain(t, step!.layouts[k]!)));
        outs.forEach((t, k) => (outNames[k] ? consts.set(outNames[k]!, keep(t)) : t.dispose()));
        continue;
      }
      const ins = inputsOf.map((i) => (i === undefined ? undefined : i.value ?? dyn.get(i.name)!.slot));
      const outs = outNames.map(() => values.length + 0);
      const made: ValueInfo[] = [];
      const results = [0, 1].map((p) =>
        tf.tidy(() => step!.run(ins.map((i) => (typeof i === 'number' ? probes[p]![i] : i)), { batch: p + 1 })).map((t) => tf.keep(t)),
      );
      outNames.forEach((outName, k) => {
        const slot = values.length;
        outs[k] = slot;
        const info: ValueInfo = { name: outName, slot, layout: step!.layouts[k]!, shape: symbolicShape(results[0]![k]!.shape, results[1]![k]!.shape, step!.layouts[k]!), node: name, opType, step: steps.length };
        values.push(info);
        made.push(info);
        if (outName) dyn.set(outName, info);
        probes[0]![slot] = results[0]![k]!;
        probes[1]![slot] = results[1]![k]!;
      });
      steps.push({ node: name, opType, ins, outs, run: step!.run });
    }

    const outputs = graph.output ?? [];
    if (outputs.length !== 1) throw new Error(`${path}: the graph has ${outputs.length} outputs (${outputs.map((o) => o.name).join(', ')}); a classifier has one, [N, K] class scores.`);
    const outputName = outputs[0]!.name ?? '';
    const output = dyn.get(outputName);
    if (!output) throw new Error(`${path}: output '${outputName}' ${consts.has(outputName) ? 'does not depend on the input image' : 'is made by no node'}.`);
    if (output.shape.length !== 2 || output.shape[0] !== BATCH) {
      throw new Error(`${path}: output '${outputName}' has shape [${output.shape.map((d) => (d === BATCH ? 'N' : d)).join(', ')}]; a classifier outputs [N, K] class scores. Flatten the model's head before exporting.`);
    }
    return { opset, inputName: inputInfo.name, inputShape, inputLayout, outputName, output, steps, values, kept, operators, folded };
  } catch (err) {
    tf.dispose(kept);
    throw err;
  } finally {
    for (const p of probes) tf.dispose(p.filter((t) => t !== undefined));
  }
}

/** Runs the steps on an input stored in the graph's input layout; hooks may replace values by slot. Inside the caller's tidy. */
export function runGraph(g: CompiledGraph, x: tf.Tensor, hooks?: ReadonlyMap<number, (computed: tf.Tensor) => tf.Tensor>): tf.Tensor {
  const env: tf.Tensor[] = new Array(g.values.length);
  env[0] = hooks?.get(0) ? hooks.get(0)!(x) : x;
  const rt = { batch: x.shape[0]! };
  for (const s of g.steps) {
    const ys = s.run(s.ins.map((i) => (typeof i === 'number' ? env[i] : i)), rt);
    s.outs.forEach((slot, k) => {
      const hook = hooks?.get(slot);
      env[slot] = hook ? hook(ys[k]!) : ys[k]!;
    });
  }
  return toPlain(env[g.output.slot]!, g.output.layout);
}
