import * as tf from '@tensorflow/tfjs';

/** Layer classes that count as convolutions when looking for Grad-CAM's layer or a density layer. */
export const CONV_LAYER_CLASSES: ReadonlySet<string> = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose', 'Conv3D', 'Conv1D']);

type AnyLayer = tf.layers.Layer;
type CallFn = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

function isContainer(layer: AnyLayer): layer is AnyLayer & { layers: AnyLayer[] } {
  return Array.isArray((layer as { layers?: unknown }).layers);
}

/**
 * Every non-container layer of a model in execution order, descending into nested models (a
 * Sequential used as a layer, a functional backbone), with a path naming the nesting.
 */
export function flattenLayers(model: tf.LayersModel): { layer: AnyLayer; path: string }[] {
  const out: { layer: AnyLayer; path: string }[] = [];
  const walk = (layers: AnyLayer[], prefix: string) => {
    for (const layer of layers) {
      if (isContainer(layer)) walk(layer.layers, `${prefix}${layer.name}/`);
      else out.push({ layer, path: `${prefix}${layer.name}` });
    }
  };
  walk(model.layers as AnyLayer[], '');
  return out;
}

/** Output rank of a layer, or undefined when it cannot be read (a layer shared between calls). */
export function outputRank(layer: AnyLayer): number | undefined {
  try {
    const shape = layer.outputShape;
    if (Array.isArray(shape) && Array.isArray(shape[0])) return undefined;
    return (shape as (number | null)[]).length;
  } catch {
    return undefined;
  }
}

/** The spatial size [h, w] of a layer's feature map, or undefined when it is not a known 4-D shape. */
export function featureMapSize(layer: tf.layers.Layer): [number, number] | undefined {
  if (outputRank(layer) !== 4) return undefined;
  const shape = layer.outputShape as (number | null)[];
  return typeof shape[1] === 'number' && typeof shape[2] === 'number' ? [shape[1], shape[2]] : undefined;
}

/**
 * Finds a layer by name anywhere in a model (nested models included); the error lists the
 * model's layer names.
 */
export function findLayerByName(model: tf.LayersModel, name: string): AnyLayer {
  const all = flattenLayers(model);
  const hit = all.find((l) => l.layer.name === name || l.path === name) ?? (model.layers as AnyLayer[]).find((l) => l.name === name);
  if (!hit) {
    const names = all.map((l) => l.path);
    const shown = names.length > 40 ? [...names.slice(0, 20), '...', ...names.slice(-19)] : names;
    throw new Error(`No layer named '${name}' in model '${model.name}'. Its layers: ${shown.join(', ')}.`);
  }
  return 'layer' in hit ? hit.layer : hit;
}

/**
 * The layer Grad-CAM uses by default: the output of the last convolutional block whose feature
 * map is larger than 1x1, i.e. the last layer with a 4-D (feature map) output in a run of such
 * layers that follows a convolution (so a conv followed by batch norm, a residual add and ReLU
 * gives the ReLU, as `layer4[-1]` in pytorch-grad-cam). A 1x1 map (VGG16's last pool on 32x32
 * CIFAR images) is skipped: its Grad-CAM is one number upsampled, the same at every pixel, so it
 * explains nothing and any stability measure of it is 0. Nested models and functional graphs are
 * searched inside. On 32x32 inputs VGG16 and MobileNet end at 2x2 (see `gradcam`).
 * @throws Error naming the fix when the model has no convolution, or only 1x1 feature maps
 */
export function findGradCamLayer(model: tf.LayersModel): tf.layers.Layer {
  const all = flattenLayers(model);
  let lastConv = -1;
  let chosen = -1;
  let inConvRun = false;
  all.forEach((l, i) => {
    const conv = CONV_LAYER_CLASSES.has(l.layer.getClassName());
    if (conv) lastConv = i;
    inConvRun = conv || (inConvRun && outputRank(l.layer) === 4);
    const size = featureMapSize(l.layer);
    // An unknown size (a model built for any input size) is checked when the map is computed.
    if (inConvRun && (size === undefined || size[0] * size[1] > 1)) chosen = i;
  });
  if (lastConv < 0) {
    throw new Error(`Grad-CAM needs a convolutional layer, but model '${model.name}' has none (layers: ${all.map((l) => l.layer.getClassName()).join(', ')}). Use 'saliency', 'integratedGradients' or 'occlusion' for this model, or pass { layer } naming a layer with [N, h, w, c] output.`);
  }
  if (chosen < 0) {
    throw new Error(`Grad-CAM: every convolutional feature map of model '${model.name}' is 1x1, so every Grad-CAM map would be constant. Use 'occlusion', 'saliency' or 'integratedGradients', or larger input images.`);
  }
  return all[chosen]!.layer;
}

const HIDDEN_CLASSES = new Set([...CONV_LAYER_CLASSES, 'Dense']);

/** The layer averageDensity measures by default: the first convolution or Dense layer (nested models searched inside). */
export function firstHiddenLayer(model: tf.LayersModel): tf.layers.Layer {
  const hit = flattenLayers(model).find((l) => HIDDEN_CLASSES.has(l.layer.getClassName()));
  if (!hit) throw new Error(`averageDensity: model '${model.name}' has no Conv or Dense layer; name the layer to measure with { layer }.`);
  return hit.layer;
}

/**
 * Calls `fn` while `layer`'s output is routed through `hook`, then restores the layer. The hook
 * gets the layer's inputs and a function computing its usual output, and returns the output to
 * use: to capture an activation, or to substitute one (so a gradient can be taken with respect
 * to it). Works wherever the layer sits (nested models, functional graphs), since every model
 * evaluates a layer through its `call`. Synchronous, so no other code sees the patched layer.
 */
export function withLayerHook<T>(layer: AnyLayer, hook: (inputs: tf.Tensor | tf.Tensor[], original: () => tf.Tensor | tf.Tensor[]) => tf.Tensor | tf.Tensor[], fn: () => T): T {
  const target = layer as unknown as { call: CallFn };
  const own = Object.prototype.hasOwnProperty.call(target, 'call');
  const original = target.call;
  target.call = function (this: unknown, inputs, kwargs) {
    return hook(inputs, () => original.call(this, inputs, kwargs));
  };
  let called = false;
  const wrapped = target.call;
  target.call = function (this: unknown, inputs, kwargs) {
    called = true;
    return wrapped.call(this, inputs, kwargs);
  };
  try {
    const result = fn();
    if (!called) throw new Error(`Layer '${layer.name}' was not evaluated by the model; it may be shared or unused. Name another layer.`);
    return result;
  } finally {
    if (own) target.call = original;
    else delete (target as { call?: CallFn }).call;
  }
}

/** The single tensor a layer returned; multi-output layers cannot be hooked. */
export function singleTensor(out: tf.Tensor | tf.Tensor[], layer: AnyLayer): tf.Tensor {
  if (Array.isArray(out)) {
    if (out.length === 1) return out[0]!;
    throw new Error(`Layer '${layer.name}' has ${out.length} outputs; choose a layer with one output.`);
  }
  return out;
}
