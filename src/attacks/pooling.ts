// The seam between the attack framework and the worker threads (src/workers/pool.ts, a floor
// above): the pool registers itself here when loaded, and defineAttack asks it first.
import type * as tf from '@tensorflow/tfjs';
import type { Classifier } from '../models/classifier.js';
import type { Attack, CommonParams, QueryCounts } from './types.js';

/** What a worker returns for one piece of a chunk (and what defineAttack's piece runner makes). */
export interface PieceResult {
  adversarial: Float32Array;
  predsBefore: Int32Array;
  predsAfter: Int32Array;
  linf: Float32Array;
  l2: Float32Array;
  queries: QueryCounts;
}

export interface PooledAttackInput {
  model: Classifier;
  x: tf.Tensor4D;
  labelsHost: Int32Array;
  targets: Int32Array | undefined;
  params: CommonParams;
  output: 'logits' | 'probabilities';
}

/** The whole batch's result, as defineAttack assembles it from its chunks. */
export interface PooledAttackResult extends Omit<PieceResult, 'adversarial'> {
  adversarial: tf.Tensor4D;
}

/** Runs an attack on worker threads, or returns undefined for the calling thread to run it. */
export type AttackPool = (attack: Attack<any>, input: PooledAttackInput) => Promise<PooledAttackResult | undefined>;

let pool: AttackPool | undefined;

/** Registers the worker threads (src/workers/pool.ts does, when loaded). */
export function setAttackPool(p: AttackPool | undefined): void {
  pool = p;
}

/** The pool's result for this call, or undefined when there is no pool or it declines. */
export function runPooledAttack(attack: Attack<any>, input: PooledAttackInput): Promise<PooledAttackResult | undefined> {
  return pool ? pool(attack, input) : Promise.resolve(undefined);
}
