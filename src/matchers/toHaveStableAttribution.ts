import * as tf from '@tensorflow/tfjs';
import { gradcam } from '../attribution/gradcam.js';
import { occlusion } from '../attribution/occlusion.js';
import { gaussianBlur } from '../data/blur.js';
import type { Classifier } from '../models/classifier.js';
import { bootstrapCI } from '../metrics/bootstrap.js';
import { ssd } from '../metrics/ssd.js';
import { checkLabels, checkSamples, fmt, type MatcherOutcome, type MatcherThis, record, savePanels } from './shared.js';

/** Grad-CAM: the blur sigma applied to the images. Occlusion: the patch-size change. */
export type AttributionChange = number | { from: number; to: number; stride?: number };

export interface StableAttributionOptions {
  /** Pass when the mean SSD between the two maps (the paper's Delta, 32x32 maps in [0, 1]) is at most this. */
  maxSSD: number;
  /** Extra parameters for the attribution method (layer, batchSize, fill...). */
  params?: Record<string, unknown>;
  /** How many of the least stable samples to save as image | map | changed map PNGs. @defaultValue 3 */
  saveWorst?: number;
}

async function maps(method: string, model: Classifier, images: tf.Tensor4D, change: AttributionChange, params: Record<string, unknown>): Promise<[tf.Tensor3D, tf.Tensor3D, string]> {
  if (method === 'gradcam') {
    if (typeof change !== 'number' || !(change >= 0)) throw new RangeError(`toHaveStableAttribution: for 'gradcam' the change is a blur sigma >= 0 (the paper uses 0.5); got ${JSON.stringify(change)}.`);
    const a = await gradcam(model, images, params);
    const blurred = gaussianBlur(images, change);
    try {
      // The same target class for both maps: the prediction on the original image.
      return [a, await gradcam(model, blurred, params), `Grad-CAM of the image vs of its Gaussian blur (sigma ${change})`];
    } finally {
      blurred.dispose();
    }
  }
  if (method === 'occlusion') {
    if (typeof change !== 'object' || !(change.from > 0 && change.to > 0)) {
      throw new RangeError(`toHaveStableAttribution: for 'occlusion' the change is { from, to, stride? } patch sizes (the paper: { from: 4, to: 2, stride: 2 }); got ${JSON.stringify(change)}.`);
    }
    const stride = change.stride ?? 2;
    const a = await occlusion(model, images, { ...params, patch: change.from, stride });
    return [a, await occlusion(model, images, { ...params, patch: change.to, stride }), `sliding-patch maps with patch ${change.from} vs ${change.to} (stride ${stride})`];
  }
  throw new Error(`toHaveStableAttribution: unknown method '${method}'. Use 'gradcam' (change: blur sigma) or 'occlusion' (change: { from, to, stride }).`);
}

/**
 * `await expect(samples).toHaveStableAttribution(model, 'gradcam', 0.5, { maxSSD: 20 })`: computes
 * each sample's attribution map before and after the change and the sum of squared differences
 * between them (the paper's Delta); passes when the mean is at most maxSSD.
 */
export async function toHaveStableAttribution(this: MatcherThis, received: unknown, model: Classifier, method: 'gradcam' | 'occlusion', change: AttributionChange, options: StableAttributionOptions): Promise<MatcherOutcome> {
  const name = 'toHaveStableAttribution';
  const samples = await checkSamples(received, name);
  if (!options || !(typeof options.maxSSD === 'number' && options.maxSSD >= 0)) throw new RangeError(`${name}: give { maxSSD } >= 0, the largest acceptable mean SSD.`);
  await checkLabels(model, samples, name);
  const [a, b, what] = await maps(method, model, samples.images, change, options.params ?? {});
  try {
    const values = await ssd(a, b);
    const ci = bootstrapCI(values, { seed: 0 });
    const mean = ci.estimate;
    const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, values.length - 1));
    const order = Array.from(values.keys()).sort((i, j) => values[j]! - values[i]!);
    const worst = order.slice(0, options.saveWorst ?? 3);
    let saved = '';
    let artefacts: string[] = [];
    if (worst.length) {
      const gray = (m: tf.Tensor3D, i: number) => m.slice([i, 0, 0], [1, -1, -1]).squeeze([0]).expandDims(2).tile([1, 1, 3]);
      const out = await savePanels(this, 'attribution', worst, samples.ids, (i) =>
        tf.concat([samples.images.slice([i, 0, 0, 0], [1, -1, -1, -1]).squeeze([0]), gray(a, i), gray(b, i)], 1) as tf.Tensor3D,
      );
      artefacts = out.artefacts;
      const shown = out.shown;
      saved = `; least stable: ${worst.map((i) => `${samples.ids[i]} (${fmt(values[i]!, 2)})`).join(', ')}, saved as image | map | changed map in ${shown}/`;
    }
    record(this, model, {
      matcher: name,
      data: samples.source,
      method,
      params: { change, ...options.params },
      metric: 'ssd',
      value: mean,
      interval: { lower: ci.lower, upper: ci.upper, level: 0.95 },
      threshold: { op: '<=', value: options.maxSSD },
      n: values.length,
      pass: mean <= options.maxSSD,
      artefacts,
    });
    const describe = () => `mean SSD of ${what} was ${fmt(mean, 2)} ± ${fmt(std, 2)} (95% CI ${fmt(ci.lower, 2)}, ${fmt(ci.upper, 2)}) on n=${values.length}; threshold <= ${options.maxSSD}${saved}`;
    return {
      pass: mean <= options.maxSSD,
      message: () => (this.isNot ? `expected attributions NOT to be stable: ${describe()}` : `expected stable attributions: ${describe()}`),
      actual: mean,
      expected: options.maxSSD,
    };
  } finally {
    tf.dispose([a, b]);
  }
}
