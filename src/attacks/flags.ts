import * as tf from '@tensorflow/tfjs';
import type { ResolvedClassifier } from '../models/classifier.js';
import { crossEntropySum } from './gradientLoop.js';
import type { QueryCounts } from './types.js';

/**
 * A reason to distrust a robust-accuracy figure (after AutoAttack's checks, Croce and Hein 2020):
 * gradient-based attacks fail on a model that hides its gradient, so a high number may only mean
 * the attacks could not see the model.
 */
export interface EvaluationFlag {
  name: 'randomized' | 'degenerate-gradient' | 'saturated-softmax' | 'black-box-beats-white-box' | 'loss-not-increased' | 'accuracy-not-falling-with-eps';
  /** What was seen, and what to do about it. */
  message: string;
}

/** Largest |difference| between two forward passes on the same images that still counts as deterministic. */
const SAME = 0;

/**
 * Checks the model on (up to `limit` of) the images: two forward passes give the same logits; the
 * cross-entropy's input gradient is finite and not all zero for every image; a probability output
 * whose softmax could not be peeled off is not saturated (a top probability of exactly 1 in
 * float32, where the log-probability loss and its gradient vanish). Counts its model calls into
 * `queries`.
 */
export async function modelFlags(clf: ResolvedClassifier, x: tf.Tensor4D, y: tf.Tensor1D, queries: QueryCounts, limit = 100): Promise<EvaluationFlag[]> {
  const m = Math.min(limit, x.shape[0]);
  const xs = x.slice([0, 0, 0, 0], [m, -1, -1, -1]);
  const ys = y.slice([0], [m]);
  const flags: EvaluationFlag[] = [];
  try {
    const [diff, zeroOrBad, top] = tf.tidy(() => {
      const a = clf.logits(xs);
      const b = clf.logits(xs);
      const g = tf.grad((v: tf.Tensor) => crossEntropySum(clf.logits(v as tf.Tensor4D), ys, clf.numClasses))(xs);
      // g - g is 0 exactly where g is finite (inf - inf and NaN - NaN are NaN).
      const finite = tf.all(tf.equal(tf.sub(g, g), 0), [1, 2, 3]);
      const nonzero = tf.any(tf.notEqual(g, 0), [1, 2, 3]);
      const bad = tf.logicalNot(tf.logicalAnd(finite, nonzero)).cast('int32');
      const probs = clf.output === 'probabilities' && !clf.trueLogits ? tf.max(clf.probabilities(xs), 1) : tf.zeros([m]);
      return [tf.max(tf.abs(tf.sub(a, b))), bad, probs];
    });
    queries.forward += 2 * m + (clf.output === 'probabilities' && !clf.trueLogits ? m : 0);
    queries.gradient += m;
    const [d, bad, p] = await Promise.all([diff!.data(), zeroOrBad!.data(), top!.data()]);
    tf.dispose([diff!, zeroOrBad!, top!]);
    if (!(d[0]! <= SAME)) {
      flags.push({ name: 'randomized', message: `two forward passes on the same ${m} images differ (largest logit difference ${Number(d[0]!.toPrecision(3))}): the model is randomized, and single-sample attacks understate what an attacker averaging over its randomness (EOT) achieves. Make predict deterministic for the evaluation, or attack the expectation.` });
    }
    const badCount = (bad as Int32Array).reduce((s, v) => s + v, 0);
    if (badCount > 0) {
      flags.push({ name: 'degenerate-gradient', message: `the input gradient of the cross-entropy is zero, NaN or infinite for ${badCount} of ${m} images (${((100 * badCount) / m).toFixed(1)}%): gradient attacks cannot move them, so their robustness is not measured. Return logits (not rounded or thresholded outputs) and check for non-differentiable layers.` });
    }
    const saturated = Array.from(p).filter((v) => v >= 1).length;
    if (saturated > 0) {
      flags.push({ name: 'saturated-softmax', message: `the model outputs probabilities and ${saturated} of ${m} images have a top probability of exactly 1 in float32, where the log-probability loss and its gradient vanish. Give the attacks the logits (a model whose last layer is a Dense softmax is peeled automatically), or declare output: 'logits' on a logits model.` });
    }
    return flags;
  } finally {
    tf.dispose([xs, ys]);
  }
}

/**
 * Built-in attacks that maximise a loss inside their budget, untargeted in their goal: for these
 * the loss at the returned point should be above the clean loss on every sample they did not
 * break. DeepFool and C&W look for the smallest change and hand back the clean image where they
 * fail, so the check says nothing about them; nor about a custom attack, whose aim is unknown.
 * 'autoattack' hands back the clean image for the samples no attack broke, so it checks its
 * APGD-CE stage itself (its result's `flags`).
 */
export const LOSS_MAXIMISING = Object.freeze(['fgsm', 'pgd', 'apgd', 'apgd-t', 'square']);

/**
 * Share of the unbroken samples whose loss did not rise from which {@link lossFlag} fires. A
 * working attack raises the loss of every sample it does not break (its first gradient step alone
 * does, to first order); a perturbation that does not see the model (a blind or misled gradient)
 * raises it on about half of them, and a reversed gradient on none. A quarter lies between the two.
 */
export const LOSS_NOT_INCREASED_SHARE = 0.25;

/**
 * The margin loss max_{j != y} z_j - z_y of each sample on `logits` (the loss every untargeted
 * attack drives up: it is positive exactly when the sample is misclassified), computed in chunks.
 */
export async function marginLoss(logits: (x: tf.Tensor4D) => tf.Tensor2D, x: tf.Tensor4D, labels: tf.Tensor1D, numClasses: number, batchSize = 100): Promise<Float32Array> {
  const n = x.shape[0];
  const out = new Float32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const t = tf.tidy(() => {
      const z = logits(x.slice([start, 0, 0, 0], [size, -1, -1, -1]));
      const onehot = tf.oneHot(labels.slice([start], [size]), numClasses);
      const own = tf.sum(tf.mul(z, onehot), 1);
      // The other classes' best logit: the true class pushed far below every other.
      const others = tf.max(tf.sub(z, tf.mul(onehot, 1e30)), 1);
      return tf.sub(others, own);
    });
    out.set(await t.data(), start);
    t.dispose();
  }
  return out;
}

/**
 * "The attack loss did not increase": among the samples classified correctly before and after
 * the attack, those whose margin loss ({@link marginLoss}) at the adversarial point is not above
 * its value at the clean image. Fires when they are at least {@link LOSS_NOT_INCREASED_SHARE} of
 * the unbroken samples: the attack did not make progress where it failed, so the gradients (or
 * the model's outputs) it follows do not lead anywhere, and the robust accuracy may be far too
 * high. Returns undefined when no sample is left unbroken (nothing to judge) or the share is lower.
 */
export async function lossFlag(clf: ResolvedClassifier, clean: tf.Tensor4D, adversarial: tf.Tensor4D, labels: tf.Tensor1D, correctBefore: ArrayLike<boolean>, correctAfter: ArrayLike<boolean>, batchSize = 100): Promise<EvaluationFlag | undefined> {
  const before = await marginLoss(clf.logits, clean, labels, clf.numClasses, batchSize);
  const after = await marginLoss(clf.logits, adversarial, labels, clf.numClasses, batchSize);
  let unbroken = 0;
  let flat = 0;
  for (let i = 0; i < before.length; i++) {
    if (!correctBefore[i] || !correctAfter[i]) continue;
    unbroken++;
    // NaN on either side counts as no progress.
    if (!(after[i]! > before[i]!)) flat++;
  }
  if (unbroken === 0 || flat === 0 || flat < LOSS_NOT_INCREASED_SHARE * unbroken) return undefined;
  return {
    name: 'loss-not-increased',
    message: `the attack loss did not increase: for ${flat} of the ${unbroken} samples the attack left correct (${((100 * flat) / unbroken).toFixed(1)}%, flagged from ${100 * LOSS_NOT_INCREASED_SHARE}%), the margin loss (best other logit minus the true one) at the adversarial point is not above its value on the clean image. The attack made no progress where it failed, so its gradients lead nowhere (gradient masking, a non-differentiable or misleading model) and the robust accuracy may be far too high. Try a black-box attack ('square'), 'autoattack', or return the model's logits.`,
  };
}

/**
 * "Robust accuracy does not fall as eps grows", for results at several budgets on the same
 * samples: a pair of budgets where the larger one's robust accuracy is above the smaller one's
 * beyond their intervals (the larger budget's lower bound above the smaller budget's upper bound).
 * Every perturbation inside the smaller ball lies inside the larger, so a reliable attack's robust
 * accuracy cannot rise; the per-sample form of the same fault is a curve's inversions.
 */
export function monotoneFlag(points: readonly { eps: number; robustAccuracy: number; lower: number; upper: number }[]): EvaluationFlag | undefined {
  const sorted = [...points].sort((a, b) => a.eps - b.eps);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      const [s, l] = [sorted[i]!, sorted[j]!];
      if (l.lower > s.upper) {
        const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
        return {
          name: 'accuracy-not-falling-with-eps',
          message: `robust accuracy does not fall as eps grows: ${pct(l.robustAccuracy)} [${pct(l.lower)}, ${pct(l.upper)}] at eps ${Number(l.eps.toPrecision(4))} is above ${pct(s.robustAccuracy)} [${pct(s.lower)}, ${pct(s.upper)}] at the smaller eps ${Number(s.eps.toPrecision(4))}, beyond both intervals. Every perturbation of the smaller budget is inside the larger one, so the attack at the larger budget misses adversarial examples it should find (a step size or schedule tied to eps that overshoots, or gradient masking). Use a stronger attack or more restarts.`,
        };
      }
    }
  }
  return undefined;
}
