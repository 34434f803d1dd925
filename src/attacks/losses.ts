import * as tf from '@tensorflow/tfjs';

// Per-sample losses an attack maximises. Each returns [n] values; sum them for a gradient, so
// that each sample's gradient does not depend on the others in the batch.

/** A large offset that masks a class out of a max without producing infinities. */
const MASK = 1e9;
/** Keeps the DLR denominator away from zero when the top logits tie. */
const DLR_TINY = 1e-12;

function pick(logits: tf.Tensor2D, classes: tf.Tensor1D): tf.Tensor1D {
  return tf.sum(tf.mul(logits, tf.oneHot(classes, logits.shape[1])), 1) as tf.Tensor1D;
}

/** Cross-entropy of each row of `logits` against `classes`: -log softmax(z)_c. */
export function crossEntropyPerSample(logits: tf.Tensor2D, classes: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.neg(pick(tf.logSoftmax(logits) as tf.Tensor2D, classes)) as tf.Tensor1D);
}

/**
 * The k largest entries of each row, largest first, as differentiable values: repeated max with
 * the winner masked out (tf.topk has no gradient in tfjs; argMax and oneHot have zero ones).
 */
export function sortedTop(logits: tf.Tensor2D, k: number): tf.Tensor1D[] {
  return tf.tidy(() => {
    const out: tf.Tensor1D[] = [];
    let z = logits;
    for (let j = 0; j < k; j++) {
      out.push(tf.max(z, 1) as tf.Tensor1D);
      if (j < k - 1) z = tf.sub(z, tf.mul(tf.oneHot(tf.argMax(z, 1), z.shape[1]), MASK)) as tf.Tensor2D;
    }
    return out;
  });
}

/** max over classes other than `classes` of each row. */
export function maxOther(logits: tf.Tensor2D, classes: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.max(tf.sub(logits, tf.mul(tf.oneHot(classes, logits.shape[1]), MASK)), 1) as tf.Tensor1D);
}

/**
 * Difference of Logits Ratio (Croce and Hein 2020, eq. 5), to maximise:
 * -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3), with pi the classes sorted by logit. It is
 * invariant to shifting and scaling the logits, so log-probabilities give the same value and a
 * saturated softmax does not flatten it. Needs at least 3 classes.
 */
export function dlrLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  if (logits.shape[1] < 3) throw new Error(`the DLR loss needs at least 3 classes (it divides by z_pi1 - z_pi3); the model has ${logits.shape[1]}. Use loss 'ce'.`);
  return tf.tidy(() => {
    const [z1, , z3] = sortedTop(logits, 3);
    const margin = tf.sub(pick(logits, labels), maxOther(logits, labels));
    return tf.neg(tf.div(margin, tf.add(tf.sub(z1!, z3!), DLR_TINY))) as tf.Tensor1D;
  });
}

/**
 * Targeted DLR (Croce and Hein 2020, eq. 6), to maximise:
 * -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2). Needs at least 4 classes.
 */
export function targetedDlrLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, targets: tf.Tensor1D): tf.Tensor1D {
  if (logits.shape[1] < 4) throw new Error(`the targeted DLR loss needs at least 4 classes (it uses z_pi3 and z_pi4); the model has ${logits.shape[1]}. Use 'apgd' with loss 'ce'.`);
  return tf.tidy(() => {
    const [z1, , z3, z4] = sortedTop(logits, 4);
    const margin = tf.sub(pick(logits, labels), pick(logits, targets));
    const scale = tf.sub(z1!, tf.div(tf.add(z3!, z4!), 2));
    return tf.neg(tf.div(margin, tf.add(scale, DLR_TINY))) as tf.Tensor1D;
  });
}

/**
 * Margin of the class to keep over the best other one (untargeted, `z_y - max_{i != y} z_i`), or
 * of the best other class over the target (targeted, `max_{i != t} z_i - z_t`): negative exactly
 * when the attack has succeeded. Square minimises it.
 */
export function marginLoss(logits: tf.Tensor2D, classes: tf.Tensor1D, targeted: boolean): tf.Tensor1D {
  return tf.tidy(() => {
    const own = pick(logits, classes);
    const other = maxOther(logits, classes);
    return (targeted ? tf.sub(other, own) : tf.sub(own, other)) as tf.Tensor1D;
  });
}
