import * as tf from '@tensorflow/tfjs';
import { runGraph, type CompiledGraph, type ValueInfo } from './graph.js';
import type { ForeignModelCard } from './card.js';
import { BATCH, toNhwc } from './op.js';
import { ELEMENTWISE_OPERATORS } from './ops/index.js';
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
    if (!v) {
      const maps = this.featureMaps().map((m) => `${m.name} (${m.opType} of node ${m.node}, ${m.shape.join('x')})`);
      const shown = maps.length > 30 ? [...maps.slice(0, 10), '...', ...maps.slice(-19)] : maps;
      throw new Error(`No node or value named '${name}' in ONNX model '${this.name}'. Its feature maps: ${shown.join(', ')}.`);
    }
    return v;
  }

  /**
   * Grad-CAM's default layer: the output of the last convolution whose feature map is larger
   * than 1x1, followed through the element-wise nodes that consume it (batch norm, activation,
   * residual add), so a block's conv -> add -> ReLU gives the ReLU.
   * @throws when the model has no such convolution
   */
  defaultGradCamValue(): ValueInfo {
    const vs = this.graph.values;
    const convs = vs.filter((v) => v.opType === 'Conv' && v.shape.length === 4 && v.shape[2]! * v.shape[3]! > 1);
    let cur = convs[convs.length - 1];
    if (!cur) {
      throw new Error(`Grad-CAM needs a convolution with a feature map larger than 1x1, but ONNX model '${this.name}' has none. Use 'saliency', 'integratedGradients' or 'occlusion', or pass { layer } naming one of: ${this.featureMaps().map((m) => m.name).join(', ') || '(no 4-D values)'}.`);
    }
    for (;;) {
      const slot = cur.slot;
      const shape = cur.shape.join(',');
      const next = this.graph.steps.findIndex((s, i) => i > cur!.step && ELEMENTWISE_OPERATORS.has(s.opType) && s.ins.includes(slot));
      const v = next >= 0 ? vs.find((x) => x.step === next && x.shape.join(',') === shape) : undefined;
      if (!v) return cur;
      cur = v;
    }
  }

  /**
   * Runs `fn` while the value `name` (an ONNX output or node name) is routed through `hook`,
   * which gets the computed feature map as [N, h, w, c] and returns the one to use: to capture it,
   * or to substitute a tensor whose gradient is wanted. Synchronous; the hook is removed after.
   * @throws when `fn` never computed the value
   */
  withFeatureHook<T>(name: string, hook: (computed: tf.Tensor4D) => tf.Tensor4D, fn: () => T): T {
    const v = this.valueNamed(name);
    if (v.shape.length !== 4) throw new Error(`Value '${v.name}' of ONNX model '${this.name}' has shape [${v.shape.map((d) => (d === BATCH ? 'N' : d)).join(', ')}]; it needs a 4-D feature map. Name a convolution's output.`);
    let called = false;
    const back = (t: tf.Tensor4D) => (v.layout === 'nhwc' ? t : tf.transpose(t, [0, 3, 1, 2]));
    const saved = this.hooks;
    this.hooks = new Map(saved ?? []);
    this.hooks.set(v.slot, (t) => {
      called = true;
      return back(hook(toNhwc(t, v.layout)));
    });
    try {
      const out = fn();
      if (!called) throw new Error(`Value '${v.name}' of ONNX model '${this.name}' was not computed by the call.`);
      return out;
    } finally {
      this.hooks = saved;
    }
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
