import * as tf from '@tensorflow/tfjs';
import { readLabels } from '../data/inputs.js';
import { type EvaluationFlag, monotoneFlag } from '../attacks/flags.js';
import { attackLossFlag } from '../attacks/lossFlag.js';
import { getAttack } from '../attacks/registry.js';
import type { Attack } from '../attacks/types.js';
import type { Classifier } from '../models/classifier.js';
import { wilsonInterval } from './bootstrap.js';

/** Robust accuracy at one budget of a {@link robustnessCurve}. */
export interface CurvePoint {
  eps: number;
  robustAccuracy: number;
  /** 95% Wilson interval. */
  lower: number;
  upper: number;
}

/** Robust accuracy over a list of budgets, with the per-sample outcomes it came from. */
export interface RobustnessCurve {
  attack: string;
  n: number;
  points: CurvePoint[];
  /** correct[i][k]: sample k is still classified correctly after the attack at eps[i]. */
  correct: boolean[][];
  /**
   * Samples the attack broke at a smaller budget but not at a larger one. A perturbation inside the
   * smaller ball lies inside the larger one too, so each is a miss of the attack at the larger
   * budget, and a curve that does not fall as eps grows is a sign of an unreliable evaluation.
   */
  inversions: { eps: number; largerEps: number; samples: number[] }[];
  /**
   * Evaluation flags: the attack's own at any budget (e.g. autoattack's), "the attack loss did not
   * increase" at a budget, and "robust accuracy does not fall as eps grows" ({@link monotoneFlag});
   * one per name and message.
   */
  flags: EvaluationFlag[];
  /** Whether the budgets after the first attacked only the samples still correct ({@link CurveOptions.reuse}). */
  reused: boolean;
  /** Model calls per budget, in images (what reuse saves shows here). */
  queries: { forward: number; gradient: number }[];
}

/** How {@link robustnessCurve} runs. */
export interface CurveOptions {
  /**
   * Reuse work across budgets: attack at each budget only the samples the attack left correct at
   * the smaller budgets, and count the others as broken (their adversarial image lies in the
   * smaller ball, so in the larger one too, and the model misclassifies it). Each point is then
   * the robust accuracy under the attack at that budget together with the adversarial examples
   * already found at the smaller ones, so the curve falls by construction and its inversions and
   * monotonicity flag can no longer fire (they need every budget run on every sample).
   *
   * What it measures beside the full computation: for an attack whose result on a sample does not
   * depend on the other samples of the batch (FGSM, PGD without random start, any deterministic
   * per-sample attack), sample k is correct at budget i under reuse exactly when it is correct at
   * every budget up to i in the full computation, so each point equals the full one where the full
   * curve has no inversions and is below it where it has (tested). An attack with random starts
   * draws them per position in the batch, so a sample attacked among fewer others gets another,
   * equally distributed, start: per sample the outcome may then differ from the full run's either way.
   * @defaultValue false (every budget attacks every sample, so the curve can check itself)
   */
  reuse?: boolean;
}

/**
 * Robust accuracy of a model at each budget in `eps` (ascending, as the curve is read), the same
 * attack, parameters and seed at every point.
 * @example
 * ```ts
 * const curve = await robustnessCurve(model, images, labels, 'apgd', [1, 2, 4, 8].map((e) => e / 255));
 * ```
 */
export async function robustnessCurve(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, attack: string | Attack<any>, eps: readonly number[], params: Record<string, unknown> = {}, options: CurveOptions = {}): Promise<RobustnessCurve> {
  const a = getAttack(attack);
  if (!Array.isArray(eps) || eps.length === 0) throw new Error(`robustnessCurve: give at least one budget in eps, e.g. [1, 2, 4, 8].map((e) => e / 255).`);
  for (let i = 0; i < eps.length; i++) {
    if (!(typeof eps[i] === 'number' && eps[i]! > 0)) throw new RangeError(`robustnessCurve: eps[${i}] must be a positive number; got ${String(eps[i])}.`);
    if (i > 0 && !(eps[i]! > eps[i - 1]!)) throw new RangeError(`robustnessCurve: eps must be strictly increasing; eps[${i}] = ${eps[i]} follows ${eps[i - 1]}.`);
  }
  const reuse = options.reuse ?? false;
  if (typeof reuse !== 'boolean') throw new TypeError(`robustnessCurve: reuse must be true or false; got ${JSON.stringify(reuse)}.`);
  const labels = await readLabels(y);
  const n = labels.length;
  const norm = 'norm' in (a.defaults as object) && params.norm === undefined ? { norm: 'linf' } : {};
  const correct: boolean[][] = [];
  const queries: RobustnessCurve['queries'] = [];
  const flags = new Map<string, EvaluationFlag>();
  const addFlag = (f: EvaluationFlag, at?: number) => {
    const message = at === undefined ? f.message : `at eps ${Number(at.toPrecision(4))}, ${f.message}`;
    flags.set(`${f.name}\u0000${message}`, { name: f.name, message });
  };
  for (const e of eps) {
    const prev = correct[correct.length - 1];
    // Under reuse, only the samples still correct at the smaller budget are attacked here.
    const rows = reuse && prev ? prev.flatMap((ok, k) => (ok ? [k] : [])) : undefined;
    const now = new Array<boolean>(n).fill(false);
    if (rows && rows.length === 0) {
      correct.push(now);
      queries.push({ forward: 0, gradient: 0 });
      continue;
    }
    const [xs, ys] = rows ? tf.tidy(() => { const idx = tf.tensor1d(Int32Array.from(rows), 'int32'); return [tf.gather(x, idx) as tf.Tensor4D, tf.gather(y, idx) as tf.Tensor1D]; }) : [x, y];
    try {
      const run = { ...norm, ...params, eps: e };
      const r = await a.run(model, xs, ys, run);
      try {
        const sub = rows ? Int32Array.from(rows, (k) => labels[k]!) : labels;
        sub.forEach((l, j) => { now[rows ? rows[j]! : j] = r.predsAfter[j] === l; });
        for (const f of (r as { flags?: EvaluationFlag[] }).flags ?? []) addFlag(f);
        const lossF = await attackLossFlag(model, a, { ...(r.params as Record<string, unknown>), ...params }, xs, r.adversarial, ys, sub, r.predsBefore, r.predsAfter);
        if (lossF) addFlag(lossF, e);
        queries.push({ forward: r.queries.forward, gradient: r.queries.gradient });
      } finally {
        // Never the caller's images, even when an attack hands them back.
        if (r.adversarial !== x && r.adversarial !== xs) r.adversarial.dispose();
      }
    } finally {
      if (rows) tf.dispose([xs, ys]);
    }
    correct.push(now);
  }
  const points = correct.map((c, i) => {
    const hits = c.filter(Boolean).length;
    const w = wilsonInterval(hits, n);
    return { eps: eps[i]!, robustAccuracy: hits / n, lower: w.lower, upper: w.upper };
  });
  const inversions: RobustnessCurve['inversions'] = [];
  for (let i = 0; i < eps.length; i++) {
    for (let j = i + 1; j < eps.length; j++) {
      const samples = correct[j]!.flatMap((ok, k) => (ok && !correct[i]![k] ? [k] : []));
      if (samples.length) inversions.push({ eps: eps[i]!, largerEps: eps[j]!, samples });
    }
  }
  const notFalling = monotoneFlag(points);
  if (notFalling) addFlag(notFalling);
  return { attack: a.name, n, points, correct, inversions, flags: [...flags.values()], reused: reuse, queries };
}

