import * as tf from '@tensorflow/tfjs';
import { RELU_GRAD } from '../backend/kernels/fusedTraining.js';
import { convGeometry, fullCorrelationPads } from '../backend/kernels/geometry.js';

type Layer = tf.layers.Layer;
type Pad = 'same' | 'valid';

/**
 * A LayersModel's inference graph with its weights frozen: each Conv2D / DepthwiseConv2D with the
 * inference batch norm after it folded into its weights and bias, and the ReLU after that fused
 * in, run as one FusedConv2D kernel forward and as an input-gradient-only backward (the ReLU mask,
 * then one transposed convolution; no filter gradient, which a frozen model never needs). The
 * stock path runs every layer as its own ops (conv, batch norm, ReLU, each a pass over the
 * activations, each with its own backward) and, through tf.fused.conv2d, computes filter
 * gradients too. Attacks and attributions evaluate a model thousands of times with the same
 * weights; the folding happens once per set of weights (see {@link FrozenGraph.run}).
 */
export interface FrozenGraph {
  /**
   * The model's output for `x` (pre-softmax scores with `preSoftmax` when the last layer ends in
   * a softmax, see {@link FrozenGraph.endsInSoftmax}); differentiable with respect to `x` only.
   */
  run(x: tf.Tensor4D, preSoftmax?: boolean): tf.Tensor;
  /** True when the output layer's softmax can be left off by `run(x, true)`. */
  readonly endsInSoftmax: boolean;
}

let enabled = true;

/**
 * Turns the frozen inference graph on or off for every model (on by default); benchmarks and
 * tests compare the two paths with it. Off, models run layer by layer as tfjs-layers runs them.
 */
export function setFrozenInference(on: boolean): void {
  enabled = on;
}

/** Whether the frozen inference graph is in use. */
export function frozenInferenceEnabled(): boolean {
  return enabled;
}

/** A node of the model's graph: one layer applied to the outputs of other nodes. */
interface GraphNode {
  id: number;
  layer: Layer;
  cls: string;
  inputs: number[];
  /** Ranks of the input tensors (with the batch axis). */
  inRanks: number[];
  consumers: number;
}

/** One step of the compiled graph. `weights` are read when the graph is (re)built. */
interface Step {
  out: number;
  /** Set for a layer run as its own step through its `call` (hooked or kept apart). */
  layer?: Layer;
  inputs: number[];
  run: (xs: tf.Tensor[], w: WeightSet) => tf.Tensor;
}

/** Host copies of the folded weights; uploaded per call, so no tensor outlives a call. */
type WeightSet = Map<string, { data: Float32Array; shape: number[] }>;

interface Compiled {
  steps: Step[];
  input: number;
  output: number;
  softmaxOut: boolean;
  /** The weight variables the folded values came from, and their data ids at folding time. */
  sources: tf.LayerVariable[];
  dataIds: unknown[];
  weights: WeightSet;
  fold: () => WeightSet;
}

const SUPPORTED = new Set(['InputLayer', 'Conv2D', 'DepthwiseConv2D', 'BatchNormalization', 'ReLU', 'Activation', 'Add', 'GlobalAveragePooling2D', 'Dense', 'Flatten', 'MaxPooling2D', 'Dropout']);

interface SymbolicLike {
  id: number;
  shape: (number | null)[];
  sourceLayer: Layer;
  nodeIndex: number;
  tensorIndex: number;
}
interface InboundNode {
  inputTensors: SymbolicLike[];
}

/** The graph behind model.outputs[0], in topological order; undefined when it is not a plain single-input graph. */
function readGraph(model: tf.LayersModel): { nodes: GraphNode[]; input: number; output: number } | undefined {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return undefined;
  const nodes = new Map<number, GraphNode>();
  const order: GraphNode[] = [];
  const visit = (t: SymbolicLike): number | undefined => {
    if (nodes.has(t.id)) return t.id;
    const layer = t.sourceLayer;
    const cls = layer.getClassName();
    if (!SUPPORTED.has(cls) || t.tensorIndex !== 0) return undefined;
    const inbound = (layer as unknown as { inboundNodes: InboundNode[] }).inboundNodes[t.nodeIndex];
    const ins = cls === 'InputLayer' ? [] : (inbound?.inputTensors ?? []);
    if (cls !== 'InputLayer' && ins.length === 0) return undefined;
    const inputs: number[] = [];
    for (const i of ins) {
      const id = visit(i);
      if (id === undefined) return undefined;
      inputs.push(id);
    }
    const node: GraphNode = { id: t.id, layer, cls, inputs, inRanks: ins.map((i) => i.shape.length), consumers: 0 };
    nodes.set(t.id, node);
    order.push(node);
    return t.id;
  };
  const output = visit(model.outputs[0] as unknown as SymbolicLike);
  const input = (model.inputs[0] as unknown as SymbolicLike).id;
  if (output === undefined || !nodes.has(input)) return undefined;
  for (const n of order) for (const i of n.inputs) nodes.get(i)!.consumers++;
  return { nodes: order, input, output };
}

interface ConvCfg {
  kernel: tf.LayerVariable;
  bias?: tf.LayerVariable | null;
  strides: [number, number];
  padding: Pad;
  dilationRate: number | [number, number];
  dataFormat: string;
  activation?: unknown;
  useBias?: boolean;
  depthwiseKernel?: tf.LayerVariable;
  depthMultiplier?: number;
}
interface BnCfg {
  axis: number;
  epsilon: number;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

const activationOf = (layer: Layer): string => {
  const a = (layer.getConfig() as { activation?: unknown }).activation;
  return typeof a === 'string' ? a : 'linear';
};
const isRelu = (n: GraphNode): boolean => {
  if (n.cls === 'ReLU') {
    const c = n.layer.getConfig() as { maxValue?: number | null; max_value?: number | null };
    return (c.maxValue ?? c.max_value ?? null) === null;
  }
  return n.cls === 'Activation' && activationOf(n.layer) === 'relu';
};
const isHooked = (layer: Layer): boolean => Object.prototype.hasOwnProperty.call(layer, 'call');
const unitDilation = (d: number | [number, number]) => (Array.isArray(d) ? d.every((v) => v === 1) : d === 1);

function host(v: tf.LayerVariable): Float32Array {
  return v.read().dataSync() as Float32Array;
}

/**
 * Compiles the graph, or returns undefined when some layer is outside what it folds (the stock
 * path then runs). Layers hooked at compile time (Grad-CAM's capture) stay separate steps that go
 * through their own `call`, so the hook sees what it would see in the stock path.
 */
function compile(model: tf.LayersModel, keep: ReadonlySet<Layer>): Compiled | undefined {
  const separate = (layer: Layer) => isHooked(layer) || keep.has(layer);
  const graph = readGraph(model);
  if (!graph) return undefined;
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const consumersOf = new Map<number, GraphNode[]>();
  for (const n of graph.nodes) for (const i of n.inputs) consumersOf.set(i, [...(consumersOf.get(i) ?? []), n]);
  const only = (id: number): GraphNode | undefined => {
    const c = consumersOf.get(id);
    return c && c.length === 1 && byId.get(id)!.consumers === 1 && id !== graph.output ? c[0] : undefined;
  };
  const alias = new Map<number, number>();
  const resolve = (id: number) => alias.get(id) ?? id;
  const steps: Step[] = [];
  const sources: tf.LayerVariable[] = [];
  const folders: ((w: WeightSet) => void)[] = [];
  let softmaxOut = false;

  for (const n of graph.nodes) {
    if (alias.has(n.id) || n.cls === 'InputLayer') continue;
    const inputs = n.inputs.map(resolve);
    if (separate(n.layer)) {
      const layer = n.layer as unknown as { call(i: tf.Tensor | tf.Tensor[], k: object): tf.Tensor | tf.Tensor[] };
      steps.push({ out: n.id, inputs, layer: n.layer, run: (xs) => single(layer.call(xs.length === 1 ? xs[0]! : xs, { training: false })) });
      continue;
    }
    if (n.cls === 'Conv2D' || n.cls === 'DepthwiseConv2D') {
      const c = n.layer as unknown as ConvCfg;
      if (c.dataFormat !== 'channelsLast' || !unitDilation(c.dilationRate)) return undefined;
      const depthwise = n.cls === 'DepthwiseConv2D';
      const kernel = depthwise ? c.depthwiseKernel! : c.kernel;
      const act = activationOf(n.layer);
      if (act !== 'linear' && act !== 'relu') return undefined;
      let relu = act === 'relu';
      let end = n.id;
      let bn: BnCfg | undefined;
      const next = only(n.id);
      if (!relu && next?.cls === 'BatchNormalization' && !separate(next.layer)) {
        const b = next.layer as unknown as BnCfg;
        const rank = (next.layer.outputShape as (number | null)[]).length;
        if (b.axis === -1 || b.axis === rank - 1) {
          bn = b;
          alias.set(next.id, n.id);
          end = next.id;
        }
      }
      const after = only(end);
      if (!relu && after && isRelu(after) && !separate(after.layer)) {
        relu = true;
        alias.set(after.id, n.id);
      }
      const key = `${n.id}`;
      const vars = [kernel, ...(c.bias && c.useBias !== false ? [c.bias] : []), ...(bn ? [bn.gamma, bn.beta, bn.movingMean, bn.movingVariance].filter((v): v is tf.LayerVariable => v !== null) : [])];
      sources.push(...vars);
      folders.push((w) => {
        const p = foldConv(kernel, c.useBias !== false ? (c.bias ?? undefined) : undefined, bn, depthwise);
        setPair(w, key, p);
        if (!depthwise) w.set(`${key}/wb`, flipped(p.w));
      });
      steps.push({ out: n.id, inputs, run: (xs, w) => frozenConv(xs[0] as tf.Tensor4D, w.get(`${key}/w`)!, w.get(`${key}/b`)!, w.get(`${key}/wb`), c.strides, c.padding, relu, depthwise) });
      continue;
    }
    const layer = n.layer;
    switch (n.cls) {
      case 'BatchNormalization': {
        const b = layer as unknown as BnCfg;
        const rank = (layer.outputShape as (number | null)[]).length;
        if (!(b.axis === -1 || b.axis === rank - 1)) return undefined;
        const key = `${n.id}`;
        sources.push(...[b.gamma, b.beta, b.movingMean, b.movingVariance].filter((v): v is tf.LayerVariable => v !== null));
        folders.push((w) => setPair(w, key, foldAffine(b)));
        steps.push({ out: n.id, inputs, run: (xs, w) => tf.add(tf.mul(xs[0]!, upload(w.get(`${key}/w`)!)), upload(w.get(`${key}/b`)!)) });
        break;
      }
      case 'ReLU':
      case 'Activation': {
        if (n.cls === 'ReLU' && !isRelu(n)) return undefined;
        const act = n.cls === 'ReLU' ? 'relu' : activationOf(layer);
        if (act === 'softmax' && n.id === graph.output) softmaxOut = true;
        if (!['relu', 'linear', 'softmax'].includes(act)) return undefined;
        steps.push({ out: n.id, inputs, run: (xs, _w, pre?: boolean) => applyActivation(xs[0]!, act, pre) } as Step);
        break;
      }
      case 'Add':
        steps.push({ out: n.id, inputs, run: (xs) => xs.slice(1).reduce((a, b) => tf.add(a, b), xs[0]!) });
        break;
      case 'GlobalAveragePooling2D':
        if ((layer as unknown as { dataFormat?: string }).dataFormat === 'channelsFirst') return undefined;
        steps.push({ out: n.id, inputs, run: (xs) => tf.mean(xs[0]!, [1, 2]) });
        break;
      case 'Flatten':
        steps.push({ out: n.id, inputs, run: (xs) => tf.reshape(xs[0]!, [xs[0]!.shape[0]!, -1]) });
        break;
      case 'Dropout':
        steps.push({ out: n.id, inputs, run: (xs) => xs[0]! });
        break;
      case 'MaxPooling2D': {
        const p = layer as unknown as { poolSize: [number, number]; strides: [number, number]; padding: Pad; dataFormat: string };
        if (p.dataFormat !== 'channelsLast') return undefined;
        steps.push({ out: n.id, inputs, run: (xs) => tf.maxPool(xs[0] as tf.Tensor4D, p.poolSize, p.strides, p.padding) });
        break;
      }
      case 'Dense': {
        const d = layer as unknown as { kernel: tf.LayerVariable; bias?: tf.LayerVariable | null; useBias?: boolean };
        const act = activationOf(layer);
        if (!['relu', 'linear', 'softmax'].includes(act)) return undefined;
        // Dense on a feature map acts on its last axis; only the rank-2 case is folded here.
        if (n.inRanks[0] !== 2) return undefined;
        if (act === 'softmax' && n.id === graph.output) softmaxOut = true;
        // The Dense weights are used as they are (nothing folds into them), so read at call time.
        const bias = d.useBias !== false ? d.bias : null;
        steps.push({
          out: n.id,
          inputs,
          run: ((xs: tf.Tensor[], _w: WeightSet, pre?: boolean) => {
            const z = tf.matMul(xs[0] as tf.Tensor2D, d.kernel.read() as tf.Tensor2D);
            return applyActivation(bias ? tf.add(z, bias.read()) : z, act, pre);
          }) as Step['run'],
        });
        break;
      }
      default:
        return undefined;
    }
  }
  const fold = (): WeightSet => {
    const w: WeightSet = new Map();
    for (const f of folders) f(w);
    return w;
  };
  const compiled: Compiled = { steps, input: graph.input, output: resolve(graph.output), softmaxOut, sources, dataIds: [], weights: new Map(), fold };
  return compiled;
}

function single(out: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (Array.isArray(out)) {
    if (out.length !== 1) throw new Error(`a hooked layer returned ${out.length} outputs`);
    return out[0]!;
  }
  return out;
}

function applyActivation(x: tf.Tensor, act: string, preSoftmax?: boolean): tf.Tensor {
  if (act === 'relu') return tf.relu(x);
  if (act === 'softmax') return preSoftmax ? x : tf.softmax(x);
  return x;
}

type Pair = { w: { data: Float32Array; shape: number[] }; b: { data: Float32Array; shape: number[] } };

function setPair(w: WeightSet, key: string, p: Pair): void {
  w.set(`${key}/w`, p.w);
  w.set(`${key}/b`, p.b);
}

/** a = gamma / sqrt(var + eps), b = beta - mean a: inference batch norm as y = a x + b. */
function bnScaleShift(bn: BnCfg): { a: Float64Array; b: Float64Array } {
  const mean = host(bn.movingMean);
  const variance = host(bn.movingVariance);
  const gamma = bn.gamma ? host(bn.gamma) : undefined;
  const beta = bn.beta ? host(bn.beta) : undefined;
  const c = mean.length;
  const a = new Float64Array(c);
  const b = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    a[k] = (gamma ? gamma[k]! : 1) / Math.sqrt(variance[k]! + bn.epsilon);
    b[k] = (beta ? beta[k]! : 0) - mean[k]! * a[k]!;
  }
  return { a, b };
}

function foldAffine(bn: BnCfg): Pair {
  const { a, b } = bnScaleShift(bn);
  return { w: { data: Float32Array.from(a), shape: [a.length] }, b: { data: Float32Array.from(b), shape: [b.length] } };
}

/**
 * W'[.., o] = W[.., o] a[o] and b' = b a + shift: the conv followed by batch norm as one conv.
 * For a depthwise kernel [fh, fw, C, m] the output channel of (c, j) is c m + j.
 */
function foldConv(kernel: tf.LayerVariable, bias: tf.LayerVariable | undefined, bn: BnCfg | undefined, depthwise: boolean): Pair {
  const shape = kernel.shape as number[];
  const w = Float32Array.from(host(kernel));
  const outC = depthwise ? shape[2]! * shape[3]! : shape[3]!;
  const b0 = bias ? host(bias) : new Float32Array(outC);
  if (!bn) return { w: { data: w, shape }, b: { data: Float32Array.from(b0), shape: [outC] } };
  const { a, b } = bnScaleShift(bn);
  // Weights are laid out [fh, fw, C, O] (or [fh, fw, C, m]): the output channel is the index
  // modulo outC in both layouts.
  for (let i = 0; i < w.length; i++) w[i] = w[i]! * a[i % outC]!;
  const bias2 = new Float32Array(outC);
  for (let k = 0; k < outC; k++) bias2[k] = b0[k]! * a[k]! + b[k]!;
  return { w: { data: w, shape }, b: { data: bias2, shape: [outC] } };
}

/**
 * The filter of a stride-1 conv's input gradient, [fh, fw, O, C] reversed in space: dx is then one
 * forward conv of dy (what conv2dBackpropInput.ts builds from the filter on every call, here once
 * per set of weights).
 */
function flipped(v: { data: Float32Array; shape: number[] }): { data: Float32Array; shape: number[] } {
  const [fh, fw, c, o] = v.shape as [number, number, number, number];
  const out = new Float32Array(v.data.length);
  for (let i = 0; i < fh; i++)
    for (let j = 0; j < fw; j++)
      for (let k = 0; k < c; k++) for (let m = 0; m < o; m++) out[((i * fw + j) * o + m) * c + k] = v.data[(((fh - 1 - i) * fw + (fw - 1 - j)) * c + k) * o + m]!;
  return { data: out, shape: [fh, fw, o, c] };
}

/** True when Conv2DBackpropInput is this project's kernel (which runs the same conv as {@link flipped} gives). */
function fastBackprop(): boolean {
  return tf.getBackend() === 'wasm' && (tf.getKernel('Conv2DBackpropInput', 'wasm') as { __fast?: boolean } | undefined)?.__fast === true;
}

function upload(v: { data: Float32Array; shape: number[] }): tf.Tensor {
  return tf.tensor(v.data, v.shape, 'float32');
}

/**
 * conv (+ bias) (+ ReLU) forward as one fused kernel; backward the input gradient only: the ReLU
 * mask from the saved output (y > 0 exactly where the pre-activation is), then one transposed
 * convolution through the registered Conv2DBackpropInput kernel (on wasm, ours).
 */
function frozenConv(
  x: tf.Tensor4D,
  wv: { data: Float32Array; shape: number[] },
  bv: { data: Float32Array; shape: number[] },
  wb: { data: Float32Array; shape: number[] } | undefined,
  strides: [number, number],
  pad: Pad,
  relu: boolean,
  depthwise: boolean,
): tf.Tensor4D {
  const filter = upload(wv) as tf.Tensor4D;
  const bias = upload(bv);
  const f = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const attrs = { strides, pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined, activation: relu ? 'relu' : 'linear', leakyreluAlpha: 0 };
    const y = tf.engine().runKernel(depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D', { x: xi, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
    save(relu ? [filter, y] : [filter]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [w, out] = saved as [tf.Tensor4D, tf.Tensor4D | undefined];
        let g = dy as tf.Tensor4D;
        if (out) {
          g = tf.getBackend() === 'wasm' && tf.getKernel(RELU_GRAD, 'wasm') ? (tf.engine().runKernel(RELU_GRAD, { dy: g, x: out }, { cap: Infinity } as unknown as tf.NamedAttrMap) as tf.Tensor4D) : tf.mul(g, tf.step(out));
        }
        if (wb && strides[0] === 1 && strides[1] === 1 && fastBackprop()) {
          const [fh, fw] = wv.shape as [number, number];
          const pads = fullCorrelationPads(convGeometry(xi.shape, wv.shape, strides, pad, undefined, false), fh, fw);
          if (pads) return tf.conv2d(g, upload(wb) as tf.Tensor4D, 1, pads);
        }
        const back = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: xi.shape, dilations: [1, 1] };
        return tf.engine().runKernel(depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput', { dy: g, filter: w }, back as unknown as tf.NamedAttrMap) as tf.Tensor;
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor4D;
}

const cache = new WeakMap<tf.LayersModel, Map<string, Compiled | null>>();

const kernelsAvailable = (): boolean => ['FusedConv2D', 'FusedDepthwiseConv2D', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropInput'].every((k) => tf.getKernel(k, tf.getBackend()) !== undefined);

/**
 * The compilation of `model` with its hooked layers and `keep` as separate steps (the set decides
 * which layers may fuse, so each set has its own), or undefined.
 */
function compiled(model: tf.LayersModel, keep: readonly Layer[] = []): Compiled | undefined {
  if (!enabled || !kernelsAvailable()) return undefined;
  let perSet = cache.get(model);
  if (!perSet) cache.set(model, (perSet = new Map()));
  const apart = new Set<Layer>(keep);
  for (const l of model.layers) if (isHooked(l)) apart.add(l);
  const key = [...apart].map((l) => l.name).sort().join('\u0000');
  let c = perSet.get(key);
  if (c === undefined) {
    c = compile(model, new Set(keep)) ?? null;
    perSet.set(key, c);
  }
  return c ?? undefined;
}

/**
 * Folds the weights on first use and again whenever a source variable's data changed (a training
 * step assigns new data), so a model trained between attacks is never stale.
 */
function fresh(c: Compiled): Compiled {
  const ids = c.sources.map((v) => v.read().dataId);
  if (ids.length !== c.dataIds.length || ids.some((id, i) => id !== c.dataIds[i])) {
    c.weights = c.fold();
    c.dataIds = ids;
  }
  return c;
}

function evaluate(c: Compiled, start: Map<number, tf.Tensor>, steps: readonly Step[], preSoftmax: boolean): tf.Tensor {
  return tf.tidy(() => {
    const values = new Map(start);
    for (const s of steps) {
      const run = s.run as (xs: tf.Tensor[], w: WeightSet, pre?: boolean) => tf.Tensor;
      values.set(s.out, run(s.inputs.map((i) => values.get(i)!), c.weights, s.out === c.output ? preSoftmax : undefined));
    }
    return values.get(c.output)!;
  });
}

/**
 * The frozen graph of `model`, or undefined when it is turned off, when the backend lacks the
 * fused kernels, or when the model holds a layer it does not fold (then the model runs as usual).
 */
export function frozenGraph(model: tf.LayersModel): FrozenGraph | undefined {
  const c = compiled(model);
  if (!c) return undefined;
  return {
    endsInSoftmax: c.softmaxOut,
    run: (x, preSoftmax = false) => evaluate(fresh(c), new Map([[c.input, x]]), c.steps, preSoftmax),
  };
}

/**
 * The part of the frozen graph after `layer`: a function from that layer's output to the model's
 * output (pre-softmax with `preSoftmax`), for a gradient with respect to an inner activation
 * (Grad-CAM) without running the layers before it again. Undefined when the layer is not a single
 * node of a frozen graph, or when a later layer also reads an earlier activation (a skip
 * connection over it), and whenever {@link frozenGraph} would be.
 */
export function frozenHead(model: tf.LayersModel, layer: Layer): { run(a: tf.Tensor, preSoftmax?: boolean): tf.Tensor; endsInSoftmax: boolean } | undefined {
  const c = compiled(model, [layer]);
  if (!c) return undefined;
  const at = c.steps.filter((s) => s.layer === layer);
  if (at.length !== 1) return undefined;
  const from = at[0]!.out;
  const known = new Set([from]);
  const after: Step[] = [];
  for (const s of c.steps.slice(c.steps.indexOf(at[0]!) + 1)) {
    const reads = s.inputs.filter((i) => known.has(i)).length;
    if (reads === 0) continue;
    if (reads !== s.inputs.length) return undefined;
    known.add(s.out);
    after.push(s);
  }
  if (!known.has(c.output)) return undefined;
  return {
    endsInSoftmax: c.softmaxOut,
    run: (a, preSoftmax = false) => evaluate(fresh(c), new Map([[from, a]]), after, preSoftmax),
  };
}
