import * as tf from '@tensorflow/tfjs';
import type { Samples } from '../data/samples.js';
import { checkInputShape } from '../models/classifier.js';
import { layerTap, onnxTap } from '../models/featureTap.js';
import { findLayerByName, firstHiddenLayer } from '../models/layers.js';
import { isOnnxModel, type OnnxModel } from '../models/onnx/index.js';

/** Options of {@link averageDensity}. */
export interface AverageDensityOptions {
  /** The layer whose units are counted (for an ONNX model, an ONNX output or node name). @defaultValue the first Conv or Dense layer (ONNX: Conv, Gemm or MatMul) */
  layer?: string;
  /** Images per model call. @defaultValue 64 */
  batchSize?: number;
}

/** What {@link averageDensity} measured. */
export interface DensityResult {
  /** Mean over stimuli of the fraction of the layer's units with activation > 0. */
  density: number;
  /** That fraction per stimulus. */
  perSample: Float32Array;
  /** The layer measured. */
  layer: string;
  /** Units in the layer (h * w * c for a conv layer). */
  units: number;
}

/**
 * Average density (the paper's Fig. 1, the average activity ratio): for each stimulus, the
 * fraction of a layer's units whose activation is > 0, averaged over stimuli. The activation is
 * the layer's output (after its own activation function; for a linear layer followed by ReLU,
 * > 0 counts the same units).
 * @example `const { density } = await averageDensity(model, samples, { layer: 'conv2d_1' });`
 */
export async function averageDensity(model: tf.LayersModel | OnnxModel, images: tf.Tensor4D | Samples, options: AverageDensityOptions = {}): Promise<DensityResult> {
  if (!(model instanceof tf.LayersModel) && !isOnnxModel(model)) throw new Error('averageDensity needs a tf.LayersModel or an imported ONNX model, since it reads an inner layer.');
  const x = images instanceof tf.Tensor ? images : images.images;
  if (!(x instanceof tf.Tensor) || x.rank !== 4) throw new Error(`averageDensity: images must be [N, H, W, C]; got ${x instanceof tf.Tensor ? `shape [${x.shape.join(', ')}]` : typeof x}.`);
  if (x.shape[0] === 0) throw new Error('averageDensity: the image batch is empty (0 images), so there is no density to measure. Pass at least one image.');
  // An imported model checks its image size itself, naming the size it takes.
  if (!isOnnxModel(model)) checkInputShape(model, x);
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`averageDensity: batchSize must be a positive integer; got ${batchSize}.`);
  const layer = isOnnxModel(model) ? onnxTap(model, options.layer, () => model.firstHiddenValue()) : layerTap(options.layer !== undefined ? findLayerByName(model, options.layer) : firstHiddenLayer(model));
  const forward = (chunk: tf.Tensor4D) => (isOnnxModel(model) ? model.predict(chunk) : model.apply(chunk, { training: false }));
  const n = x.shape[0];
  if (n === 0) throw new RangeError('averageDensity: no images, so there is no density to measure; give at least one.');
  const perSample = new Float32Array(n);
  let units = 0;
  for (let s = 0; s < n; s += batchSize) {
    const size = Math.min(batchSize, n - s);
    let act: tf.Tensor | undefined;
    let frac: tf.Tensor;
    try {
      frac = tf.tidy(() => {
        const chunk = x.slice([s, 0, 0, 0], [size, -1, -1, -1]);
        // Kept: the layer runs inside the model's own tidy. The model gets a clone, since a
        // functional model disposes consumed intermediates.
        layer.withHook((original) => {
          act = tf.keep(original());
          return act.clone();
        }, () => forward(chunk));
        const flat = act!.reshape([size, -1]);
        units = flat.shape[1]!;
        // A NaN activation is not > 0, so it would count as silent and lower the density; the
        // per-sample fraction is made NaN instead, and refused below.
        const finite = tf.all(tf.isFinite(flat), 1);
        return tf.where(finite, tf.mean(tf.cast(tf.greater(flat, 0), 'float32'), 1), tf.fill([size], Number.NaN));
      });
    } finally {
      act?.dispose();
    }
    perSample.set(await frac.data(), s);
    frac.dispose();
  }
  const broken = perSample.findIndex((v) => Number.isNaN(v));
  if (broken >= 0) throw new Error(`averageDensity: layer '${layer.name}' gave NaN or Infinity activations (first for image ${broken}); the model's weights or inputs are not finite, so its density means nothing.`);
  const density = perSample.reduce((a, b) => a + b, 0) / n;
  return { density, perSample, layer: layer.name, units };
}
