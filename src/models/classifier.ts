import * as tf from '@tensorflow/tfjs';
import { frozenGraph, frozenOcclusion, type Occluders } from './frozen.js';

/**
 * Anything that classifies an image batch: a `tf.LayersModel`, or an object whose `predict`
 * maps [N, H, W, C] images to [N, K] logits or probabilities (a single tensor, or an array of
 * exactly one). Attacks and attributions take either. Such an object may declare `outputKind`
 * ('logits' | 'probabilities') and `numClasses`, which 'auto' then uses instead of probing.
 */
export type Classifier = tf.LayersModel | { predict(x: tf.Tensor4D): tf.Tensor | tf.Tensor[] };

/**
 * What a classifier's output holds. `'auto'` reads a LayersModel's last layer (a softmax
 * activation means probabilities) and, for other classifiers, checks whether the first outputs
 * are rows of non-negative numbers summing to 1.
 */
export type OutputKind = 'logits' | 'probabilities' | 'auto';

export interface ClassifierOptions {
  /** What the model outputs. @defaultValue 'auto' */
  output?: OutputKind;
}

/**
 * A classifier seen through a uniform, synchronous interface, so that it can run inside
 * `tf.tidy` and `tf.grad`. Made by {@link resolveClassifier}.
 */
export interface ResolvedClassifier {
  /** The model it wraps. */
  readonly model: Classifier;
  /** What the model itself outputs (after `'auto'` was decided). */
  readonly output: 'logits' | 'probabilities';
  /** Number of classes K. */
  readonly numClasses: number;
  /**
   * True when {@link ResolvedClassifier.logits} returns the model's own pre-softmax scores (a
   * logits model, or a LayersModel whose softmax could be peeled off); false when it returns
   * log-probabilities, which differ from logits by a per-row constant.
   */
  readonly trueLogits: boolean;
  /** [N, K] logits (or log-probabilities, see `trueLogits`); differentiable; caller disposes. */
  logits(x: tf.Tensor4D): tf.Tensor2D;
  /** [N, K] class probabilities; differentiable; caller disposes. */
  probabilities(x: tf.Tensor4D): tf.Tensor2D;
}

const SOFTMAX_LAYER_CLASSES = new Set(['Activation', 'Softmax']);

function isLayersModel(model: Classifier): model is tf.LayersModel {
  return model instanceof tf.LayersModel;
}

function activationName(layer: tf.layers.Layer): string | undefined {
  try {
    const cfg = layer.getConfig() as { activation?: unknown };
    if (layer.getClassName() === 'Softmax') return 'softmax';
    return typeof cfg.activation === 'string' ? cfg.activation : undefined;
  } catch {
    return undefined;
  }
}

/** The layer that produces a LayersModel's (single) output. */
function outputLayer(model: tf.LayersModel): tf.layers.Layer | undefined {
  const out = model.outputs[0];
  return out?.sourceLayer as tf.layers.Layer | undefined;
}

/** True when a LayersModel ends in a softmax (a Dense/Conv with softmax activation, or a softmax layer). */
export function endsInSoftmax(model: tf.LayersModel): boolean {
  const last = outputLayer(model);
  return last !== undefined && activationName(last) === 'softmax';
}

function singleOutput(out: tf.Tensor | tf.Tensor[], what: string): tf.Tensor2D {
  let t: tf.Tensor;
  if (Array.isArray(out)) {
    if (out.length !== 1) {
      tf.dispose(out);
      throw new Error(`${what} returned ${out.length} outputs; a classifier must return one [N, K] tensor. Wrap it as { predict: (x) => model.predict(x)[i] } to pick the class scores.`);
    }
    t = out[0]!;
  } else t = out;
  if (t.rank !== 2) {
    const shape = t.shape.join(', ');
    t.dispose();
    throw new Error(`${what} returned shape [${shape}]; a classifier must return [N, K] class scores (logits or probabilities).`);
  }
  return t as tf.Tensor2D;
}

/**
 * For a LayersModel that ends in a softmax, a function giving the pre-softmax scores: the trunk
 * up to the last layer's input, then the last layer's affine part. Undefined when the model's
 * shape does not allow it (shared layers, multiple inputs, an exotic last layer).
 */
function peelSoftmax(model: tf.LayersModel): ((x: tf.Tensor4D) => tf.Tensor2D) | undefined {
  try {
    if (model.inputs.length !== 1 || model.outputs.length !== 1) return undefined;
    const last = outputLayer(model)!;
    const lastInput = last.input;
    if (Array.isArray(lastInput)) return undefined;
    const trunk = tf.model({ inputs: model.inputs, outputs: lastInput });
    const cls = last.getClassName();
    if (SOFTMAX_LAYER_CLASSES.has(cls)) {
      return (x) => trunk.apply(x, { training: false }) as tf.Tensor2D;
    }
    if (cls === 'Dense') {
      const dense = last as unknown as { kernel?: tf.LayerVariable; bias?: tf.LayerVariable; getConfig(): { useBias?: boolean } };
      const kernel = dense.kernel;
      if (!kernel) return undefined;
      const bias = dense.getConfig().useBias === false ? undefined : dense.bias;
      return (x) =>
        tf.tidy(() => {
          const h = trunk.apply(x, { training: false }) as tf.Tensor;
          if (h.rank !== 2) throw new Error('Dense input of rank > 2');
          const z = tf.matMul(h as tf.Tensor2D, kernel.read() as tf.Tensor2D);
          return (bias ? tf.add(z, bias.read()) : z) as tf.Tensor2D;
        });
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** The Conv2D layers of a model, nested models included. */
function conv2dLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const out: tf.layers.Layer[] = [];
  const walk = (layers: tf.layers.Layer[]) => {
    for (const layer of layers) {
      const inner = (layer as { layers?: tf.layers.Layer[] }).layers;
      if (Array.isArray(inner)) walk(inner);
      else if (layer.getClassName() === 'Conv2D' && (layer as unknown as { dataFormat?: string }).dataFormat === 'channelsLast') out.push(layer);
    }
  };
  walk(model.layers as tf.layers.Layer[]);
  return out;
}

interface ConvInternals {
  kernel: tf.LayerVariable;
  bias?: tf.LayerVariable | null;
  strides: [number, number];
  padding: 'same' | 'valid';
  dilationRate: [number, number];
  activation?: { apply(t: tf.Tensor): tf.Tensor } | null;
  call: (inputs: tf.Tensor | tf.Tensor[], kwargs: unknown) => tf.Tensor | tf.Tensor[];
}

function gradientDepth(): number {
  const state = (tf.engine() as unknown as { state?: { gradientDepth?: number } }).state;
  return state?.gradientDepth ?? 1;
}

/**
 * Under a gradient, tfjs-layers runs a Conv2D with linear activation through tf.fused.conv2d,
 * whose custom gradient computes the filter gradient eagerly even when only the input gradient
 * is wanted (a third of an input-gradient pass on a ResNet). Attacks and attributions never need
 * weight gradients, so while `fn` runs, each Conv2D is evaluated as a plain conv2d (+ bias,
 * + activation), whose gradients are computed only when asked for. Synchronous and restored
 * before returning, so no other caller sees the patched layers.
 */
function withLazyConvGradients<T>(convs: tf.layers.Layer[], fn: () => T): T {
  if (convs.length === 0 || gradientDepth() === 0) return fn();
  // A layer whose call is already patched (an attribution's hook) keeps that patch.
  const free = convs.filter((layer) => !Object.prototype.hasOwnProperty.call(layer, 'call'));
  const saved = free.map((layer) => {
    const l = layer as unknown as ConvInternals;
    l.call = (inputs) =>
      tf.tidy(() => {
        const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
        let y: tf.Tensor = tf.conv2d(x, l.kernel.read() as tf.Tensor4D, l.strides, l.padding, 'NHWC', l.dilationRate);
        if (l.bias) y = tf.add(y, l.bias.read());
        return l.activation ? l.activation.apply(y) : y;
      });
    return l;
  });
  try {
    return fn();
  } finally {
    // The patch is an own property over the prototype's call: deleting it restores the layer.
    for (const l of saved) delete (l as { call?: unknown }).call;
  }
}

const peeled = new WeakMap<tf.LayersModel, ((x: tf.Tensor4D) => tf.Tensor2D) | null>();

/**
 * Throws unless images fit the model's input: tfjs's own complaint ("expected image to have
 * shape [null,28,28,1] but got array with shape [2,32,32,3]", or a conv error deep inside) does
 * not say which side is wrong or what to do.
 */
export function checkInputShape(model: tf.LayersModel, x: tf.Tensor | readonly number[], what = 'images'): void {
  const shape = Array.isArray(x) ? x : (x as tf.Tensor).shape;
  const want = model.inputs.length === 1 ? model.inputs[0]!.shape : undefined;
  if (!want || want.length !== shape.length) {
    if (want) throw new Error(`The model '${model.name}' takes input of shape [${want.map((d) => d ?? 'N').join(', ')}], but the ${what} are [${shape.join(', ')}]. Pass a batch [N, H, W, C].`);
    return;
  }
  const bad = want.some((d, i) => i > 0 && d !== null && d !== shape[i]);
  if (bad) {
    const [, h, w, c] = want;
    const [n, xh, xw, xc] = shape;
    throw new Error(
      `The model '${model.name}' takes ${h ?? 'any'}x${w ?? 'any'} images with ${c ?? 'any number of'} channel(s), but the ${what} are ${xh}x${xw} with ${xc} channel(s) (shape [${n}, ${xh}, ${xw}, ${xc}]). Test the model on data of its own input size${c !== xc ? ` and channel count (${xc === 3 && c === 1 ? 'convert to grayscale' : c === 3 && xc === 1 ? 'repeat the gray channel 3 times' : 'convert the images'})` : ' (resize the images with tf.image.resizeBilinear)'}.`,
    );
  }
}

function rawForward(model: Classifier): (x: tf.Tensor4D) => tf.Tensor2D {
  if (isLayersModel(model)) {
    const name = model.name || 'model';
    // apply, not predict: predict splits the batch into chunks of 32 and is not meant for tf.grad.
    const convs = conv2dLayers(model);
    return (x) => {
      checkInputShape(model, x);
      // The folded, fused graph when the model allows it (frozen.ts); the layers as they are otherwise.
      const frozen = frozenGraph(model);
      if (frozen) return singleOutput(frozen.run(x), `LayersModel '${name}'`);
      return withLazyConvGradients(convs, () => singleOutput(model.apply(x, { training: false }) as tf.Tensor | tf.Tensor[], `LayersModel '${name}'`));
    };
  }
  if (!model || typeof (model as { predict?: unknown }).predict !== 'function') {
    throw new TypeError('A classifier must be a tf.LayersModel or an object with predict(x: Tensor4D) returning [N, K] logits or probabilities.');
  }
  return (x) => singleOutput(model.predict(x), 'predict');
}

async function looksLikeProbabilities(out: tf.Tensor2D): Promise<boolean> {
  const [lo, sums] = tf.tidy(() => [out.min(), out.sum(1)]);
  try {
    const min = (await lo!.data())[0]!;
    const s = await sums!.data();
    return min >= 0 && Float32Array.from(s as Float32Array).every((v) => Math.abs(v - 1) < 1e-3);
  } finally {
    tf.dispose([lo!, sums!]);
  }
}

/**
 * Wraps a classifier so attacks and attributions can ask for logits (for a stable loss) and
 * probabilities alike. For a LayersModel ending in Dense+softmax the logits are the true
 * pre-softmax scores; for any other probability model they are log-probabilities.
 *
 * @param model - a tf.LayersModel or `{ predict }`
 * @param options - `output`: what the model returns. @defaultValue `{ output: 'auto' }`
 * @param probe - a batch to run once when the class count or the output kind cannot be read
 *   from the model itself (a plain `{ predict }` object); its first image is used
 * @example
 * ```ts
 * const clf = await resolveClassifier(model, {}, images);
 * const logits = clf.logits(images); // [N, K]
 * ```
 */
export async function resolveClassifier(model: Classifier, options: ClassifierOptions = {}, probe?: tf.Tensor4D): Promise<ResolvedClassifier> {
  const requested = options.output ?? 'auto';
  if (!['logits', 'probabilities', 'auto'].includes(requested)) {
    throw new Error(`output must be 'logits', 'probabilities' or 'auto'; got ${JSON.stringify(requested)}.`);
  }
  // Checked once up front, so no attack or attribution gets as far as a conv with the wrong input.
  if (probe && isLayersModel(model)) checkInputShape(model, probe);
  const forward = rawForward(model);
  let numClasses: number | undefined;
  let output: 'logits' | 'probabilities' | undefined = requested === 'auto' ? undefined : requested;
  if (isLayersModel(model)) {
    const shape = model.outputs[0]?.shape;
    const k = shape?.[shape.length - 1];
    if (typeof k === 'number') numClasses = k;
    if (output === undefined) output = endsInSoftmax(model) ? 'probabilities' : 'logits';
  }
  // A { predict } classifier may declare what it outputs (an imported ONNX model does).
  const declared = model as { outputKind?: unknown; numClasses?: unknown };
  if (output === undefined && (declared.outputKind === 'logits' || declared.outputKind === 'probabilities')) output = declared.outputKind;
  if (numClasses === undefined && typeof declared.numClasses === 'number') numClasses = declared.numClasses;
  if (numClasses === undefined || output === undefined) {
    if (!probe) throw new Error('resolveClassifier needs a probe batch to learn the class count of a { predict } classifier.');
    const first = tf.tidy(() => forward(probe.slice([0, 0, 0, 0], [Math.min(probe.shape[0], 4), -1, -1, -1])));
    try {
      numClasses = first.shape[1];
      if (output === undefined) output = (await looksLikeProbabilities(first)) ? 'probabilities' : 'logits';
    } finally {
      first.dispose();
    }
  }
  if (!(numClasses! >= 2)) throw new Error(`A classifier must score at least 2 classes; this one outputs ${numClasses}.`);

  let logits: (x: tf.Tensor4D) => tf.Tensor2D;
  let trueLogits = output === 'logits';
  if (output === 'logits') logits = forward;
  else {
    let peel: ((x: tf.Tensor4D) => tf.Tensor2D) | undefined;
    if (isLayersModel(model) && endsInSoftmax(model)) {
      if (!peeled.has(model)) peeled.set(model, peelSoftmax(model) ?? null);
      peel = peeled.get(model) ?? undefined;
    }
    if (peel) {
      const convs = conv2dLayers(model as tf.LayersModel);
      const lm = model as tf.LayersModel;
      logits = (x) => {
        checkInputShape(lm, x);
        const frozen = frozenGraph(lm);
        if (frozen?.endsInSoftmax) return singleOutput(frozen.run(x, true), `LayersModel '${lm.name}'`);
        return withLazyConvGradients(convs, () => peel!(x));
      };
      trueLogits = true;
    } else {
      // log(p) is logits up to a per-row constant; the floor keeps log finite for underflowed p.
      logits = (x) => tf.tidy(() => tf.log(tf.maximum(forward(x), 1e-30)) as tf.Tensor2D);
    }
  }
  const probabilities = output === 'probabilities' ? forward : (x: tf.Tensor4D) => tf.tidy(() => tf.softmax(forward(x)) as tf.Tensor2D);
  return { model, output, numClasses: numClasses!, trueLogits, logits, probabilities };
}

/**
 * For the sliding patch: `clf.probabilities` of occluded copies of one image [1, H, W, C], computed
 * from where each occluder can reach in the frozen graph ({@link frozenOcclusion}), equal to
 * `clf.probabilities` of the copies; undefined when the classifier is not a LayersModel whose frozen
 * graph allows it (then the copies go through `clf.probabilities`). The caller disposes the handle.
 */
export function occludedProbabilities(clf: ResolvedClassifier): ((img: tf.Tensor4D) => { run(o: Occluders): tf.Tensor2D; dispose(): void }) | undefined {
  const model = clf.model;
  if (!isLayersModel(model)) return undefined;
  const occ = frozenOcclusion(model);
  if (!occ) return undefined;
  const name = `LayersModel '${model.name || 'model'}'`;
  return (img) => {
    checkInputShape(model, img);
    const h = occ.prepare(img);
    return {
      dispose: () => h.dispose(),
      run: (o) =>
        tf.tidy(() => {
          const out = singleOutput(h.run(o), name);
          // As `probabilities` above: the model's own output, or the softmax of its logits.
          return clf.output === 'probabilities' ? out : (tf.softmax(out) as tf.Tensor2D);
        }),
    };
  };
}

/**
 * Predicted classes (argmax) for a batch, read back to the host.
 * @example `const preds = await predictClasses(model, images);`
 */
export async function predictClasses(model: Classifier | ResolvedClassifier, x: tf.Tensor4D, options: ClassifierOptions = {}): Promise<Int32Array> {
  const clf = 'logits' in model && 'numClasses' in model ? model : await resolveClassifier(model, options, x);
  // In chunks: a whole test set at once would hold every layer's activations for every image.
  const n = x.shape[0];
  const out = new Int32Array(n);
  for (let start = 0; start < n; start += PREDICT_CHUNK) {
    const size = Math.min(PREDICT_CHUNK, n - start);
    const arg = tf.tidy(() => clf.logits(size === n ? x : x.slice([start, 0, 0, 0], [size, -1, -1, -1])).argMax(1));
    try {
      out.set(await arg.data(), start);
    } finally {
      arg.dispose();
    }
  }
  return out;
}

const PREDICT_CHUNK = 256;
