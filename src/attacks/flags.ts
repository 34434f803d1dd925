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
  name: 'randomized' | 'degenerate-gradient' | 'saturated-softmax' | 'black-box-beats-white-box';
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
