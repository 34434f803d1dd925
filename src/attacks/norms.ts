import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../util/random.js';
import type { NormName } from './types.js';

/**
 * What a norm contributes to the gradient loop (as in Foolbox 3): a random start inside the
 * ball, the steepest-ascent direction for a gradient, and the projection back onto the ball.
 * All functions are synchronous tensor maps, safe inside `tf.tidy`; inputs are not disposed.
 */
export interface Norm {
  readonly name: NormName;
  /** A random perturbation inside the eps-ball, shape of `shape`. */
  randomStart(shape: [number, number, number, number], eps: number, seed: number): tf.Tensor4D;
  /** The unit-norm (in this norm's sense) direction of steepest ascent for gradient `g`. */
  direction(g: tf.Tensor4D): tf.Tensor4D;
  /** Projects each sample's perturbation onto the eps-ball. */
  project(delta: tf.Tensor4D, eps: number): tf.Tensor4D;
  /** Per-sample norm [N]. */
  measure(delta: tf.Tensor4D): tf.Tensor1D;
}

const TINY = 1e-12;

function perSampleL2(t: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(t), [1, 2, 3])) as tf.Tensor1D);
}

function asColumn(v: tf.Tensor1D): tf.Tensor4D {
  return v.reshape([v.shape[0], 1, 1, 1]);
}

export const linfNorm: Norm = {
  name: 'linf',
  randomStart: (shape, eps, seed) => tf.randomUniform(shape, -eps, eps, 'float32', seed) as tf.Tensor4D,
  direction: (g) => tf.sign(g),
  project: (delta, eps) => tf.clipByValue(delta, -eps, eps),
  measure: (delta) => tf.tidy(() => tf.max(tf.abs(delta), [1, 2, 3]) as tf.Tensor1D),
};

export const l2Norm: Norm = {
  name: 'l2',
  // Uniform in the ball: a Gaussian direction, radius eps * u^(1/d).
  randomStart: (shape, eps, seed) =>
    tf.tidy(() => {
      const [n] = shape;
      const d = shape[1] * shape[2] * shape[3];
      const rand = mulberry32(seed ^ 0x9e3779b9);
      const radii = tf.tensor1d(Array.from({ length: n }, () => eps * Math.pow(rand(), 1 / d)));
      const g = tf.randomNormal(shape, 0, 1, 'float32', seed) as tf.Tensor4D;
      return tf.mul(g, asColumn(tf.div(radii, tf.add(perSampleL2(g), TINY)))) as tf.Tensor4D;
    }),
  direction: (g) => tf.tidy(() => tf.div(g, asColumn(tf.add(perSampleL2(g), TINY))) as tf.Tensor4D),
  project: (delta, eps) =>
    tf.tidy(() => {
      const scale = tf.minimum(1, tf.div(eps, tf.add(perSampleL2(delta), TINY))) as tf.Tensor1D;
      return tf.mul(delta, asColumn(scale)) as tf.Tensor4D;
    }),
  measure: perSampleL2,
};

const NORMS: Record<NormName, Norm> = { linf: linfNorm, l2: l2Norm };

/** The norm called `name` ('linf' or 'l2'); an unknown name lists the known ones. */
export function getNorm(name: NormName): Norm {
  const norm = NORMS[name];
  if (!norm) throw new Error(`Unknown norm ${JSON.stringify(name)}; use one of ${Object.keys(NORMS).map((k) => `'${k}'`).join(', ')}.`);
  return norm;
}
