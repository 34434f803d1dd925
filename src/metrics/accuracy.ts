import * as tf from '@tensorflow/tfjs';

type Classes = ArrayLike<number> | tf.Tensor1D;

async function host(v: Classes, what: string): Promise<Int32Array> {
  if (v instanceof tf.Tensor) {
    if (v.rank !== 1) throw new Error(`${what} must be a rank-1 tensor [N]; got shape [${v.shape.join(', ')}].`);
    return Int32Array.from(await v.data());
  }
  return Int32Array.from(Array.from(v));
}

function same(n1: number, n2: number, what: string): void {
  if (n1 !== n2) throw new Error(`${what}: ${n1} predictions but ${n2} labels; they must match one to one.`);
  if (n1 === 0) throw new Error(`${what}: no samples.`);
}

/**
 * Fraction of predictions equal to the labels.
 * @example `accuracy(result.predsBefore, labels)` is clean accuracy
 */
export async function accuracy(predictions: Classes, labels: Classes): Promise<number> {
  const [p, y] = await Promise.all([host(predictions, 'predictions'), host(labels, 'labels')]);
  same(p.length, y.length, 'accuracy');
  let hit = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === y[i]) hit++;
  return hit / p.length;
}

/** The parts of an attack result the metrics read. */
export interface AttackOutcome {
  predsBefore: Int32Array;
  predsAfter: Int32Array;
  success: readonly boolean[];
}

/**
 * Robust accuracy: fraction of samples still classified as their label after the attack.
 * @example `await robustAccuracy(await pgd.run(model, x, y), y)`
 */
export async function robustAccuracy(result: AttackOutcome, labels: Classes): Promise<number> {
  return accuracy(result.predsAfter, labels);
}

/** Options of {@link attackSuccessRate}. */
export interface SuccessRateOptions {
  /**
   * 'correct': among samples the model classified correctly before the attack (the usual
   * definition; needs `labels`); 'all': among all samples. @defaultValue 'correct' when labels are given, else 'all'
   */
  among?: 'correct' | 'all';
  labels?: Classes;
}

/**
 * Fraction of attacked samples on which the attack succeeded (see AttackResult.success). Returns
 * NaN when no sample qualifies (e.g. nothing was classified correctly).
 */
export async function attackSuccessRate(result: AttackOutcome, options: SuccessRateOptions = {}): Promise<number> {
  const among = options.among ?? (options.labels ? 'correct' : 'all');
  if (among === 'all') {
    if (result.success.length === 0) throw new Error('attackSuccessRate: no samples.');
    return result.success.filter(Boolean).length / result.success.length;
  }
  if (!options.labels) throw new Error("attackSuccessRate: among 'correct' needs the labels ({ labels }).");
  const y = await host(options.labels, 'labels');
  same(result.predsBefore.length, y.length, 'attackSuccessRate');
  let n = 0;
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    if (result.predsBefore[i] !== y[i]) continue;
    n++;
    if (result.success[i]) s++;
  }
  return n === 0 ? NaN : s / n;
}
