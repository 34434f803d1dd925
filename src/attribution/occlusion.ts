import * as tf from '@tensorflow/tfjs';
import { occludedProbabilities, type Classifier } from '../models/classifier.js';
import { yieldToEventLoop } from '../util/yield.js';
import { ATTRIBUTION_COMMON_DEFAULTS, type AttributionCommon, fillAttributionParams, prepareAttribution } from './common.js';
import { normalizeMaps } from './heatmap.js';
import { fromModel } from './provenance.js';
import { runPooledMaps } from './pooling.js';

/** Parameters of {@link occlusion}. */
export interface OcclusionParams extends AttributionCommon {
  /** Side of the square patch, in pixels. @defaultValue 4 (the paper's) */
  patch: number;
  /** Distance between patch positions, in pixels (the paper's "jump"). @defaultValue 2 */
  stride: number;
  /** Value the patch is filled with. @defaultValue 0.5 (gray) */
  fill: number;
}

/** Defaults of {@link occlusion}. */
export const OCCLUSION_DEFAULTS: OcclusionParams = { ...ATTRIBUTION_COMMON_DEFAULTS, patch: 4, stride: 2, fill: 0.5 };

/** Patch start offsets along one axis: every `stride`, plus one flush with the far edge so every pixel is covered. */
export function patchOffsets(size: number, patch: number, stride: number): number[] {
  const out: number[] = [];
  for (let o = 0; o + patch <= size; o += stride) out.push(o);
  if (out[out.length - 1] !== size - patch) out.push(size - patch);
  return out;
}

/**
 * Sliding-patch occlusion (Zeiler and Fergus, 2014): a `patch` x `patch` square of value `fill`
 * slides over the image every `stride` pixels; each position's score is the drop in the target
 * class's probability; a pixel's value is the mean score of the positions covering it. Negative
 * means (occlusion raised the probability) become 0, then each map is divided by its maximum.
 * A pixel the model ignores, whose every covering patch touches only ignored pixels, gets 0.
 *
 * @returns [N, H, W] maps in [0, 1] (caller disposes)
 * @example `const maps = await occlusion(model, images, { patch: 2, stride: 2 });`
 */
export async function occlusion(model: Classifier, x: tf.Tensor4D, params?: Partial<OcclusionParams>): Promise<tf.Tensor3D> {
  return fromModel(await occlusionMaps(model, x, params), model);
}

async function occlusionMaps(model: Classifier, x: tf.Tensor4D, params?: Partial<OcclusionParams>): Promise<tf.Tensor3D> {
  const p = fillAttributionParams('occlusion', OCCLUSION_DEFAULTS, params);
  const [, H, W, C] = x.shape;
  if (x.rank === 4) {
    for (const key of ['patch', 'stride'] as const) {
      if (!Number.isInteger(p[key]) || p[key] < 1) throw new RangeError(`occlusion: ${key} must be a positive integer; got ${String(p[key])}.`);
    }
    if (p.patch > Math.min(H, W)) throw new RangeError(`occlusion: patch ${p.patch} is larger than the ${H}x${W} image; use a patch of at most ${Math.min(H, W)}.`);
    if (!(typeof p.fill === 'number' && p.fill >= 0 && p.fill <= 1)) throw new RangeError(`occlusion: fill must lie in [0, 1]; got ${String(p.fill)}.`);
  }
  const { clf, targets } = await prepareAttribution('occlusion', model, x, p);
  // On the worker threads, part of the batch each, when they can take the model (src/workers).
  const pooled = await runPooledMaps('occlusion', model, x, { ...p }, targets);
  if (pooled) return pooled;
  const ys = patchOffsets(H, p.patch, p.stride);
  const xs = patchOffsets(W, p.patch, p.stride);
  const P = ys.length * xs.length;
  // masks[P, H*W]: 1 inside each patch position.
  const maskData = new Float32Array(P * H * W);
  let q = 0;
  for (const oy of ys) {
    for (const ox of xs) {
      for (let r = oy; r < oy + p.patch; r++) maskData.fill(1, q * H * W + r * W + ox, q * H * W + r * W + ox + p.patch);
      q++;
    }
  }
  // Each position's top-left corner, for the frozen graph's windowed route (frozen.ts).
  const oy = new Int32Array(P);
  const ox = new Int32Array(P);
  for (let i = 0, k = 0; i < ys.length; i++) for (let j = 0; j < xs.length; j++, k++) [oy[k], ox[k]] = [ys[i]!, xs[j]!];
  const windowed = occludedProbabilities(clf);
  const masks = tf.tensor2d(maskData, [P, H * W]);
  const masks4 = masks.reshape([P, H, W, 1]);
  const coverage = tf.sum(masks, 0);
  const maps: tf.Tensor2D[] = [];
  try {
    for (let i = 0; i < x.shape[0]; i++) {
      const target = targets[i]!;
      const img = x.slice([i, 0, 0, 0], [1, H, W, C]);
      const base = tf.tidy(() => clf.probabilities(img).slice([0, target], [1, 1]).reshape([1]));
      const drops: tf.Tensor1D[] = [];
      const local = windowed?.(img);
      try {
        for (let s = 0; s < P; s += p.batchSize) {
          const m = Math.min(p.batchSize, P - s);
          drops.push(
            tf.tidy(() => {
              let probs: tf.Tensor2D;
              if (local) probs = local.run({ y: oy.subarray(s, s + m), x: ox.subarray(s, s + m), h: p.patch, w: p.patch, fill: p.fill });
              else {
                const mk = masks4.slice([s, 0, 0, 0], [m, -1, -1, -1]);
                probs = clf.probabilities(tf.add(tf.mul(img, tf.sub(1, mk)), tf.mul(mk, p.fill)) as tf.Tensor4D);
              }
              return tf.sub(base, probs.slice([0, target], [m, 1]).reshape([m])) as tf.Tensor1D;
            }),
          );
          await yieldToEventLoop();
        }
        maps.push(tf.tidy(() => tf.div(tf.matMul(tf.concat(drops).reshape([1, P]), masks), coverage) as tf.Tensor2D));
      } finally {
        local?.dispose();
        tf.dispose([img, base, ...drops]);
      }
    }
    return tf.tidy(() => normalizeMaps(tf.concat(maps, 0).reshape([x.shape[0], H, W]) as tf.Tensor3D, 'max'));
  } finally {
    tf.dispose([masks, masks4, coverage, ...maps]);
  }
}
