import * as tf from '@tensorflow/tfjs';
import { gradcam } from '../attribution/gradcam.js';
import type { AttributionCommon } from '../attribution/common.js';
import { featureMapSize, findGradCamLayer, findLayerByName } from '../models/layers.js';
import { occlusion } from '../attribution/occlusion.js';
import { jetTensor } from '../attribution/heatmap.js';
import type { ImageNote } from '../record/record.js';
import { gaussianBlur } from '../data/blur.js';
import { type Classifier, predictClasses } from '../models/classifier.js';
import { bootstrapCI } from '../metrics/bootstrap.js';
import { ssd } from '../metrics/ssd.js';
import { checkCount, checkedLabels, checkOptions, checkModel, checkSamples, className, fmt, type MatcherOutcome, type MatcherThis, record, refuse, savePanels } from './shared.js';

/** Grad-CAM: the blur sigma applied to the images. Occlusion: the patch-size change. */
export type AttributionChange = number | { from: number; to: number; stride?: number };

/** What `await expect(samples).toHaveStableAttribution(...)` resolves to. */
export interface AttributionMeasurement {
  /** Mean SSD over the samples, with the standard deviation and 95% bootstrap interval (seed 0). */
  mean: number;
  std: number;
  interval: { lower: number; upper: number; level: number };
  /** Per sample, the SSD between its two maps, in the order of the samples. */
  perSample: Float32Array;
  n: number;
}

export interface StableAttributionOptions {
  /** Pass when the mean SSD between the two maps (the paper's Delta, 32x32 maps in [0, 1]) is at most this. */
  maxSSD: number;
  /** Extra parameters for the attribution method (layer, batchSize, fill...). */
  params?: Record<string, unknown>;
  /** How many of the least stable samples to save as image | map | changed map PNGs. @defaultValue 3 */
  saveWorst?: number;
}

/** Grad-CAM's layer and the size of its feature map, for the message and the record. */
function gradcamLayer(model: Classifier, params: Record<string, unknown>): { layer: string; size: string; coarse: boolean } | undefined {
  if (!(model instanceof tf.LayersModel)) return undefined;
  const layer = typeof params.layer === 'string' ? findLayerByName(model, params.layer) : findGradCamLayer(model);
  const hw = featureMapSize(layer);
  return { layer: layer.name, size: hw ? `${hw[0]}x${hw[1]}` : 'unknown size', coarse: hw !== undefined && hw[0] * hw[1] <= 4 };
}

async function maps(method: string, model: Classifier, images: tf.Tensor4D, change: AttributionChange, params: Record<string, unknown>): Promise<[tf.Tensor3D, tf.Tensor3D, string]> {
  if (method === 'gradcam') {
    if (typeof change !== 'number' || !(change >= 0) || !Number.isFinite(change)) throw new RangeError(`toHaveStableAttribution: for 'gradcam' the change is a finite blur sigma >= 0 (the paper uses 0.5); got ${JSON.stringify(change)}.`);
    const where = gradcamLayer(model, params);
    // Both maps explain the same class: the one predicted on the clean image (or the caller's
    // target), so a blur that flips the prediction does not swap the question being asked.
    const target = (params.target as AttributionCommon['target']) ?? (await predictClasses(model, images));
    const blurred = gaussianBlur(images, change);
    // A blur that leaves every image as it is compares each map with itself: SSD 0 by construction.
    const same = tf.tidy(() => tf.all(tf.equal(blurred, images)));
    const unchanged = (await same.data())[0];
    same.dispose();
    if (unchanged) {
      blurred.dispose();
      throw new RangeError(`toHaveStableAttribution: a blur of sigma ${change} leaves every image unchanged, so each Grad-CAM map would be compared with itself (SSD 0 by construction). Give a sigma that changes the images (the paper uses 0.5).`);
    }
    let a: tf.Tensor3D;
    try {
      a = await gradcam(model, images, { ...params, target });
    } catch (err) {
      blurred.dispose();
      throw err;
    }
    try {
      const layer = where ? `, layer '${where.layer}' (${where.size}${where.coarse ? ': coarse, each map blends at most 4 values; name an earlier layer in params.layer for finer maps' : ''})` : '';
      return [a, await gradcam(model, blurred, { ...params, target }), `Grad-CAM of the image vs of its Gaussian blur (sigma ${change}${layer})`];
    } catch (err) {
      a.dispose();
      throw err;
    } finally {
      blurred.dispose();
    }
  }
  if (method === 'occlusion') {
    if (typeof change !== 'object' || change === null || !(change.from > 0 && change.to > 0)) {
      throw new RangeError(`toHaveStableAttribution: for 'occlusion' the change is { from, to, stride? } patch sizes (the paper: { from: 4, to: 2, stride: 2 }); got ${JSON.stringify(change)}.`);
    }
    const stride = change.stride ?? 2;
    if (change.from === change.to) throw new RangeError(`toHaveStableAttribution: for 'occlusion' the patch sizes must differ (from ${change.from}, to ${change.to}); equal patches give equal maps and an SSD of 0 by construction.`);
    const target = (params.target as AttributionCommon['target']) ?? (await predictClasses(model, images));
    const a = await occlusion(model, images, { ...params, target, patch: change.from, stride });
    try {
      return [a, await occlusion(model, images, { ...params, target, patch: change.to, stride }), `sliding-patch maps with patch ${change.from} vs ${change.to} (stride ${stride})`];
    } catch (err) {
      a.dispose();
      throw err;
    }
  }
  throw new Error(`toHaveStableAttribution: unknown method '${method}'. Use 'gradcam' (change: blur sigma) or 'occlusion' (change: { from, to, stride }).`);
}

/**
 * Samples whose maps cannot be compared or say something by themselves: maps holding NaN or
 * Infinity; original maps that are the same value at every pixel (all zero included), which
 * attribute nothing, so their SSD to another constant map is 0 and would make any model look
 * stable; and changed maps that became constant while the original was not (the attribution
 * vanished under the change).
 */
async function degenerateMaps(a: tf.Tensor3D, b: tf.Tensor3D): Promise<{ nonFinite: number[]; constantOriginal: number[]; vanished: number[] }> {
  const [rangeA, rangeB, finite] = tf.tidy(() => {
    const range = (m: tf.Tensor3D) => tf.sub(tf.max(m, [1, 2]), tf.min(m, [1, 2]));
    return [range(a), range(b), tf.logicalAnd(tf.all(tf.isFinite(a), [1, 2]), tf.all(tf.isFinite(b), [1, 2]))];
  });
  try {
    const [ra, rb, f] = [(await rangeA!.data()) as Float32Array, (await rangeB!.data()) as Float32Array, (await finite!.data()) as Uint8Array];
    const out = { nonFinite: [] as number[], constantOriginal: [] as number[], vanished: [] as number[] };
    f.forEach((ok, i) => {
      if (!ok) out.nonFinite.push(i);
      else if (ra[i] === 0) out.constantOriginal.push(i);
      else if (rb[i] === 0) out.vanished.push(i);
    });
    return out;
  } finally {
    tf.dispose([rangeA!, rangeB!, finite!]);
  }
}

/**
 * `await expect(samples).toHaveStableAttribution(model, 'gradcam', 0.5, { maxSSD: 20 })`: computes
 * each sample's attribution map before and after the change and the sum of squared differences
 * between them (the paper's Delta); passes when the mean is at most maxSSD. Both maps of a sample
 * explain the class predicted on the clean image (or `params.target`). An original map that is
 * constant (all zero included) or a map that is not a number is refused with the samples named,
 * never averaged in; a map that becomes constant under the change fails the check.
 */
export async function toHaveStableAttribution(this: MatcherThis, received: unknown, model: Classifier, method: 'gradcam' | 'occlusion', change: AttributionChange, options: StableAttributionOptions): Promise<MatcherOutcome> {
  const name = 'toHaveStableAttribution';
  const samples = await checkSamples(received, name);
  checkModel(name, model);
  checkOptions(name, options, ['maxSSD', 'params', 'saveWorst']);
  if (!options || !(typeof options.maxSSD === 'number' && options.maxSSD >= 0 && Number.isFinite(options.maxSSD))) throw new RangeError(`${name}: give { maxSSD }, a finite number >= 0: the largest acceptable mean SSD; got ${JSON.stringify(options?.maxSSD)}.`);
  checkCount(name, 'saveWorst', options.saveWorst);
  if (options.params !== undefined && (typeof options.params !== 'object' || options.params === null)) throw new TypeError(`${name}: params must be an object of the attribution method's parameters; got ${String(options.params)}.`);
  const labels = await checkedLabels(model, samples, name);
  const [a, b, what] = await maps(method, model, samples.images, change, options.params ?? {});
  try {
    const bad = await degenerateMaps(a, b);
    const named = (which: number[]) => `${which.length} of ${samples.size}: ${which.slice(0, 5).map((i) => samples.ids[i] ?? i).join(', ')}${which.length > 5 ? ', ...' : ''}`;
    const refused = (which: number[], why: string) =>
      refuse(this, model, { matcher: name, data: samples.source, method, params: { change, ...options.params }, metric: 'ssd', threshold: { op: '<=', value: options.maxSSD }, n: samples.size - which.length, artefacts: [] }, `${name}: ${why} (${named(which)}), in ${what}.`);
    if (bad.nonFinite.length) refused(bad.nonFinite, 'some attribution maps hold NaN or Infinity, so their SSD measures nothing; the model outputs are not finite');
    if (bad.constantOriginal.length) {
      refused(bad.constantOriginal, `some attribution maps of the original images are the same value at every pixel (all zero, or a 1x1 feature map upsampled), so they attribute nothing and their SSD would count as perfectly stable. ${method === 'gradcam' ? 'Name a layer with a larger feature map in params.layer, use another target class, or' : 'Use another patch size or target class, or'} leave those samples out`);
    }
    const values = await ssd(a, b);
    const ci = bootstrapCI(values, { seed: 0 });
    const mean = ci.estimate;
    const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, values.length - 1));
    const order = Array.from(values.keys()).sort((i, j) => values[j]! - values[i]!);
    const worst = order.slice(0, options.saveWorst ?? 3);
    let saved = '';
    let artefacts: string[] = [];
    let images: ImageNote[] | undefined;
    if (worst.length) {
      // Maps as half-transparent 'jet' overlays on the image, the colours of the heatmap snapshots.
      const out = await savePanels(this, 'attribution', model, worst, samples.ids, (i) => {
        const image = samples.images.slice([i, 0, 0, 0], [1, -1, -1, -1]).squeeze([0]);
        const rgb = image.shape[2] === 1 ? image.tile([1, 1, 3]) : image;
        const overlay = (m: tf.Tensor3D) => rgb.mul(0.5).add(jetTensor(m.slice([i, 0, 0], [1, -1, -1]).squeeze([0])).mul(0.5));
        return tf.concat([rgb, overlay(a), overlay(b)], 1) as tf.Tensor3D;
      });
      artefacts = out.artefacts;
      images = worst.map((i, k): ImageNote => ({
        file: artefacts[k]!,
        kind: 'attribution',
        panels: ['image', `${method} map`, `${method} map after the change`],
        sample: samples.ids[i],
        trueClass: className(samples, labels[i]!),
        score: values[i],
        colormap: 'jet',
      }));
      const shown = out.shown;
      saved = `; least stable: ${worst.map((i) => `${samples.ids[i]} (${fmt(values[i]!, 2)})`).join(', ')}, saved as image | map | changed map in ${shown}/`;
    }
    // A map that vanished under the change is the attribution at its least stable, whatever the mean.
    const pass = mean <= options.maxSSD && bad.vanished.length === 0;
    const vanished = bad.vanished.length ? `; ${bad.vanished.length} map(s) became the same value at every pixel under the change (${named(bad.vanished)}): the attribution vanished, so not stable whatever the mean` : '';
    const describe = () => `mean SSD of ${what} was ${fmt(mean, 2)} ± ${fmt(std, 2)} (95% CI ${fmt(ci.lower, 2)}, ${fmt(ci.upper, 2)}) on n=${values.length}; threshold <= ${options.maxSSD}${vanished}${saved}`;
    const message = () => (this.isNot ? `expected attributions NOT to be stable: ${describe()}` : `expected stable attributions: ${describe()}`);
    record(this, model, {
      matcher: name,
      data: samples.source,
      method,
      params: { change, ...options.params, ...(bad.vanished.length ? { vanishedMaps: bad.vanished.length } : {}) },
      metric: 'ssd',
      value: mean,
      interval: { lower: ci.lower, upper: ci.upper, level: 0.95 },
      threshold: { op: '<=', value: options.maxSSD },
      n: values.length,
      pass,
      artefacts,
      images,
      message: message(),
    });
    return {
      pass,
      message,
      actual: mean,
      expected: options.maxSSD,
      measurement: { mean, std, interval: { lower: ci.lower, upper: ci.upper, level: 0.95 }, perSample: values, n: values.length } satisfies AttributionMeasurement,
    };
  } finally {
    tf.dispose([a, b]);
  }
}
