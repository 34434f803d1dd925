import type * as tf from '@tensorflow/tfjs';
import { readLabels } from '../data/inputs.js';
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
  /** Evaluation flags of the attack at any budget (e.g. autoattack's), by message. */
  flags: string[];
}

/**
 * Robust accuracy of a model at each budget in `eps` (ascending, as the curve is read), the same
 * attack, parameters and seed at every point.
 * @example
 * ```ts
 * const curve = await robustnessCurve(model, images, labels, 'apgd', [1, 2, 4, 8].map((e) => e / 255));
 * ```
 */
export async function robustnessCurve(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, attack: string | Attack<any>, eps: readonly number[], params: Record<string, unknown> = {}): Promise<RobustnessCurve> {
  const a = getAttack(attack);
  if (!Array.isArray(eps) || eps.length === 0) throw new Error(`robustnessCurve: give at least one budget in eps, e.g. [1, 2, 4, 8].map((e) => e / 255).`);
  for (let i = 0; i < eps.length; i++) {
    if (!(typeof eps[i] === 'number' && eps[i]! > 0)) throw new RangeError(`robustnessCurve: eps[${i}] must be a positive number; got ${String(eps[i])}.`);
    if (i > 0 && !(eps[i]! > eps[i - 1]!)) throw new RangeError(`robustnessCurve: eps must be strictly increasing; eps[${i}] = ${eps[i]} follows ${eps[i - 1]}.`);
  }
  const labels = await readLabels(y);
  const n = labels.length;
  const norm = 'norm' in (a.defaults as object) && params.norm === undefined ? { norm: 'linf' } : {};
  const correct: boolean[][] = [];
  const flags = new Set<string>();
  for (const e of eps) {
    const r = await a.run(model, x, y, { ...norm, ...params, eps: e });
    r.adversarial.dispose();
    correct.push(Array.from(labels, (l, k) => r.predsAfter[k] === l));
    for (const f of (r as { flags?: { message: string }[] }).flags ?? []) flags.add(f.message);
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
  return { attack: a.name, n, points, correct, inversions, flags: [...flags] };
}

