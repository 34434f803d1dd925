import * as tf from '@tensorflow/tfjs';
import { yieldToEventLoop } from '../util/yield.js';
import { COMMON_DEFAULTS, defineAttack } from './defineAttack.js';
import { checkEps } from '../data/inputs.js';
import { getNorm } from './norms.js';
import type { AttackContext, CommonParams, NormName } from './types.js';

/** Parameters of {@link cw}. */
export interface CwParams extends CommonParams {
  /** Adam steps per binary-search step. @defaultValue 100 */
  steps: number;
  /** Binary-search steps over the constant c. @defaultValue 5 (Foolbox: 9, ART: 10) */
  binarySearchSteps: number;
  /** Starting c, the weight of the classification term against the squared L2 distance. @defaultValue 0.01 (ART's) */
  initialConst: number;
  /** Adam learning rate in tanh space. @defaultValue 0.01 */
  learningRate: number;
  /** Margin kappa by which the adversarial class must win. @defaultValue 0 */
  confidence: number;
  /** Optional budget: the result is projected onto the eps-ball of `norm`. @defaultValue Infinity (none) */
  eps: number;
  /** The norm of the optional budget (the optimisation itself is always L2). @defaultValue 'l2' */
  norm: NormName;
}

/** Defaults of {@link cw}. */
export const CW_DEFAULTS: CwParams = {
  ...COMMON_DEFAULTS,
  steps: 100,
  binarySearchSteps: 5,
  initialConst: 0.01,
  learningRate: 0.01,
  confidence: 0,
  eps: Infinity,
  norm: 'l2',
};

const ADAM_B1 = 0.9;
const ADAM_B2 = 0.999;
const ADAM_EPS = 1e-8;
const BIG = 1e10;

/**
 * Carlini-Wagner L2 (Carlini and Wagner, 2017): minimise ||x' - x||^2 + c * f(x') over
 * x' = (tanh(w) + 1) / 2 (which keeps x' in [0, 1]) with Adam, where
 * f = max(Z_label - max_{i != label} Z_i, -confidence) (targeted: max(max_{i != t} Z_i - Z_t, -confidence)),
 * and binary-search c per sample. Returns, per sample, the smallest successful x' seen; the
 * clean image where no step succeeded.
 *
 * @example
 * ```ts
 * const r = await cw.run(model, images, labels, { steps: 200, binarySearchSteps: 6 });
 * ```
 */
export const cw = defineAttack<CwParams>({
  name: 'cw',
  defaults: CW_DEFAULTS,
  resolve(p, x) {
    getNorm(p.norm);
    checkEps(p.eps, p.norm, x.shape[1] * x.shape[2] * x.shape[3], 'cw', true);
    for (const key of ['steps', 'binarySearchSteps'] as const) {
      if (!Number.isInteger(p[key]) || p[key] < 1) throw new RangeError(`cw: ${key} must be a positive integer; got ${String(p[key])}.`);
    }
    for (const key of ['initialConst', 'learningRate'] as const) {
      if (!(typeof p[key] === 'number' && p[key] > 0 && Number.isFinite(p[key]))) throw new RangeError(`cw: ${key} must be a positive number; got ${String(p[key])}.`);
    }
    if (!(typeof p.confidence === 'number' && p.confidence >= 0 && Number.isFinite(p.confidence))) throw new RangeError(`cw: confidence must be a number >= 0; got ${String(p.confidence)}.`);
    return p;
  },
  budget: (p) => ({ norm: p.norm, eps: p.eps }),
  perturb: (ctx, p) => cwChunk(ctx, p),
});

/** Per-sample margin term f and a success flag for [n, K] logits. */
function margin(ctx: AttackContext, logits: tf.Tensor2D, kappa: number): { f: tf.Tensor1D; ok: tf.Tensor1D } {
  return tf.tidy(() => {
    const onehot = tf.oneHot(ctx.classes, ctx.numClasses);
    const own = tf.sum(tf.mul(logits, onehot), 1);
    // Mask the own class out of the max with a large negative offset.
    const other = tf.max(tf.sub(logits, tf.mul(onehot, BIG)), 1);
    const gap = ctx.targeted ? tf.sub(other, own) : tf.sub(own, other);
    // Success: the wanted side wins by more than kappa (strictly, so ties do not count).
    const ok = tf.less(gap, kappa === 0 ? 0 : -kappa).toFloat() as tf.Tensor1D;
    return { f: tf.maximum(gap, -kappa) as tf.Tensor1D, ok };
  });
}

async function cwChunk(ctx: AttackContext, p: CwParams): Promise<tf.Tensor4D> {
  const x0 = ctx.x;
  const n = x0.shape[0];
  const w0 = tf.tidy(() => tf.atanh(tf.clipByValue(tf.sub(tf.mul(x0, 2), 1), -1 + 1e-6, 1 - 1e-6)) as tf.Tensor4D);
  const c = new Float64Array(n).fill(p.initialConst);
  const lower = new Float64Array(n);
  const upper = new Float64Array(n).fill(BIG);
  const bestL2 = new Float64Array(n).fill(Infinity);
  let bestAdv = tf.clone(x0);
  const shape4 = [n, 1, 1, 1];
  try {
    for (let bs = 0; bs < p.binarySearchSteps; bs++) {
      const succeeded = new Uint8Array(n);
      const cT = tf.tensor1d(Float32Array.from(c));
      let w = tf.clone(w0);
      let m = tf.zerosLike(w0);
      let v = tf.zerosLike(w0);
      try {
        for (let t = 1; t <= p.steps; t++) {
          let xa!: tf.Tensor4D;
          let d2!: tf.Tensor1D;
          let ok!: tf.Tensor1D;
          const [nw, nm, nv] = tf.tidy(() => {
            const { grad } = ctx.grad((wv: tf.Tensor4D) => {
              const xs = tf.div(tf.add(tf.tanh(wv), 1), 2) as tf.Tensor4D;
              const dist = tf.sum(tf.square(tf.sub(xs, x0)), [1, 2, 3]) as tf.Tensor1D;
              const mg = margin(ctx, ctx.logits(xs), p.confidence);
              xa = tf.keep(xs);
              d2 = tf.keep(dist);
              ok = tf.keep(mg.ok);
              return tf.sum(tf.add(dist, tf.mul(cT, mg.f))) as tf.Scalar;
            }, w);
            const m1 = tf.add(tf.mul(m, ADAM_B1), tf.mul(grad, 1 - ADAM_B1));
            const v1 = tf.add(tf.mul(v, ADAM_B2), tf.mul(tf.square(grad), 1 - ADAM_B2));
            const mHat = tf.div(m1, 1 - Math.pow(ADAM_B1, t));
            const vHat = tf.div(v1, 1 - Math.pow(ADAM_B2, t));
            const w1 = tf.sub(w, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), ADAM_EPS)), p.learningRate));
            return [w1, m1, v1] as tf.Tensor4D[];
          });
          tf.dispose([w, m, v]);
          w = nw!;
          m = nm!;
          v = nv!;
          try {
            // The point evaluated in this step is xa (before the update): keep it where it
            // succeeds with a smaller distance than the best so far.
            const [d2h, okh] = await Promise.all([d2.data(), ok.data()]);
            const improve = new Float32Array(n);
            let any = false;
            for (let i = 0; i < n; i++) {
              if (okh[i]! > 0) {
                succeeded[i] = 1;
                if (d2h[i]! < bestL2[i]!) {
                  bestL2[i] = d2h[i]!;
                  improve[i] = 1;
                  any = true;
                }
              }
            }
            if (any) {
              const next = tf.tidy(() => tf.where(tf.tensor1d(improve).reshape(shape4).tile([1, ...x0.shape.slice(1)]).cast('bool'), xa, bestAdv) as tf.Tensor4D);
              bestAdv.dispose();
              bestAdv = next;
            }
          } finally {
            tf.dispose([xa, d2, ok]);
          }
          await yieldToEventLoop();
        }
      } finally {
        tf.dispose([w, m, v, cT]);
      }
      for (let i = 0; i < n; i++) {
        if (succeeded[i]) {
          upper[i] = Math.min(upper[i]!, c[i]!);
          c[i] = (lower[i]! + upper[i]!) / 2;
        } else {
          lower[i] = Math.max(lower[i]!, c[i]!);
          c[i] = upper[i]! < BIG ? (lower[i]! + upper[i]!) / 2 : c[i]! * 10;
        }
      }
    }
    return bestAdv;
  } catch (err) {
    bestAdv.dispose();
    throw err;
  } finally {
    w0.dispose();
  }
}
