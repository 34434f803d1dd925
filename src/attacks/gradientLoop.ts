import * as tf from '@tensorflow/tfjs';
import { yieldToEventLoop } from '../util/yield.js';
import { chunkRandomStart } from './chunkRows.js';
import type { Norm } from './norms.js';
import type { AttackContext } from './types.js';

/** Settings of one run of {@link gradientLoop}. */
export interface GradientLoopOptions {
  norm: Norm;
  eps: number;
  steps: number;
  stepSize: number;
  randomStart: boolean;
}

/**
 * Summed (not averaged) cross-entropy of `logits` against `classes`, so each sample's gradient
 * does not depend on the batch size.
 */
export function crossEntropySum(logits: tf.Tensor2D, classes: tf.Tensor1D, numClasses: number): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(classes, numClasses)))) as tf.Scalar);
}

/**
 * The one gradient loop behind FGSM and PGD in every norm (after Foolbox 3): optional random
 * start in the ball, then `steps` times: step of `stepSize` along the norm's steepest direction of
 * the cross-entropy (up for untargeted, down towards the target for targeted), projection onto
 * the eps-ball around the clean input, clip to [0, 1].
 *
 * @returns the adversarial chunk (a new tensor)
 */
export async function gradientLoop(ctx: AttackContext, o: GradientLoopOptions): Promise<tf.Tensor4D> {
  const x0 = ctx.x;
  const sign = ctx.targeted ? -1 : 1;
  let x: tf.Tensor4D = o.randomStart
    ? tf.tidy(() => tf.clipByValue(tf.add(x0, chunkRandomStart(ctx, o.norm, o.eps)), 0, 1) as tf.Tensor4D)
    : tf.clone(x0);
  try {
    for (let step = 0; step < o.steps; step++) {
      const next = tf.tidy(() => {
        const { grad } = ctx.grad((xa: tf.Tensor4D) => crossEntropySum(ctx.logits(xa), ctx.classes, ctx.numClasses), x);
        const moved = tf.add(x, tf.mul(o.norm.direction(grad), sign * o.stepSize)) as tf.Tensor4D;
        const delta = o.norm.project(tf.sub(moved, x0) as tf.Tensor4D, o.eps);
        return tf.clipByValue(tf.add(x0, delta), 0, 1) as tf.Tensor4D;
      });
      x.dispose();
      x = next;
      if (o.steps > 1) await yieldToEventLoop();
    }
    return x;
  } catch (err) {
    x.dispose();
    throw err;
  }
}
