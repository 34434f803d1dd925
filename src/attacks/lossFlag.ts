import type * as tf from '@tensorflow/tfjs';
import { resolveClassifier, type Classifier, type OutputKind } from '../models/classifier.js';
import { type EvaluationFlag, LOSS_MAXIMISING, lossFlag } from './flags.js';
import { attacks } from './registry.js';
import type { Attack } from './types.js';

/**
 * The "attack loss did not increase" flag ({@link lossFlag}) for a built-in loss-maximising attack
 * ({@link LOSS_MAXIMISING}) run untargeted; undefined for other attacks (DeepFool, C&W, a custom
 * attack), for a targeted run (its loss is about the target class), and when the flag does not
 * fire. Two forward passes over the batch.
 */
export async function attackLossFlag(
  model: Classifier,
  attack: Attack<any>,
  params: Record<string, unknown>,
  x: tf.Tensor4D,
  adversarial: tf.Tensor4D,
  y: tf.Tensor1D,
  labels: ArrayLike<number>,
  predsBefore: ArrayLike<number>,
  predsAfter: ArrayLike<number>,
): Promise<EvaluationFlag | undefined> {
  if (!LOSS_MAXIMISING.includes(attack.name) || (attacks as Record<string, Attack<any>>)[attack.name] !== attack) return undefined;
  if (params.target !== undefined && params.target !== null) return undefined;
  const output = (params.output ?? 'auto') as OutputKind;
  const clf = await resolveClassifier(model, { output }, x);
  const n = labels.length;
  const before = Array.from({ length: n }, (_, i) => predsBefore[i] === labels[i]);
  const after = Array.from({ length: n }, (_, i) => predsAfter[i] === labels[i]);
  const batchSize = typeof params.batchSize === 'number' ? params.batchSize : 100;
  return lossFlag(clf, x, adversarial, y, before, after, batchSize);
}
