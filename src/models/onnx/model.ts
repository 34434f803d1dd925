import * as tf from '@tensorflow/tfjs';
import { runGraph, type CompiledGraph, type ValueInfo } from './graph.js';
import type { ForeignModelCard } from './card.js';
import { BATCH, toNhwc } from './op.js';
import { affine, isIdentity, type Preprocessing } from './preprocessing.js';

/** A 4-D value of an imported model that Grad-CAM can use, as {@link OnnxModel.featureMaps} lists it. */
export interface FeatureMap {
  /** The ONNX value name (a node output). */
  name: string;
  /** The node that makes it. */
  node: string;
  opType: string;
  /** [channels, height, width]. */
  shape: [number, number, number];
}

/**
 * An ONNX model imported as tfjs operations: `predict` maps [N, H, W, C] images in [0, 1] to the
 * model's [N, K] outputs (logits, or probabilities for a model ending in a softmax: see
 * `outputKind`), applying the declared preprocessing first. Differentiable, so every attack and
 * attribution works on it. Made by `loadModel('model.onnx')`; dispose it when done.
 */
export class OnnxModel {
  readonly format = 'onnx' as const;
  /** The card, completed on load: name, source, classes, output, preprocessing (all fields filled). */
  readonly card: ForeignModelCard & { name: string; output: 'logits' | 'probabilities'; preprocessing: Preprocessing; format: 'onnx' };
  /** Number of classes K. */
  readonly numClasses: number;
  /** What `predict` returns. */
  readonly outputKind: 'logits' | 'probabilities';
  /** [H, W, C] of the images the model takes. */
  readonly imageShape: [number, number, number];
  /** Milliseconds the import took (parsing, weight conversion, constant folding). */
  readonly importMs: number;
  private readonly scale?: tf.Tensor1D;
  private readonly shift?: tf.Tensor1D;
  private hooks?: Map<number, (t: tf.Tensor) => tf.Tensor>;
  private disposed = false;

  constructor(
    readonly path: string,
    readonly graph: CompiledGraph,
    card: OnnxModel['card'],
    importMs: number,
  ) {
    this.card = card;
    this.outputKind = card.output;
    this.numClasses = graph.output.shape[1]!;
    this.importMs = importMs;
    const s = graph.inputShape;
    this.imageShape = graph.inputLayout === 'nhwc' ? [s[2]!, s[3]!, s[1]!] : [s[1]!, s[2]!, s[3]!];
    if (!isIdentity(card.preprocessing)) ({ scale: this.scale, shift: this.shift } = affine(card.preprocessing, this.imageShape[2], path));
  }

  /** The model's name (its card's). */
  get name(): string {
    return this.card.name;
  }

  /**
   * [N, K] outputs for [N, H, W, C] images in [0, 1]; differentiable; the caller disposes.
   * @example `const logits = model.predict(images);`
   */
  predict(x: tf.Tensor4D): tf.Tensor2D {
    if (this.disposed) throw new Error(`ONNX model '${this.name}' was disposed; load it again.`);
    const [h, w, c] = this.imageShape;
    if (!(x instanceof tf.Tensor) || x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c) {
      const got = x instanceof tf.Tensor ? `[${x.shape.join(', ')}]` : typeof x;
      throw new Error(`ONNX model '${this.name}' takes images [N, ${h}, ${w}, ${c}] (NHWC, in [0, 1]); got ${got}. Resize the images, or export the model for this size.`);
    }
    return tf.tidy(() => {
      const input = this.scale ? tf.add(tf.mul(x, this.scale), this.shift!) : x;
      return runGraph(this.graph, input, this.hooks) as tf.Tensor2D;
    });
  }

  /** Every 4-D value computed from the image, in the order the graph makes them. */
  featureMaps(): FeatureMap[] {
    return this.graph.values
      .filter((v) => v.shape.length === 4 && v.shape[0] === BATCH && v.step >= 0)
      .map((v) => ({ name: v.name, node: v.node, opType: v.opType, shape: [v.shape[1]!, v.shape[2]!, v.shape[3]!] }));
  }

  /** A value by ONNX output name or node name. @throws listing the feature maps when there is none */
  valueNamed(name: string): ValueInfo {
    const v = this.graph.values.find((x) => x.name === name) ?? this.graph.values.find((x) => x.node === name && x.step >= 0);
    const into = this.graph.folded.get(name);
    if (!v && into) throw new Error(`Value '${name}' of ONNX model '${this.name}' is a convolution's output that the import folded together with the batch norm after it; name the batch norm's output '${into}' instead.`);
    if (!v) {
      const maps = this.featureMaps().map((m) => `${m.name} (${m.opType} of node ${m.node}, ${m.shape.join('x')})`);
      const shown = maps.length > 30 ? [...maps.slice(0, 10), '...', ...maps.slice(-19)] : maps;
      throw new Error(`No node or value named '${name}' in ONNX model '${this.name}'. Its feature maps: ${shown.join(', ')}.`);
    }
    return v;
  }

  /**
   * Grad-CAM's default layer, by the rule `findGradCamLayer` applies to a LayersModel: in the
   * order the graph runs, the last 4-D value larger than 1x1 in a run of 4-D values that starts at
   * a convolution (so a block's conv -> add -> ReLU gives the ReLU; a 1x1 map, whose Grad-CAM is
   * the same at every pixel, is skipped).
   * @throws when the model has no convolution, or only 1x1 feature maps after them
   */
  defaultGradCamValue(): ValueInfo {
    let chosen: ValueInfo | undefined;
    let inConvRun = false;
    let convs = 0;
    for (const v of this.graph.values) {
      const conv = v.opType === 'Conv';
      if (conv) convs++;
      inConvRun = conv || (inConvRun && v.shape.length === 4);
      if (inConvRun && v.shape.length === 4 && v.shape[2]! * v.shape[3]! > 1) chosen = v;
    }
    if (!chosen) {
      const why = convs === 0 ? 'has no convolution' : 'has only 1x1 feature maps after its convolutions, whose Grad-CAM maps would be constant';
      throw new Error(`Grad-CAM: ONNX model '${this.name}' ${why}. Use 'saliency', 'integratedGradients' or 'occlusion', or pass { layer } naming one of: ${this.featureMaps().map((m) => m.name).join(', ') || '(no 4-D values)'}.`);
    }
    return chosen;
  }

  /**
   * Runs `fn` while the value `name` (an ONNX output or node name) is routed through `hook`,
   * which gets the computed value (a feature map as [N, h, w, c]) and returns the one to use: to capture it,
   * or to substitute a tensor whose gradient is wanted. Synchronous; the hook is removed after.
   * @throws when `fn` never computed the value
   */
  withFeatureHook<T>(name: string, hook: (computed: tf.Tensor) => tf.Tensor, fn: () => T): T {
    const v = this.valueNamed(name);
    let called = false;
    // A 4-D value is shown NHWC whatever its stored layout; any other value as ONNX shapes it.
    const plain4 = v.layout === 'plain' && v.shape.length === 4;
    const back = (t: tf.Tensor) => (plain4 ? tf.transpose(t, [0, 3, 1, 2]) : t);
    const saved = this.hooks;
    this.hooks = new Map(saved ?? []);
    this.hooks.set(v.slot, (t) => {
      called = true;
      return back(hook(v.shape.length === 4 ? toNhwc(t, v.layout) : t));
    });
    try {
      const out = fn();
      if (!called) throw new Error(`Value '${v.name}' of ONNX model '${this.name}' was not computed by the call.`);
      return out;
    } finally {
      this.hooks = saved;
    }
  }

  /** The first convolution or fully connected layer's output (where the paper measures density). */
  firstHiddenValue(): ValueInfo {
    const v = this.graph.values.find((x) => ['Conv', 'Gemm', 'MatMul'].includes(x.opType));
    if (!v) throw new Error(`ONNX model '${this.name}' has no Conv, Gemm or MatMul node; name the value to measure with { layer }.`);
    return v;
  }

  /** Frees the model's weights. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([...this.graph.kept, ...(this.scale ? [this.scale, this.shift!] : [])]);
  }
}

/** True for a model made by the ONNX importer. */
export function isOnnxModel(model: unknown): model is OnnxModel {
  return model instanceof OnnxModel;
}
