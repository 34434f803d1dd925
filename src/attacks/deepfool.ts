import * as tf from '@tensorflow/tfjs';
import { yieldToEventLoop } from '../util/yield.js';
import { COMMON_DEFAULTS, defineAttack } from './defineAttack.js';
import { checkEps } from '../data/inputs.js';
import { getNorm } from './norms.js';
import type { AttackContext, CommonParams, NormName } from './types.js';

/** Parameters of {@link deepfool}. */
export interface DeepFoolParams extends CommonParams {
  /** Iterations at most. @defaultValue 50 (the DeepFool authors'; ART uses 100) */
  maxIter: number;
  /** The total step is scaled by 1 + overshoot to cross the boundary. @defaultValue 0.02 (ART: 1e-6) */
  overshoot: number;
  /** Classes considered: the label and the top candidates - 1 others at the clean input (ART's nb_grads). @defaultValue 10 */
  candidates: number;
  /** The norm DeepFool minimises (L2 as in the paper, or Linf). @defaultValue 'l2' */
  norm: NormName;
  /** Optional budget in `norm`: the result is projected onto the eps-ball. @defaultValue Infinity (none) */
  eps: number;
  /**
   * Added to every step's distance to the linearised boundary (in `norm`), so that each step
   * lands just past that boundary rather than on it. On it, float rounding decides which side an
   * image ends on, and an image can stall once its step is below what float32 can add to its
   * pixels. The DeepFool authors' reference code steps `(pert + 1e-4) * w / ||w||`
   * (github.com/LTS4/DeepFool, deepfool.py); Foolbox 3 adds 1e-4 to the distances. 0 gives the
   * step of the paper's equations.
   * @defaultValue 1e-4
   */
  push: number;
}

/** Defaults of {@link deepfool}. */
export const DEEPFOOL_DEFAULTS: DeepFoolParams = { ...COMMON_DEFAULTS, maxIter: 50, overshoot: 0.02, candidates: 10, norm: 'l2', eps: Infinity, push: 1e-4 };

const TINY = 1e-8;

/**
 * DeepFool (Moosavi-Dezfooli et al., 2016), multi-class, untargeted: linearise the model around
 * the current point, step to the nearest linearised boundary between the label and one of the
 * candidate classes (`push` past it), repeat until the prediction leaves the label; the
 * accumulated step is scaled by 1 + overshoot. Samples already misclassified are left as they
 * are. Each sample stops once it has crossed: only samples still classified as their label are
 * evaluated and differentiated in each iteration, and the batch ends when none is left.
 *
 * @example
 * ```ts
 * const r = await deepfool.run(model, images, labels, { norm: 'linf', eps: 8 / 255 });
 * ```
 */
export const deepfool = defineAttack<DeepFoolParams>({
  name: 'deepfool',
  defaults: DEEPFOOL_DEFAULTS,
  targeted: false,
  resolve(p, x) {
    getNorm(p.norm);
    checkEps(p.eps, p.norm, x.shape[1] * x.shape[2] * x.shape[3], 'deepfool', true);
    if (!Number.isInteger(p.maxIter) || p.maxIter < 1) throw new RangeError(`deepfool: maxIter must be a positive integer; got ${String(p.maxIter)}.`);
    if (!(typeof p.overshoot === 'number' && p.overshoot >= 0 && Number.isFinite(p.overshoot))) throw new RangeError(`deepfool: overshoot must be a number >= 0; got ${String(p.overshoot)}.`);
    if (!(typeof p.push === 'number' && p.push >= 0 && Number.isFinite(p.push))) throw new RangeError(`deepfool: push must be a number >= 0 (the DeepFool authors' 1e-4 by default, 0 for none); got ${String(p.push)}.`);
    if (!Number.isInteger(p.candidates) || p.candidates < 2) throw new RangeError(`deepfool: candidates must be an integer >= 2 (the label and at least one other class); got ${String(p.candidates)}.`);
    return p;
  },
  budget: (p) => ({ norm: p.norm, eps: p.eps }),
  perturb: (ctx, p) => deepfoolChunk(ctx, p),
});

async function deepfoolChunk(ctx: AttackContext, p: DeepFoolParams): Promise<tf.Tensor4D> {
  const x0 = ctx.x;
  const n = x0.shape[0];
  const k = Math.min(p.candidates, ctx.numClasses);
  // Candidate classes per sample: the label, then the k - 1 highest-scoring other classes at x0.
  const order = await candidateClasses(ctx, k);
  let total = tf.zerosLike(x0) as tf.Tensor4D;
  let x = tf.clone(x0);
  // At x0 the framework's clean predictions say which samples are still their label; after that,
  // only the samples the last step moved can have changed (the others' total, and so their x,
  // stays as it was), so only those are evaluated again.
  let active: number[] = [];
  for (let i = 0; i < n; i++) if (ctx.predsBefore[i] === ctx.labelsHost[i]) active.push(i);
  try {
    for (let iter = 0; iter < p.maxIter; iter++) {
      if (iter > 0) active = await stillLabel(ctx, x, active);
      if (active.length === 0) break;
      const step = await bestStep(ctx, x, active, order, k, p.norm, p.push);
      const nextTotal = tf.tidy(() => tf.add(total, tf.scatterND(tf.tensor2d(active, [active.length, 1], 'int32'), step, x0.shape)) as tf.Tensor4D);
      step.dispose();
      total.dispose();
      total = nextTotal;
      const next = tf.tidy(() => tf.clipByValue(tf.add(x0, tf.mul(total, 1 + p.overshoot)), 0, 1) as tf.Tensor4D);
      x.dispose();
      x = next;
      await yieldToEventLoop();
    }
    return x;
  } catch (err) {
    x.dispose();
    throw err;
  } finally {
    total.dispose();
  }
}

/** Those of `active` whose prediction at `x` is still their label (one forward pass over them alone). */
async function stillLabel(ctx: AttackContext, x: tf.Tensor4D, active: number[]): Promise<number[]> {
  const preds = tf.tidy(() => ctx.logits(tf.gather(x, tf.tensor1d(active, 'int32')) as tf.Tensor4D).argMax(1));
  const host = await preds.data();
  preds.dispose();
  return active.filter((i, j) => host[j] === ctx.labelsHost[i]);
}

async function candidateClasses(ctx: AttackContext, k: number): Promise<Int32Array[]> {
  const logits = tf.tidy(() => ctx.logits(ctx.x));
  const scores = await logits.array();
  logits.dispose();
  return scores.map((row, i) => {
    const label = ctx.labelsHost[i]!;
    const others = row
      .map((s, c) => [s, c] as const)
      .filter(([, c]) => c !== label)
      .sort((a, b) => b[0] - a[0])
      .slice(0, k - 1)
      .map(([, c]) => c);
    return Int32Array.from([label, ...others]);
  });
}

/** For the active samples: the step `push` past the nearest linearised boundary among the candidates. */
async function bestStep(ctx: AttackContext, x: tf.Tensor4D, active: number[], order: Int32Array[], k: number, norm: NormName, push: number): Promise<tf.Tensor4D> {
  const idx = tf.tensor1d(active, 'int32');
  const xa = tf.gather(x, idx) as tf.Tensor4D;
  idx.dispose();
  const m = active.length;
  const label = tf.tensor1d(active.map((i) => order[i]![0]!), 'int32');
  let best: tf.Tensor4D | undefined;
  let bestDist: tf.Tensor1D | undefined;
  try {
    for (let j = 1; j < k; j++) {
      const cls = tf.tensor1d(active.map((i) => order[i]![j]!), 'int32');
      const [step, dist] = tf.tidy(() => {
        // f = logit[cls] - logit[label] < 0 while the label wins; the linearised boundary of this
        // pair lies |f| / ||grad f||_dual away, along grad f (L2) or sign(grad f) (Linf). The pair
        // is chosen by that distance; the step goes `push` further.
        const diffOf = (lg: tf.Tensor2D) => tf.sub(gatherRows(lg, cls), gatherRows(lg, label)) as tf.Tensor1D;
        let f: tf.Tensor1D | undefined;
        const { grad } = ctx.grad((v: tf.Tensor4D) => {
          const d = diffOf(ctx.logits(v));
          f = tf.keep(d);
          return tf.sum(d) as tf.Scalar;
        }, xa);
        const absF = tf.abs(f!);
        f!.dispose();
        let s: tf.Tensor4D;
        let dist: tf.Tensor1D;
        if (norm === 'l2') {
          const gNorm = tf.add(tf.sqrt(tf.sum(tf.square(grad), [1, 2, 3])), TINY);
          dist = tf.div(absF, gNorm) as tf.Tensor1D;
          s = tf.mul(grad, tf.div(tf.add(dist, push), gNorm).reshape([m, 1, 1, 1])) as tf.Tensor4D;
        } else {
          dist = tf.div(absF, tf.add(tf.sum(tf.abs(grad), [1, 2, 3]), TINY)) as tf.Tensor1D;
          s = tf.mul(tf.sign(grad), tf.add(dist, push).reshape([m, 1, 1, 1])) as tf.Tensor4D;
        }
        return [s, dist];
      });
      cls.dispose();
      if (!best || !bestDist) {
        best = step;
        bestDist = dist;
      } else {
        const [nb, nd] = tf.tidy(() => {
          const closer = tf.less(dist, bestDist!);
          return [tf.where(closer.reshape([m, 1, 1, 1]).tile([1, ...x.shape.slice(1)]), step, best!), tf.where(closer, dist, bestDist!)];
        });
        tf.dispose([best, bestDist, step, dist]);
        best = nb as tf.Tensor4D;
        bestDist = nd as tf.Tensor1D;
      }
    }
    return best!;
  } catch (err) {
    best?.dispose();
    throw err;
  } finally {
    bestDist?.dispose();
    tf.dispose([xa, label]);
  }
}

function gatherRows(m: tf.Tensor2D, cols: tf.Tensor1D): tf.Tensor1D {
  return tf.sum(tf.mul(m, tf.oneHot(cols, m.shape[1])), 1) as tf.Tensor1D;
}
