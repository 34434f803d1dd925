import type * as tf from '@tensorflow/tfjs';
import type { Classifier, OutputKind, ResolvedClassifier } from '../models/classifier.js';

/** The norms an attack budget can be stated in. */
export type NormName = 'linf' | 'l2';

/** Parameters every attack takes, beside its own. */
export interface CommonParams {
  /**
   * Target classes: one class for every sample, or one per sample. When set the attack is
   * targeted and succeeds on a sample when its prediction equals the target.
   * @defaultValue undefined (untargeted: succeed when the prediction changes)
   */
  target?: number | ArrayLike<number>;
  /** Seed for every random choice (random starts). Chunk i of a batch uses `seed + i`. @defaultValue 0 */
  seed: number;
  /** Images per model call; larger inputs are attacked in chunks of this size. @defaultValue 100 */
  batchSize: number;
  /** Whether the model outputs logits or probabilities. @defaultValue 'auto' */
  output: OutputKind;
}

/** Model calls an attack made, counted in images (a call on a batch of n counts n). */
export interface QueryCounts {
  /** Images passed forward without a gradient. */
  forward: number;
  /** Images passed forward and back (one input or parameter gradient each). */
  gradient: number;
}

/** What an attack returns. The caller owns (and disposes) `adversarial`. */
export interface AttackResult<P extends CommonParams = CommonParams> {
  /** The attack's name, as the registry knows it. */
  name: string;
  /** The adversarial batch [N, H, W, C], in [0, 1], within the budget. Caller disposes. */
  adversarial: tf.Tensor4D;
  /** Predicted classes on the clean batch. */
  predsBefore: Int32Array;
  /** Predicted classes on the adversarial batch. */
  predsAfter: Int32Array;
  /** Per sample: prediction changed (untargeted) or equals the target (targeted). */
  success: boolean[];
  /** Per-sample Linf norm of the perturbation. */
  linf: Float32Array;
  /** Per-sample L2 norm of the perturbation. */
  l2: Float32Array;
  /** Model calls made, in images. */
  queries: QueryCounts;
  /** The parameter values actually used (defaults filled in, derived values computed). */
  params: Readonly<P>;
  /** Per-sample target classes when the attack was targeted. */
  target?: Int32Array;
}

/**
 * An attack: a name, its documented defaults, and `run`. Build one with `defineAttack`; the
 * built-in ones are in `attacks`.
 */
export interface Attack<P extends CommonParams = CommonParams> {
  readonly name: string;
  /** Every parameter with its default (`undefined` where the default is derived from others). */
  readonly defaults: Readonly<P>;
  /**
   * Attacks a batch. Never disposes `x` or `y`.
   * @param model - a LayersModel or `{ predict }` returning logits or probabilities
   * @param x - images [N, H, W, C] in [0, 1]
   * @param y - int32 true labels [N]
   * @param params - overrides of {@link Attack.defaults}
   */
  run(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, params?: Partial<P>): Promise<AttackResult<P>>;
}

/**
 * What `defineAttack` hands an attack's `perturb` for one chunk of the batch. Use `logits` and
 * `grad` for every model call, so queries are counted.
 */
export interface AttackContext {
  /** The model, resolved to logits/probabilities. Calls made through it directly are not counted. */
  readonly classifier: ResolvedClassifier;
  /** The clean chunk [n, H, W, C]; owned by the framework, do not dispose. */
  readonly x: tf.Tensor4D;
  /** True labels [n] (int32); owned by the framework. */
  readonly labels: tf.Tensor1D;
  /** Target classes [n] (int32) when targeted, else undefined; owned by the framework. */
  readonly target: tf.Tensor1D | undefined;
  /** `target` when targeted, else `labels`: the class the loss is about. */
  readonly classes: tf.Tensor1D;
  readonly targeted: boolean;
  /** Labels, targets and clean predictions on the host. */
  readonly labelsHost: Int32Array;
  readonly targetHost: Int32Array | undefined;
  readonly predsBefore: Int32Array;
  /** The seed for this chunk. */
  readonly seed: number;
  readonly numClasses: number;
  /** [n, K] logits (or log-probabilities); counts a forward query (not when called inside `grad`). */
  logits(x: tf.Tensor4D): tf.Tensor2D;
  /**
   * Value and gradient of a scalar function at `at`; counts one gradient query per image
   * (`images`, default `at.shape[0]`). Call `logits` inside `f` for the model.
   */
  grad<T extends tf.Tensor>(f: (v: T) => tf.Scalar, at: T, images?: number): { value: tf.Scalar; grad: T };
}

/** How an attack is written for `defineAttack`. */
export interface AttackSpec<P extends CommonParams> {
  name: string;
  /** Every parameter with its default; keys not listed here are rejected as unknown. */
  defaults: P;
  /**
   * Fills derived defaults and checks values; throws an Error naming the fix on a bad value.
   * `x` is the whole batch, for shape-dependent checks.
   */
  resolve?(params: P, x: tf.Tensor4D): P;
  /** The budget the result must keep (projection after `perturb`); undefined for none. */
  budget?(params: P): { norm: NormName; eps: number } | undefined;
  /** True when the attack supports `target`. @defaultValue true */
  targeted?: boolean;
  /** Returns the adversarial chunk (a new tensor; the framework projects, clips and disposes it). */
  perturb(ctx: AttackContext, params: P): Promise<tf.Tensor4D>;
}
