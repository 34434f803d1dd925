// The seam between the attributions and the worker threads (src/workers/pool.ts, a floor above):
// the pool registers itself here when loaded; Grad-CAM and the sliding patch ask it first.
import type * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../models/classifier.js';

/** Computes maps on worker threads, or returns undefined for the calling thread to compute them. */
export type MapsPool = (method: 'gradcam' | 'occlusion', model: Classifier, x: tf.Tensor4D, params: Record<string, unknown>, targets: Int32Array | undefined) => Promise<tf.Tensor3D | undefined>;

let pool: MapsPool | undefined;

/** Registers the worker threads (src/workers/pool.ts does, when loaded). */
export function setMapsPool(p: MapsPool | undefined): void {
  pool = p;
}

/** The pool's maps for this call (`targets` already resolved, undefined: predicted classes), or undefined. */
export function runPooledMaps(method: 'gradcam' | 'occlusion', model: Classifier, x: tf.Tensor4D, params: Record<string, unknown>, targets: Int32Array | undefined): Promise<tf.Tensor3D | undefined> {
  return pool ? pool(method, model, x, params, targets) : Promise.resolve(undefined);
}
