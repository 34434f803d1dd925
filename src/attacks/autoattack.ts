import * as tf from '@tensorflow/tfjs';
import { resolveClassifier, type Classifier } from '../models/classifier.js';
import { apgd } from './apgd.js';
import { apgdTargeted } from './apgdTargeted.js';
import { checkBatch, checkClasses, readLabels } from '../data/inputs.js';
import { COMMON_DEFAULTS } from './defineAttack.js';
import { lossFlag, modelFlags, type EvaluationFlag } from './flags.js';
import { checkEps } from '../data/inputs.js';
import { getNorm } from './norms.js';
import { writeRows } from './rows.js';
import { square } from './square.js';
import type { Attack, AttackResult, CommonParams, NormName, QueryCounts } from './types.js';

/** Parameters of {@link autoattack}. */
export interface AutoAttackParams extends CommonParams {
  /** Budget in `norm`, shared by every attack of the ensemble. @defaultValue 8/255 */
  eps: number;
  /** @defaultValue 'linf' */
  norm: NormName;
  /** Which fixed budget: see {@link AUTOATTACK_VERSIONS}. @defaultValue 'standard' */
  version: 'standard' | 'cheap';
}

/** Defaults of {@link autoattack}. */
export const AUTOATTACK_DEFAULTS: AutoAttackParams = { ...COMMON_DEFAULTS, eps: 8 / 255, norm: 'linf', version: 'standard' };

/** One attack of the ensemble, under the label the result uses for it. */
export interface AutoAttackStage {
  label: 'apgd-ce' | 'apgd-t' | 'square';
  attack: Attack<any>;
  params: Record<string, unknown>;
}

/**
 * The fixed budgets, run in this order, each only on the samples every earlier attack left correct.
 * - `standard`: AutoAttack's standard version (Croce and Hein 2020) without FAB-T, which this
 *   package does not implement: APGD-CE (100 iterations, 1 run), APGD-T (100 iterations towards
 *   each of the 9 highest other classes), Square (5,000 queries, p_init 0.8).
 * - `cheap`: APGD-CE (100 iterations), APGD-T (50 iterations towards each of the 3 highest other
 *   classes), Square (1,000 queries): about a fifth of the standard work per robust sample, for
 *   quick runs on a CPU; a number from it is an upper bound on what `standard` would report.
 */
export const AUTOATTACK_VERSIONS: Readonly<Record<AutoAttackParams['version'], readonly AutoAttackStage[]>> = Object.freeze({
  standard: [
    { label: 'apgd-ce', attack: apgd, params: { loss: 'ce', steps: 100, restarts: 1 } },
    { label: 'apgd-t', attack: apgdTargeted, params: { steps: 100, restarts: 1, targetClasses: 9 } },
    { label: 'square', attack: square, params: { queries: 5000, pInit: 0.8 } },
  ],
  cheap: [
    { label: 'apgd-ce', attack: apgd, params: { loss: 'ce', steps: 100, restarts: 1 } },
    { label: 'apgd-t', attack: apgdTargeted, params: { steps: 50, restarts: 1, targetClasses: 3 } },
    { label: 'square', attack: square, params: { queries: 1000, pInit: 0.8 } },
  ],
});

/** What one attack of the ensemble did. */
export interface AutoAttackStageReport {
  label: AutoAttackStage['label'];
  /** Samples it was run on (those still correct). */
  attacked: number;
  /** Of those, how many it broke. */
  broken: number;
  queries: QueryCounts;
  params: Readonly<Record<string, unknown>>;
}

/** The ensemble's result: an {@link AttackResult} that says which attack broke each sample. */
export interface AutoAttackResult extends AttackResult<AutoAttackParams> {
  /**
   * Per sample: `'clean'` when misclassified before any attack, the label of the first attack
   * whose adversarial example is misclassified, or null when the sample resisted every attack.
   */
  brokenBy: (AutoAttackStage['label'] | 'clean' | null)[];
  /** Per attack, in the order run. */
  stages: AutoAttackStageReport[];
  /** Reasons to distrust the figure (randomized model, degenerate gradients, saturated softmax, APGD-CE's loss not increasing, black-box beating white-box); empty when none. */
  flags: EvaluationFlag[];
}

/** The ensemble as an {@link Attack} whose result also says which attack broke each sample. */
export interface AutoAttack extends Attack<AutoAttackParams> {
  run(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, params?: Partial<AutoAttackParams>): Promise<AutoAttackResult>;
}

function fillParams(overrides: Partial<AutoAttackParams> | undefined, x: tf.Tensor4D): AutoAttackParams {
  const known = new Set(Object.keys(AUTOATTACK_DEFAULTS));
  for (const key of Object.keys(overrides ?? {})) {
    if (!known.has(key)) throw new Error(`autoattack: unknown parameter '${key}'. Its parameters are: ${[...known].join(', ')}. The attacks' own budgets are fixed by 'version'.`);
  }
  const p = { ...AUTOATTACK_DEFAULTS } as AutoAttackParams;
  for (const [k, v] of Object.entries(overrides ?? {})) if (v !== undefined) (p as unknown as Record<string, unknown>)[k] = v;
  if (p.target !== undefined && p.target !== null) throw new Error(`autoattack is untargeted (robust accuracy is about any wrong class); leave out 'target', or use 'apgd' with a target.`);
  getNorm(p.norm);
  checkEps(p.eps, p.norm, x.shape[1] * x.shape[2] * x.shape[3], 'autoattack');
  if (!Object.hasOwn(AUTOATTACK_VERSIONS, p.version)) throw new Error(`autoattack: version must be 'standard' or 'cheap'; got ${JSON.stringify(p.version)}.`);
  if (!Number.isInteger(p.seed)) throw new TypeError(`autoattack: seed must be an integer; got ${String(p.seed)}.`);
  if (!Number.isInteger(p.batchSize) || p.batchSize < 1) throw new RangeError(`autoattack: batchSize must be a positive integer; got ${String(p.batchSize)}.`);
  return p;
}

async function predict(logits: (x: tf.Tensor4D) => tf.Tensor2D, x: tf.Tensor4D, batchSize: number): Promise<Int32Array> {
  const n = x.shape[0];
  const out = new Int32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const t = tf.tidy(() => tf.argMax(logits(x.slice([start, 0, 0, 0], [size, -1, -1, -1])), 1));
    out.set(await t.data(), start);
    t.dispose();
  }
  return out;
}

async function run(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, overrides?: Partial<AutoAttackParams>): Promise<AutoAttackResult> {
  const params = fillParams(overrides, x);
  await checkBatch('autoattack', x, y);
  const clf = await resolveClassifier(model, { output: params.output }, x);
  if (clf.numClasses < 4) throw new Error(`autoattack: APGD-T's targeted DLR loss needs at least 4 classes; the model has ${clf.numClasses}. Run 'apgd' and 'square' on their own.`);
  const labels = await readLabels(y);
  checkClasses('autoattack', 'label', labels, clf.numClasses);
  const n = labels.length;
  const queries: QueryCounts = { forward: n, gradient: 0 };
  const predsBefore = await predict(clf.logits, x, params.batchSize);
  const flags = await modelFlags(clf, x, y, queries, params.batchSize);
  const brokenBy: AutoAttackResult['brokenBy'] = Array.from(predsBefore, (p, i) => (p === labels[i] ? null : 'clean'));
  const stages: AutoAttackStageReport[] = [];
  let adversarial = tf.clone(x);
  try {
    for (const stage of AUTOATTACK_VERSIONS[params.version]) {
      const rows: number[] = [];
      for (let i = 0; i < n; i++) if (brokenBy[i] === null) rows.push(i);
      if (rows.length === 0) break;
      const idx = tf.tensor1d(Int32Array.from(rows), 'int32');
      const xs = tf.gather(x, idx) as tf.Tensor4D;
      const ys = tf.gather(y, idx) as tf.Tensor1D;
      idx.dispose();
      let r: AttackResult;
      try {
        r = await stage.attack.run(model, xs, ys, { ...stage.params, eps: params.eps, norm: params.norm, seed: params.seed, batchSize: params.batchSize, output: clf.output });
        if (stage.label === 'apgd-ce') {
          // APGD-CE hands back its highest-loss point for the samples it did not break: did the loss rise there?
          const after = rows.map((row, k) => r.predsAfter[k] === labels[row]);
          const stalled = await lossFlag(clf, xs, r.adversarial, ys, rows.map(() => true), after, params.batchSize);
          queries.forward += 2 * rows.length;
          if (stalled) flags.push({ name: stalled.name, message: `APGD-CE: ${stalled.message}` });
        }
      } finally {
        tf.dispose([xs, ys]);
      }
      const hit: number[] = [];
      const local: number[] = [];
      rows.forEach((row, k) => {
        if (r.predsAfter[k] !== labels[row]) {
          hit.push(row);
          local.push(k);
        }
      });
      if (hit.length) {
        const vals = tf.tidy(() => tf.gather(r.adversarial, tf.tensor1d(Int32Array.from(local), 'int32')) as tf.Tensor4D);
        const next = writeRows(adversarial, hit, vals);
        tf.dispose([vals, adversarial]);
        adversarial = next;
        for (const row of hit) brokenBy[row] = stage.label;
      }
      r.adversarial.dispose();
      queries.forward += r.queries.forward;
      queries.gradient += r.queries.gradient;
      stages.push({ label: stage.label, attacked: rows.length, broken: hit.length, queries: r.queries, params: r.params });
    }
    const blackBox = stages.find((s) => s.label === 'square');
    if (blackBox && blackBox.broken > 0) {
      flags.push({
        name: 'black-box-beats-white-box',
        message: `Square, which uses no gradients, broke ${blackBox.broken} of the ${blackBox.attacked} samples that APGD-CE and APGD-T left correct: the gradients mislead the white-box attacks (gradient masking), so this robust accuracy may still be too high. Try the 'standard' version, more Square queries, or an adaptive attack.`,
      });
    }
    // The verdict is the model's prediction on the returned batch, evaluated once more here, so the
    // result never claims a break its own adversarial images do not show.
    const predsAfter = await predict(clf.logits, adversarial, params.batchSize);
    queries.forward += n;
    for (let i = 0; i < n; i++) if (brokenBy[i] !== 'clean' && brokenBy[i] !== null && predsAfter[i] === labels[i]) brokenBy[i] = null;
    const [linfT, l2T] = tf.tidy(() => {
      const d = tf.sub(adversarial, x);
      return [tf.max(tf.abs(d), [1, 2, 3]), tf.sqrt(tf.sum(tf.square(d), [1, 2, 3]))];
    });
    const [linf, l2] = await Promise.all([linfT!.data(), l2T!.data()]);
    tf.dispose([linfT!, l2T!]);
    return {
      name: 'autoattack',
      adversarial,
      predsBefore,
      predsAfter,
      success: Array.from(predsAfter, (p, i) => p !== predsBefore[i]),
      linf: Float32Array.from(linf),
      l2: Float32Array.from(l2),
      queries,
      params: Object.freeze({ ...params }),
      brokenBy,
      stages,
      flags,
    };
  } catch (err) {
    adversarial.dispose();
    throw err;
  }
}

/**
 * An AutoAttack-style ensemble (Croce and Hein 2020): APGD-CE, APGD-T and Square with fixed
 * budgets ({@link AUTOATTACK_VERSIONS}), each run only on the samples still classified correctly
 * after the ones before it. A sample counts as robust only if every attack failed on it, so the
 * robust accuracy is the worst case over the ensemble; `brokenBy` says which attack broke each
 * sample and `stages` what each attack did and cost, and `flags` the reasons to distrust the
 * figure ({@link modelFlags}, and Square breaking samples the gradient attacks left). Untargeted;
 * Linf or L2.
 *
 * @example
 * ```ts
 * const r = await autoattack.run(model, images, labels, { eps: 8 / 255, version: 'cheap', seed: 1 });
 * const robust = r.brokenBy.filter((b) => b === null).length / r.brokenBy.length;
 * ```
 */
export const autoattack: AutoAttack = Object.freeze({
  name: 'autoattack',
  defaults: Object.freeze({ ...AUTOATTACK_DEFAULTS }),
  run,
});
