import * as tf from '@tensorflow/tfjs';
import { ADD_RELU_GRAD, RELU_GRAD } from '../backend/kernels/fusedTraining.js';
import { convGeometry, fullCorrelationPads, phaseInput } from '../backend/kernels/geometry.js';

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
  /**
   * How far a change in one input pixel spreads (see {@link frozenOcclusion}): 'pointwise' (an
   * output pixel reads only the same pixel: batch norm, ReLU, dropout), 'add' (the same, of several
   * inputs), or a convolution (`kh` x `kw`, strides `sh`, `sw`), with `valid` the same convolution
   * without padding. Unset: any output may read any input pixel.
   */
  local?: { op: 'pointwise' } | { op: 'add' } | { op: 'conv'; kh: number; kw: number; sh: number; sw: number; pad: Pad; valid: (x: tf.Tensor4D, w: WeightSet) => tf.Tensor };
  /** How the graph backward ({@link graphBackward}) differentiates the step; unset: the tape does. */
  back?: Back;
}

/**
 * A step's input gradient, for the graph backward. `mask`: the step's output is a ReLU's, so its
 * incoming gradient is masked by it (summed and masked in one pass where two paths meet).
 */
type Back =
  | { t: 'conv'; key: string; strides: [number, number]; pad: Pad; relu: boolean }
  | { t: 'affine'; key: string }
  | { t: 'act'; act: 'relu' | 'linear' | 'softmax' }
  | { t: 'add' }
  | { t: 'mean' }
  | { t: 'reshape' }
  | { t: 'dense'; kernel: tf.LayerVariable; act: 'relu' | 'linear' | 'softmax' };

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
        if (!depthwise && c.strides[0] === c.strides[1] && c.strides[0] > 1) w.set(`${key}/wp`, phaseFilter(p.w, c.strides[0]));
      });
      const [fh, fw] = kernel.shape as number[];
      const conv = (x: tf.Tensor4D, w: WeightSet, pad: Pad) => frozenConv(x, w.get(`${key}/w`)!, w.get(`${key}/b`)!, w.get(`${key}/wb`), c.strides, pad, relu, depthwise);
      steps.push({
        out: n.id,
        inputs,
        run: (xs, w) => conv(xs[0] as tf.Tensor4D, w, c.padding),
        local: { op: 'conv', kh: fh!, kw: fw!, sh: c.strides[0], sw: c.strides[1], pad: c.padding, valid: (x, w) => conv(x, w, 'valid') },
        ...(depthwise ? {} : { back: { t: 'conv', key, strides: c.strides, pad: c.padding, relu } as Back }),
      });
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
        steps.push({ out: n.id, inputs, run: (xs, w) => tf.add(tf.mul(xs[0]!, upload(w.get(`${key}/w`)!)), upload(w.get(`${key}/b`)!)), back: { t: 'affine', key }, local: { op: 'pointwise' } });
        break;
      }
      case 'ReLU':
      case 'Activation': {
        if (n.cls === 'ReLU' && !isRelu(n)) return undefined;
        const act = n.cls === 'ReLU' ? 'relu' : activationOf(layer);
        if (act === 'softmax' && n.id === graph.output) softmaxOut = true;
        if (!['relu', 'linear', 'softmax'].includes(act)) return undefined;
        steps.push({ out: n.id, inputs, run: (xs, _w, pre?: boolean) => applyActivation(xs[0]!, act, pre), back: { t: 'act', act }, local: act === 'softmax' ? undefined : { op: 'pointwise' } } as Step);
        break;
      }
      case 'Add':
        steps.push({ out: n.id, inputs, run: (xs) => xs.slice(1).reduce((a, b) => tf.add(a, b), xs[0]!), back: { t: 'add' }, local: { op: 'add' } });
        break;
      case 'GlobalAveragePooling2D':
        if ((layer as unknown as { dataFormat?: string }).dataFormat === 'channelsFirst') return undefined;
        steps.push({ out: n.id, inputs, run: (xs) => tf.mean(xs[0]!, [1, 2]), back: { t: 'mean' } });
        break;
      case 'Flatten':
        steps.push({ out: n.id, inputs, run: (xs) => tf.reshape(xs[0]!, [xs[0]!.shape[0]!, -1]), back: { t: 'reshape' } });
        break;
      case 'Dropout':
        steps.push({ out: n.id, inputs, run: (xs) => xs[0]!, back: { t: 'reshape' }, local: { op: 'pointwise' } });
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
          back: { t: 'dense', kernel: d.kernel, act: act as 'relu' | 'linear' | 'softmax' },
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

/**
 * The filter of a stride-s conv's input gradient as one stride-1 conv over s*s phases (what
 * conv2dBackpropInputFast builds from the filter on every call, here once per set of weights):
 * [kh, kw, O, s*s*C] with out[a, b, m, (rh*s + rw)*C + k] = W[(kh-1-a)*s + rh, (kw-1-b)*s + rw, k, m],
 * zero past the filter's extent.
 */
function phaseFilter(v: { data: Float32Array; shape: number[] }, s: number): { data: Float32Array; shape: number[] } {
  const [fh, fw, c, o] = v.shape as [number, number, number, number];
  const kh = Math.ceil(fh / s);
  const kw = Math.ceil(fw / s);
  const out = new Float32Array(kh * kw * o * s * s * c);
  for (let a = 0; a < kh; a++)
    for (let b = 0; b < kw; b++)
      for (let rh = 0; rh < s; rh++)
        for (let rw = 0; rw < s; rw++) {
          const i = (kh - 1 - a) * s + rh;
          const j = (kw - 1 - b) * s + rw;
          if (i >= fh || j >= fw) continue;
          for (let k = 0; k < c; k++) for (let m = 0; m < o; m++) out[((a * kw + b) * o + m) * s * s * c + (rh * s + rw) * c + k] = v.data[((i * fw + j) * c + k) * o + m]!;
        }
  return { data: out, shape: [kh, kw, o, s * s * c] };
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
  const attrs = { strides, pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined, activation: relu ? 'relu' : 'linear', leakyreluAlpha: 0 };
  if (!recording()) {
    // Nothing will ask for a gradient: the fused kernel alone, without customGrad's bookkeeping.
    const y = tf.engine().runKernel(depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D', { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
    tf.dispose([filter, bias]);
    return y;
  }
  const f = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = fusedForward(xi as tf.Tensor4D, filter, bias, strides, pad, relu, depthwise);
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

/** conv + bias (+ ReLU) as one fused kernel. */
function fusedForward(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor, strides: [number, number], pad: Pad, relu: boolean, depthwise: boolean): tf.Tensor4D {
  const attrs = { strides, pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined, activation: relu ? 'relu' : 'linear', leakyreluAlpha: 0 };
  return tf.engine().runKernel(depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D', { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** g * [y > 0] (y a ReLU's output): the wasm single-pass kernel when registered, else tf ops. */
function reluMask(g: tf.Tensor, y: tf.Tensor): tf.Tensor {
  if (tf.getBackend() === 'wasm' && tf.getKernel(RELU_GRAD, 'wasm')) return tf.engine().runKernel(RELU_GRAD, { dy: g, x: y }, { cap: Infinity } as unknown as tf.NamedAttrMap) as tf.Tensor;
  return tf.mul(g, tf.step(y));
}

/** (a + b) * [y > 0]: a gradient arriving by two paths at a ReLU's output, summed and masked in one pass on wasm. */
function addReluMask(a: tf.Tensor, b: tf.Tensor, y: tf.Tensor): tf.Tensor {
  if (tf.getBackend() === 'wasm' && tf.getKernel(ADD_RELU_GRAD, 'wasm')) return tf.engine().runKernel(ADD_RELU_GRAD, { a, b, y }, {}) as tf.Tensor;
  return reluMask(tf.add(a, b), y);
}

let graphBackwardOn = true;

/**
 * Chooses how the frozen graph is differentiated: in one pass over the graph (the default; see
 * {@link graphBackward}) or through the gradient tape, one custom gradient per convolution (the
 * earlier route). Tests and benchmarks compare the two.
 */
export function setFrozenGraphBackward(on: boolean): void {
  graphBackwardOn = on;
}

/**
 * The steps from `from` to the output as ONE differentiable op: the forward runs the fused kernels
 * with no tape (so no tape node, saved clone or gradient closure per layer), keeping only the ReLU
 * outputs the backward masks with; the backward walks the steps in reverse, sums the gradients
 * that reach a node by two paths and masks them in one pass (ADD_RELU_GRAD), and runs each
 * convolution's input gradient with the filters prepared at folding time (flipped, or split into
 * stride phases). Only the gradient with respect to the input is computed. Every step must have a
 * {@link Back} rule.
 */
function graphBackward(c: Compiled, from: number, steps: readonly Step[], preSoftmax: boolean): (x: tf.Tensor) => tf.Tensor {
  const w = c.weights;
  const last = c.output;
  return tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const values = new Map<number, tf.Tensor>([[from, xi]]);
    const inShapes: number[][][] = [];
    const savedAt = new Map<number, number>();
    const keep: tf.Tensor[] = [];
    steps.forEach((s, k) => {
      const xs = s.inputs.map((i) => values.get(i)!);
      inShapes.push(xs.map((t) => t.shape));
      const b = s.back!;
      let y: tf.Tensor;
      let masked = false;
      if (b.t === 'conv') {
        y = fusedForward(xs[0] as tf.Tensor4D, upload(w.get(`${b.key}/w`)!) as tf.Tensor4D, upload(w.get(`${b.key}/b`)!), b.strides, b.pad, b.relu, false);
        masked = b.relu;
      } else {
        const run = s.run as (xs: tf.Tensor[], w: WeightSet, pre?: boolean) => tf.Tensor;
        y = run(xs, w, s.out === last ? preSoftmax : undefined);
        if (b.t === 'act' || b.t === 'dense') masked = b.act === 'relu' || (b.act === 'softmax' && !(s.out === last && preSoftmax));
      }
      if (masked) {
        savedAt.set(k, keep.length);
        keep.push(y);
      }
      values.set(s.out, y);
    });
    save(keep);
    return {
      value: values.get(last)!,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const grads = new Map<number, tf.Tensor[]>([[last, [dy as tf.Tensor]]]);
        const push = (id: number, g: tf.Tensor) => grads.set(id, [...(grads.get(id) ?? []), g]);
        const sum = (gs: tf.Tensor[]) => (gs.length === 1 ? gs[0]! : tf.addN(gs));
        for (let k = steps.length - 1; k >= 0; k--) {
          const s = steps[k]!;
          const gs = grads.get(s.out);
          if (!gs) continue; // no path from here to the output
          grads.delete(s.out);
          const b = s.back!;
          const at = savedAt.get(k);
          const y = at === undefined ? undefined : saved[at]!;
          const relu = y !== undefined && (b.t === 'conv' || ((b.t === 'act' || b.t === 'dense') && b.act === 'relu'));
          // The gradient at the step's output (ReLU mask applied where its output is a ReLU's).
          let g = relu ? (gs.length === 2 ? addReluMask(gs[0]!, gs[1]!, y) : reluMask(sum(gs), y)) : sum(gs);
          if (y && !relu) {
            // softmax: dy*y - sum(dy*y) y, as tfjs differentiates it
            const dyy = tf.mul(g, y);
            g = tf.sub(dyy, tf.mul(tf.sum(dyy, [-1], true), y));
          }
          const shapes = inShapes[k]!;
          switch (b.t) {
            case 'conv':
              push(s.inputs[0]!, convInputGrad(g as tf.Tensor4D, w, b, shapes[0]!));
              break;
            case 'affine':
              push(s.inputs[0]!, tf.mul(g, upload(w.get(`${b.key}/w`)!)));
              break;
            case 'act':
            case 'reshape':
              push(s.inputs[0]!, tf.reshape(g, shapes[0]!));
              break;
            case 'add':
              for (const i of s.inputs) push(i, g);
              break;
            case 'mean': {
              const [n, h, wd, ch] = shapes[0]! as [number, number, number, number];
              // as tfjs differentiates mean (times ones, not broadcastTo: wasm's Tile is slow)
              push(s.inputs[0]!, tf.div(tf.mul(tf.reshape(g, [n, 1, 1, ch]), tf.ones([n, h, wd, ch])), h * wd));
              break;
            }
            case 'dense':
              push(s.inputs[0]!, tf.matMul(g as tf.Tensor2D, b.kernel.read() as tf.Tensor2D, false, true));
              break;
          }
        }
        const gx = grads.get(from);
        return gx ? sum(gx) : tf.zerosLike(xi);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor) => tf.Tensor;
}

/** A (non-depthwise) conv's input gradient with the filters prepared at folding time. */
function convInputGrad(g: tf.Tensor4D, w: WeightSet, b: Extract<Back, { t: 'conv' }>, inShape: number[]): tf.Tensor {
  const wv = w.get(`${b.key}/w`)!;
  const [fh, fw] = wv.shape as [number, number];
  const s = b.strides[0];
  if (fastBackprop()) {
    const geo = convGeometry(inShape, wv.shape, b.strides, b.pad, undefined, false);
    if (s === 1 && b.strides[1] === 1) {
      const pads = fullCorrelationPads(geo, fh, fw);
      if (pads) return tf.conv2d(g, upload(w.get(`${b.key}/wb`)!) as tf.Tensor4D, 1, pads);
    }
    const wp = w.get(`${b.key}/wp`);
    if (wp) {
      // conv2dBackpropInputFast's phase route, with its filter computed once (phaseFilter)
      const [kh, kw] = wp.shape as [number, number];
      const { d, pads } = phaseInput(g, geo, kh, kw);
      let z = tf.conv2d(d, upload(wp) as tf.Tensor4D, 1, pads);
      z = tf.depthToSpace(z, s);
      if (geo.padTop === 0 && geo.padLeft === 0 && z.shape[1] === geo.inHeight && z.shape[2] === geo.inWidth) return z;
      return z.slice([0, geo.padTop, geo.padLeft, 0], [-1, geo.inHeight, geo.inWidth, inShape[3]!]);
    }
  }
  const back = { strides: b.strides, pad: b.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: inShape, dilations: [1, 1] };
  return tf.engine().runKernel('Conv2DBackpropInput', { dy: g, filter: upload(wv) }, back as unknown as tf.NamedAttrMap) as tf.Tensor;
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

/** True while a gradient is being recorded (inside tf.grad and the like): tensors kept for the backward pass must then live to the end. */
function recording(): boolean {
  const state = (tf.engine() as unknown as { state?: { gradientDepth?: number } }).state;
  return (state?.gradientDepth ?? 1) > 0;
}

function evaluate(c: Compiled, start: Map<number, tf.Tensor>, steps: readonly Step[], preSoftmax: boolean): tf.Tensor {
  if (graphBackwardOn && start.size === 1 && steps.length > 0 && steps.every((s) => s.back !== undefined)) {
    const [[from, x]] = [...start] as [[number, tf.Tensor]];
    return graphBackward(c, from, steps, preSoftmax)(x);
  }
  return tf.tidy(() => {
    const values = new Map(start);
    // Outside a gradient, an activation is freed as soon as its last reader has run, so the next
    // layer's output reuses memory that is still in cache (a forward of a large batch otherwise
    // holds every layer's activations to the end, and each kernel writes to memory cold to the
    // cache). Only the steps' own outputs are freed; what a hooked or kept layer returned (a
    // capture may hold it) and the inputs stay, and tidy frees the rest as before.
    const early = !recording() && steps.every((s) => !s.layer);
    const uses = new Map<tf.Tensor, number>();
    if (early) {
      const readers = new Map<number, number>();
      for (const s of steps) for (const i of s.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
      for (const t of start.values()) uses.set(t, Infinity);
      const own = (out: number, t: tf.Tensor) => uses.set(t, (uses.get(t) ?? 0) + (out === c.output ? Infinity : (readers.get(out) ?? 0)));
      for (const s of steps) {
        const run = s.run as (xs: tf.Tensor[], w: WeightSet, pre?: boolean) => tf.Tensor;
        const xs = s.inputs.map((i) => values.get(i)!);
        const y = run(xs, c.weights, s.out === c.output ? preSoftmax : undefined);
        values.set(s.out, y);
        own(s.out, y);
        for (const t of xs) {
          const left = uses.get(t)! - 1;
          uses.set(t, left);
          if (left === 0) t.dispose();
        }
      }
      return values.get(c.output)!;
    }
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
 * Whether {@link FrozenGraph.run} on `model` is differentiated by the graph backward (one op; see
 * {@link setFrozenGraphBackward}) rather than through the tape: every step has a backward rule
 * (not so for depthwise convolutions, max pooling and hooked layers).
 */
export function usesGraphBackward(model: tf.LayersModel): boolean {
  const c = compiled(model);
  return graphBackwardOn && c !== undefined && c.steps.length > 0 && c.steps.every((s) => s.back !== undefined);
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

/** Copies of one image, each with one `h` x `w` rectangle at (`y[i]`, `x[i]`) replaced by a constant. */
export interface Occluders {
  y: Int32Array;
  x: Int32Array;
  h: number;
  w: number;
  fill: number;
}

/** A value that differs from the clean image's only inside one window per copy, of the same size for all. */
interface Windowed {
  data: tf.Tensor4D;
  /** `data` read to the host, once, when a window is pasted somewhere. */
  host?: Float32Array;
  y: Int32Array;
  x: Int32Array;
  h: number;
  w: number;
}

/** A clean activation [1, Hs, Ws, C], on the host. */
interface CleanHost {
  data: Float32Array;
  Hs: number;
  Ws: number;
  C: number;
}

/**
 * [P, th, tw, C] windows at (ty, tx) of the value that equals `clean` except inside `win`, built on
 * the host by copying runs of pixels (a gather on wasm takes tens of ns an element). Pixels outside
 * the image are 0 (a 'same' convolution's padding).
 */
function assemble(clean: CleanHost, win: Windowed | undefined, ty: Int32Array, tx: Int32Array, th: number, tw: number): tf.Tensor4D {
  const { data, Hs, Ws, C } = clean;
  const P = ty.length;
  // On wasm, written in place on its heap (no copy of a host array in); elsewhere a host array.
  const heap = onWasmHeap();
  const info = heap?.makeOutput([P, th, tw, C], 'float32');
  // Views after the allocation: growing the wasm memory detaches older ones.
  const out = heap ? (heap.typedArrayFromHeap(info!) as Float32Array) : new Float32Array(P * th * tw * C);
  const wd = win ? (heap ? (heap.typedArrayFromHeap(win.data) as Float32Array) : (win.host ??= win.data.dataSync() as Float32Array)) : undefined;
  const whole = th === Hs && tw === Ws && ty.every((v) => v === 0) && tx.every((v) => v === 0);
  for (let p = 0; p < P; p++) {
    if (whole) {
      // The whole image: the clean activation in one copy, then the window's rows over it.
      out.set(data, p * Hs * Ws * C);
      if (!win) continue;
      for (let i = 0; i < win.h; i++) out.set(wd!.subarray((p * win.h + i) * win.w * C, (p * win.h + i + 1) * win.w * C), (p * Hs * Ws + (win.y[p]! + i) * Ws + win.x[p]!) * C);
      continue;
    }
    if (heap) out.fill(0, p * th * tw * C, (p + 1) * th * tw * C);
    const x0 = Math.max(tx[p]!, 0);
    const x1 = Math.min(tx[p]! + tw, Ws);
    const wy = win ? win.y[p]! : 0;
    const wx0 = win ? Math.min(Math.max(win.x[p]!, x0), x1) : x1;
    const wx1 = win ? Math.max(Math.min(win.x[p]! + win.w, x1), wx0) : x1;
    for (let i = 0; i < th; i++) {
      const Y = ty[p]! + i;
      if (Y < 0 || Y >= Hs || x0 >= x1) continue;
      const row = ((p * th + i) * tw - tx[p]!) * C; // out index of pixel X in this row: row + X C
      const src = Y * Ws * C;
      if (win && Y >= wy && Y < wy + win.h && wx0 < wx1) {
        out.set(data.subarray(src + x0 * C, src + wx0 * C), row + x0 * C);
        const wrow = ((p * win.h + (Y - wy)) * win.w - win.x[p]!) * C;
        out.set(wd!.subarray(wrow + wx0 * C, wrow + wx1 * C), row + wx0 * C);
        out.set(data.subarray(src + wx1 * C, src + x1 * C), row + wx1 * C);
      } else out.set(data.subarray(src + x0 * C, src + x1 * C), row + x0 * C);
    }
  }
  return heap ? (tf.engine().makeTensorFromTensorInfo(info!) as tf.Tensor4D) : tf.tensor4d(out, [P, th, tw, C]);
}

/** The part of tfjs-backend-wasm's backend {@link assemble} uses (as the kernels in backend/kernels do). */
interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
}

function onWasmHeap(): WasmHeap | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const be = tf.backend() as unknown as Partial<WasmHeap>;
  return typeof be.makeOutput === 'function' && typeof be.typedArrayFromHeap === 'function' ? (be as WasmHeap) : undefined;
}

/**
 * Along one axis of a convolution (`k` taps, stride `s`) over `n` input pixels: the outputs that
 * read the windows [a[p], a[p] + h), as `size` outputs from `start[p]` (the same size for all,
 * within the output), and the input each such run reads: `span` pixels from `from[p]` (negative or
 * past `n`: the padding). TensorFlow's 'same' padding puts floor(total / 2) before.
 */
function reach(n: number, k: number, s: number, pad: Pad, a: Int32Array, h: number): { start: Int32Array; size: number; from: Int32Array; span: number; whole: boolean } {
  const m = pad === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
  const before = pad === 'same' ? Math.floor(Math.max((m - 1) * s + k - n, 0) / 2) : 0;
  const lo = a.map((v) => Math.max(Math.ceil((v - k + 1 + before) / s), 0));
  const hi = a.map((v) => Math.min(Math.floor((v + h - 1 + before) / s), m - 1));
  // At least one output (a strided conv may read none of a window's pixels; computing an output
  // the window does not change is only wasted, never wrong: its crop holds the clean values).
  let size = 1;
  for (let p = 0; p < a.length; p++) size = Math.max(size, hi[p]! - lo[p]! + 1);
  size = Math.min(size, m);
  const start = lo.map((v) => Math.max(Math.min(v, m - size), 0));
  return { start, size, from: start.map((o) => o * s - before), span: (size - 1) * s + k, whole: size === m };
}

const contains = (big: Windowed, small: Windowed): boolean =>
  big.y.every((y, p) => y <= small.y[p]! && small.y[p]! + small.h <= y + big.h && big.x[p]! <= small.x[p]! && small.x[p]! + small.w <= big.x[p]! + big.w);

/**
 * The model's outputs for occluded copies of one image (the sliding patch), computed from where the
 * occluder can reach: a stride-1 'same' convolution, batch norm, ReLU or an add changes an
 * activation only within the occluder's rectangle grown by the convolutions' reach so far, so the
 * layers up to the first one that mixes positions further (a strided convolution, pooling, the
 * head) run only on those windows, each read from the clean image's activations with the window
 * pasted in, and the rest on whole activations as before. The same arithmetic for every output
 * pixel (a convolution without padding on a crop whose border holds the same neighbours, or the
 * zeros of the padding at the image's edge), so the outputs equal {@link FrozenGraph.run} on the
 * occluded copies to float32 rounding, in a fraction of the first layers' work.
 *
 * Undefined whenever {@link frozenGraph} is, and for a graph with a hooked or kept layer.
 * `prepare` runs the clean image once; `run` may then be called for any number of occluder sets.
 */
export function frozenOcclusion(model: tf.LayersModel): { prepare(img: tf.Tensor4D): { run(o: Occluders, preSoftmax?: boolean): tf.Tensor; dispose(): void } } | undefined {
  const found = compiled(model);
  if (!found || found.steps.some((s) => s.layer)) return undefined;
  return {
    prepare(img) {
      if (img.shape[0] !== 1) throw new Error(`frozenOcclusion: one image at a time; got ${img.shape[0]}`);
      const c = fresh(found);
      // The clean image's activations, on the host (the windows are pasted into them there).
      const clean = new Map<number, CleanHost>();
      tf.tidy(() => {
        const values = new Map<number, tf.Tensor>([[c.input, img]]);
        for (const s of c.steps) {
          const run = s.run as (xs: tf.Tensor[], w: WeightSet, pre?: boolean) => tf.Tensor;
          values.set(s.out, run(s.inputs.map((i) => values.get(i)!), c.weights, false));
        }
        for (const [id, t] of values) if (t.rank === 4) clean.set(id, { data: t.dataSync() as Float32Array, Hs: t.shape[1]!, Ws: t.shape[2]!, C: t.shape[3]! });
      });
      return {
        dispose: () => clean.clear(),
        run: (o, preSoftmax = false) =>
          tf.tidy(() => {
            const c2 = fresh(found);
            const P = o.y.length;
            const C = img.shape[3];
            const output = c2.output;
            type Val = { win: Windowed } | { full: tf.Tensor };
            const values = new Map<number, Val>();
            // As in evaluate: every tensor is freed once the last step that reads it has run.
            const readers = new Map<number, number>();
            for (const s of c2.steps) for (const i of s.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
            const uses = new Map<tf.Tensor, number>();
            const fulls = new Map<number, tf.Tensor>();
            const hold = (t: tf.Tensor, n: number) => uses.set(t, (uses.get(t) ?? 0) + n);
            const release = (t: tf.Tensor, n: number) => {
              const left = uses.get(t)! - n;
              uses.set(t, left);
              if (left === 0) t.dispose();
            };
            const tensorOf = (v: Val) => ('full' in v ? v.full : v.win.data);
            const set = (id: number, v: Val) => {
              values.set(id, v);
              hold(tensorOf(v), id === output ? Infinity : (readers.get(id) ?? 0));
            };
            const full = (id: number): tf.Tensor => {
              const v = values.get(id)!;
              if ('full' in v) return v.full;
              const ref = clean.get(id)!;
              // A window that covers the image is the whole activation.
              if (v.win.h === ref.Hs && v.win.w === ref.Ws) return v.win.data;
              let f = fulls.get(id);
              if (!f) {
                f = assemble(ref, v.win, new Int32Array(P), new Int32Array(P), ref.Hs, ref.Ws);
                fulls.set(id, f);
                hold(f, id === output ? Infinity : (readers.get(id) ?? 0));
              }
              return f;
            };
            set(c2.input, { win: { data: tf.fill([P, o.h, o.w, C], o.fill) as tf.Tensor4D, y: o.y, x: o.x, h: o.h, w: o.w } });
            for (const s of c2.steps) {
              const ins = s.inputs.map((i) => values.get(i)!);
              const wins = ins.every((v) => 'win' in v) ? ins.map((v) => (v as { win: Windowed }).win) : undefined;
              let out: Val | undefined;
              const temps: tf.Tensor[] = [];
              if (s.local && wins) {
                const local = s.local;
                if (local.op === 'pointwise') {
                  out = { win: { ...wins[0]!, host: undefined, data: s.run([wins[0]!.data], c2.weights) as tf.Tensor4D } };
                } else if (local.op === 'add') {
                  const big = wins.reduce((a, b) => (b.h * b.w > a.h * a.w ? b : a));
                  if (wins.every((v) => contains(big, v))) {
                    const datas = wins.map((v, k) => {
                      if (v === big) return v.data;
                      const t = assemble(clean.get(s.inputs[k]!)!, v, big.y, big.x, big.h, big.w);
                      temps.push(t);
                      return t;
                    });
                    out = { win: { ...big, host: undefined, data: s.run(datas, c2.weights) as tf.Tensor4D } };
                  }
                } else {
                  // The conv's outputs the window reaches (one size for all copies, kept inside
                  // the output), from a crop of its input (zeros beyond the image's edge, as the
                  // padding) run without padding.
                  const v = wins[0]!;
                  const ref = clean.get(s.inputs[0]!)!;
                  const rows = reach(ref.Hs, local.kh, local.sh, local.pad, v.y, v.h);
                  const cols = reach(ref.Ws, local.kw, local.sw, local.pad, v.x, v.w);
                  // Once the outputs it reaches are all of them, the whole activation is cheaper.
                  if (!(rows.whole && cols.whole)) {
                    const crop = assemble(ref, v, rows.from, cols.from, rows.span, cols.span);
                    temps.push(crop);
                    out = { win: { data: local.valid(crop, c2.weights) as tf.Tensor4D, y: rows.start, x: cols.start, h: rows.size, w: cols.size } };
                  }
                }
              }
              if (!out) {
                const run = s.run as (xs: tf.Tensor[], w: WeightSet, pre?: boolean) => tf.Tensor;
                out = { full: run(s.inputs.map(full), c2.weights, s.out === output ? preSoftmax : undefined) };
              }
              set(s.out, out);
              tf.dispose(temps);
              for (const i of s.inputs) {
                release(tensorOf(values.get(i)!), 1);
                const f = fulls.get(i);
                if (f) release(f, 1);
              }
            }
            return full(output);
          }),
      };
    },
  };
}
