import * as tf from '@tensorflow/tfjs';
import type { OnnxModel } from './onnx/index.js';
import type { ValueInfo } from './onnx/graph.js';
import { singleTensor, withLayerHook } from './layers.js';

/**
 * An inner feature map of a model that an attribution can capture or substitute: a LayersModel's
 * layer, or a value of an imported ONNX graph. Grad-CAM and averageDensity need nothing else from the model.
 */
export interface FeatureTap {
  /** The layer or ONNX value name, for messages. */
  readonly name: string;
  /**
   * Runs `fn` while the feature map is routed through `hook`, which gets a function computing it
   * ([N, h, w, c]) and returns the map to use. Synchronous; restored after.
   */
  withHook<T>(hook: (original: () => tf.Tensor) => tf.Tensor, fn: () => T): T;
}

/** A LayersModel layer as a tap. */
export function layerTap(layer: tf.layers.Layer): FeatureTap {
  return {
    name: layer.name,
    withHook: (hook, fn) => withLayerHook(layer, (_in, original) => hook(() => singleTensor(original(), layer)), fn),
  };
}

/**
 * A value of an imported ONNX model as a tap: named by ONNX output or node name, or by default
 * `fallback()`: Grad-CAM's, the last convolution output larger than 1x1, followed through its
 * element-wise consumers ({@link OnnxModel.defaultGradCamValue}).
 */
export function onnxTap(model: OnnxModel, name?: string, fallback: () => ValueInfo = () => model.defaultGradCamValue()): FeatureTap {
  const value = name === undefined ? fallback() : model.valueNamed(name);
  return {
    name: value.name,
    withHook: (hook, fn) => model.withFeatureHook(value.name, (computed) => hook(() => computed), fn),
  };
}


