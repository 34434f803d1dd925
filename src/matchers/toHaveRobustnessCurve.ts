import type { Attack } from '../attacks/types.js';
import type { Classifier } from '../models/classifier.js';
import { robustnessCurve, type RobustnessCurve } from '../metrics/robustnessCurve.js';
import { checkLabels, checkSamples, fmt, type MatcherOutcome, type MatcherThis } from './shared.js';

export interface RobustnessCurveOptions {
  /** Budgets, strictly increasing (e.g. `[1, 2, 4, 8].map((e) => e / 255)`). */
  eps: number[];
  /** Least robust accuracy at each budget, one per entry of `eps`. */
  min: number[];
  /** The attack's own parameters (seed, version, steps...), the same at every budget. */
  params?: Record<string, unknown>;
  /** What the curve's flags (a sample broken at a smaller eps but not a larger one; the attack's own flags) do. @defaultValue 'fail' */
  flags?: 'fail' | 'warn';
}

/**
 * `await expect(samples).toHaveRobustnessCurve(model, 'autoattack', { eps: [1, 2, 4, 8].map((e) => e / 255), min: [0.5, 0.4, 0.2, 0.1] })`:
 * robust accuracy at every budget is at least its minimum. The curve is also checked for
 * consistency: a sample broken at a smaller budget is broken at every larger one (its adversarial
 * image lies in the larger ball too), so an attack that misses it there makes the check fail,
 * as do the attack's own evaluation flags, unless `flags: 'warn'`. Resolves to the curve.
 */
export async function toHaveRobustnessCurve(this: MatcherThis, received: unknown, model: Classifier, attack: string | Attack<any>, options: RobustnessCurveOptions): Promise<MatcherOutcome> {
  const name = 'toHaveRobustnessCurve';
  const samples = await checkSamples(received, name);
  const { eps, min } = options ?? ({} as RobustnessCurveOptions);
  if (!Array.isArray(eps) || !Array.isArray(min) || eps.length === 0 || eps.length !== min.length) {
    throw new Error(`${name}: give { eps, min } as arrays of the same non-zero length, one least robust accuracy per budget; got ${Array.isArray(eps) ? eps.length : 'no'} budgets and ${Array.isArray(min) ? min.length : 'no'} minimums.`);
  }
  for (const [i, e] of eps.entries()) if (!(typeof e === 'number' && e > 0 && e <= 1)) throw new RangeError(`${name}: eps[${i}] must be in (0, 1]; got ${String(e)}.`);
  for (const [i, m] of min.entries()) if (!(typeof m === 'number' && m >= 0 && m <= 1)) throw new RangeError(`${name}: min[${i}] must be in [0, 1]; got ${String(m)}.`);
  if (options.flags !== undefined && options.flags !== 'fail' && options.flags !== 'warn') throw new Error(`${name}: flags must be 'fail' or 'warn'; got ${JSON.stringify(options.flags)}.`);
  await checkLabels(model, samples, name);
  const curve: RobustnessCurve = await robustnessCurve(model, samples.images, samples.labels, attack, eps, options.params);
  const below = curve.points.map((p, i) => (p.robustAccuracy < min[i]! ? i : -1)).filter((i) => i >= 0);
  const flags = [
    ...curve.inversions.map((v) => `${v.samples.length} sample(s) broken at eps ${fmt(v.eps, 4)} survived the attack at eps ${fmt(v.largerEps, 4)} (e.g. sample ${v.samples[0]}): the attack missed adversarial examples inside its budget; use a stronger attack or more restarts`),
    ...curve.flags,
  ];
  const flagged = flags.length > 0 && options.flags !== 'warn';
  const pass = flagged ? this.isNot : below.length === 0;
  const describe = () =>
    `robust accuracy under ${curve.attack} on n=${curve.n}: ` +
    curve.points.map((p, i) => `eps ${fmt(p.eps, 4)}: ${fmt(p.robustAccuracy)} [95% CI ${fmt(p.lower)}, ${fmt(p.upper)}] (min ${min[i]}${below.includes(i) ? ', BELOW' : ''})`).join('; ') +
    (flags.length ? `; curve flags${flagged ? " (failing the check; { flags: 'warn' } reports them only)" : ''}: ${flags.join(' | ')}` : '');
  return {
    pass,
    message: () => (this.isNot ? `expected the curve NOT to stay above its minimums: ${describe()}` : `expected the curve to stay above its minimums: ${describe()}`),
    actual: curve,
    expected: min,
  };
}
