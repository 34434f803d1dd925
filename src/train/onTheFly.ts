import * as tf from '@tensorflow/tfjs';
import type { ImageDataset } from '../data/dataset.js';
import { mulberry32 } from '../util/random.js';
import { train, type TrainOptions, type TrainResult } from './train.js';

/**
 * On-the-fly adversarial training methods: every training batch is attacked from the model as it
 * is at that step, and the step is taken on the attacked batch.
 * - `fgsm-rs`: FGSM from a uniform random start in the eps-ball (Wong, Rice & Kolter 2020, "Fast is
 *   better than free"; their CIFAR-10 values are eps 8/255 and a step of 10/255, i.e. 1.25 eps).
 * - `pgd`: `steps` signed-gradient steps from a random start, each projected back onto the
 *   eps-ball and [0, 1] (Madry et al. 2018; on CIFAR-10 they use 7 steps of 2/255 at eps 8/255).
 */
export type OnTheFlyMethod = 'fgsm-rs' | 'pgd';

export const ON_THE_FLY_METHODS: readonly OnTheFlyMethod[] = ['fgsm-rs', 'pgd'];

export interface OnTheFlyAttack {
  method: OnTheFlyMethod;
  /** Linf budget on [0, 1] pixels. */
  eps: number;
  /** Step length. @defaultValue 1.25 eps (fgsm-rs), eps / 4 (pgd) */
  stepSize?: number;
  /** Gradient steps; fgsm-rs takes exactly 1. @defaultValue 1 (fgsm-rs), 7 (pgd) */
  steps?: number;
  /** Share of each batch's images trained on clean (the first ones of the shuffled batch). @defaultValue 0 */
  cleanFraction?: number;
}

/** An {@link OnTheFlyAttack} with every default filled in and checked. */
export type ResolvedOnTheFlyAttack = Required<OnTheFlyAttack>;

/** Fills in the defaults and refuses settings that would make no adversarial example. */
export function resolveOnTheFlyAttack(a: OnTheFlyAttack): ResolvedOnTheFlyAttack {
  if (!ON_THE_FLY_METHODS.includes(a.method)) throw new RangeError(`Unknown on-the-fly adversarial training method '${String(a.method)}'; use one of ${ON_THE_FLY_METHODS.join(', ')}.`);
  if (!(typeof a.eps === 'number' && a.eps > 0 && a.eps <= 1)) throw new RangeError(`eps must be a Linf budget in (0, 1] on [0, 1] pixels (e.g. 8/255), got ${String(a.eps)}.`);
  const steps = a.steps ?? (a.method === 'pgd' ? 7 : 1);
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${String(steps)}.`);
  if (a.method === 'fgsm-rs' && steps !== 1) throw new RangeError(`fgsm-rs takes one step, got steps ${steps}; use method 'pgd' for more.`);
  const stepSize = a.stepSize ?? (a.method === 'pgd' ? a.eps / 4 : 1.25 * a.eps);
  if (!(typeof stepSize === 'number' && stepSize > 0 && Number.isFinite(stepSize))) throw new RangeError(`stepSize must be a positive number, got ${String(stepSize)}.`);
  const cleanFraction = a.cleanFraction ?? 0;
  if (!(typeof cleanFraction === 'number' && cleanFraction >= 0 && cleanFraction < 1)) {
    throw new RangeError(`cleanFraction must be in [0, 1) (a share of each batch trained on clean images; 1 would be no adversarial training), got ${String(cleanFraction)}.`);
  }
  return { method: a.method, eps: a.eps, stepSize, steps, cleanFraction };
}

/** The 32-bit seed of one batch's random start: a function of the run's seed, the epoch and the batch only, so a resumed run draws the same. */
export function batchSeed(seed: number, epoch: number, batch: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (epoch + 0x632be5ab), 0xc2b2ae35) >>> 0;
  h = Math.imul(h ^ (batch + 0x27d4eb2f), 0x165667b1) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

/** `size` values uniform in [-eps, eps), drawn from mulberry32(seed). */
export function uniformStart(size: number, eps: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (2 * rand() - 1) * eps;
  return out;
}

/**
 * The adversarial version of a batch for training: a uniform random start in the Linf eps-ball
 * (seeded), clipped to [0, 1], then `steps` steps of `stepSize` along the sign of the gradient of
 * the summed softmax cross-entropy (logits), each projected onto the eps-ball around `xs` and onto
 * [0, 1]. The model runs in inference mode while attacked (batch-norm statistics are neither used
 * from the batch nor updated). With `cleanFraction`, the first round(fraction x n) images come back
 * unchanged. Returns a new tensor; leaves no others behind.
 */
export function adversarialBatch(model: tf.LayersModel, xs: tf.Tensor4D, ys: tf.Tensor1D, attack: ResolvedOnTheFlyAttack, seed: number): tf.Tensor4D {
  const n = xs.shape[0];
  const keep = Math.round(attack.cleanFraction * n);
  return tf.tidy(() => {
    if (keep >= n) return xs.clone();
    const x = keep > 0 ? xs.slice([keep, 0, 0, 0], [n - keep, -1, -1, -1]) : xs;
    const y = keep > 0 ? ys.slice([keep], [n - keep]) : ys;
    const numClasses = (model.outputs[0]!.shape[1] as number) ?? 10;
    const onehot = tf.oneHot(y, numClasses);
    const lower = x.sub(attack.eps).maximum(0);
    const upper = x.add(attack.eps).minimum(1);
    const lossOf = (input: tf.Tensor) => tf.losses.softmaxCrossEntropy(onehot, model.apply(input, { training: false }) as tf.Tensor2D, undefined, undefined, tf.Reduction.SUM) as tf.Scalar;
    const grad = tf.grad(lossOf);
    let adv = x.add(tf.tensor(uniformStart(x.size, attack.eps, seed), x.shape)).clipByValue(0, 1) as tf.Tensor4D;
    for (let s = 0; s < attack.steps; s++) {
      const g = grad(adv);
      adv = adv.add(g.sign().mul(attack.stepSize)).minimum(upper).maximum(lower) as tf.Tensor4D;
    }
    return keep > 0 ? tf.concat([xs.slice([0, 0, 0, 0], [keep, -1, -1, -1]), adv]) : adv;
  });
}

export interface OnTheFlyTrainingOptions extends TrainOptions {
  attack: OnTheFlyAttack;
}

/**
 * Adversarial training with attacks made on the fly ({@link OnTheFlyMethod}): {@link train}, with
 * each batch (after augmentation) replaced by {@link adversarialBatch} from the model as it is,
 * its random start seeded by the run's seed, the epoch and the batch, so that a resumed run equals
 * an uninterrupted one. Checkpoints, resume and the card are {@link train}'s; the card's
 * `training.adversarial` records the attack.
 *
 * @example
 * const model = await loadModel('fixtures/models/resnet20-base');
 * await onTheFlyAdversarialTraining(model, trainSet, { attack: { method: 'fgsm-rs', eps: 8 / 255 }, epochs: 5, out: 'models/r20-at' });
 */
export async function onTheFlyAdversarialTraining(model: tf.LayersModel, data: ImageDataset, options: OnTheFlyTrainingOptions): Promise<TrainResult> {
  const attack = resolveOnTheFlyAttack(options.attack);
  const seed = options.seed ?? 0;
  const card = options.card && {
    ...options.card,
    training: { ...options.card.training, adversarial: { ...(options.card.training?.adversarial ?? {}), ...attack, randomStart: 'uniform in the eps-ball', attackMode: 'inference', seed } },
  };
  return train(model, data, {
    ...options,
    card,
    perturbBatch: (xs, ys, at) => adversarialBatch(model, xs, ys, attack, batchSeed(seed, at.epoch, at.batch)),
  });
}
