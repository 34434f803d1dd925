import { getAttack } from '../attacks/registry.js';
import type { Attack } from '../attacks/types.js';
import type { Classifier } from '../models/classifier.js';
import { bootstrapCI, wilsonInterval } from '../metrics/bootstrap.js';
import { checkEps } from '../data/inputs.js';
import { checkedLabels, checkOptions, checkSamples, imageSize, fmt, type MatcherOutcome, type MatcherThis, paramsText } from './shared.js';

export interface MoreRobustOptions {
  /** The attack's own parameters (seed, steps, version...); eps comes from the matcher's argument. Both models get the same ones. */
  params?: Record<string, unknown>;
  /** Confidence level of the paired bootstrap interval. @defaultValue 0.95 */
  level?: number;
  /** Bootstrap resamples. @defaultValue 2000 */
  resamples?: number;
  /** Seed of the bootstrap. @defaultValue 0 */
  seed?: number;
  /** What evaluation flags of either run do (see toResistAttack). @defaultValue 'fail' */
  flags?: 'fail' | 'warn';
}

/** What the comparison measured; the matcher's `actual`. */
export interface RobustnessComparison {
  n: number;
  candidate: { robustAccuracy: number; lower: number; upper: number };
  baseline: { robustAccuracy: number; lower: number; upper: number };
  /** Candidate minus baseline robust accuracy, with its paired bootstrap interval. */
  difference: { estimate: number; lower: number; upper: number; level: number };
  /** Per sample: 1 when only the candidate stays correct, -1 when only the baseline does, else 0. */
  perSample: number[];
}

/**
 * `await expect(samples).toBeMoreRobustThan(candidate, baseline, 'autoattack', 8 / 255)`: attacks
 * both models on the same samples with the same parameters and passes when the paired bootstrap
 * interval of (candidate's - baseline's) robust accuracy lies above 0, i.e. the candidate is more
 * robust beyond the sampling noise. A tie, or too few samples to tell, fails.
 */
export async function toBeMoreRobustThan(this: MatcherThis, received: unknown, candidate: Classifier, baseline: Classifier, attack: string | Attack<any>, eps: number, options: MoreRobustOptions = {}): Promise<MatcherOutcome> {
  const name = 'toBeMoreRobustThan';
  const samples = await checkSamples(received, name);
  checkOptions(name, options, ['params', 'level', 'resamples', 'seed', 'flags']);
  checkEps(eps, options.params?.norm === 'l2' ? 'l2' : 'linf', imageSize(samples), name);
  if (candidate === baseline) throw new Error(`${name}: candidate and baseline are the same model; compare two different models.`);
  if (options.flags !== undefined && options.flags !== 'fail' && options.flags !== 'warn') throw new Error(`${name}: flags must be 'fail' or 'warn'; got ${JSON.stringify(options.flags)}.`);
  const a = getAttack(attack);
  await checkedLabels(candidate, samples, name);
  const labels = await checkedLabels(baseline, samples, name);
  const norm = 'norm' in (a.defaults as object) ? { norm: 'linf' } : {};
  const n = labels.length;
  const outcome = async (model: Classifier) => {
    const r = await a.run(model, samples.images, samples.labels, { ...norm, ...options.params, eps });
    r.adversarial.dispose();
    return { correct: Array.from(labels, (l, i) => (r.predsAfter[i] === l ? 1 : 0)), params: r.params as Record<string, unknown>, flags: ((r as { flags?: { message: string }[] }).flags ?? []).map((f) => f.message) };
  };
  const c = await outcome(candidate);
  const b = await outcome(baseline);
  const perSample = c.correct.map((v, i) => v - b.correct[i]!);
  const diff = bootstrapCI(perSample, { level: options.level, resamples: options.resamples, seed: options.seed });
  const acc = (k: number[]) => {
    const hits = k.reduce((s, v) => s + v, 0);
    const w = wilsonInterval(hits, n);
    return { robustAccuracy: hits / n, lower: w.lower, upper: w.upper };
  };
  const comparison: RobustnessComparison = { n, candidate: acc(c.correct), baseline: acc(b.correct), difference: { estimate: diff.estimate, lower: diff.lower, upper: diff.upper, level: diff.level }, perSample };
  const flags = [...c.flags.map((f) => `candidate: ${f}`), ...b.flags.map((f) => `baseline: ${f}`)];
  const flagged = flags.length > 0 && options.flags !== 'warn';
  const pass = flagged ? this.isNot : diff.lower > 0;
  const show = (s: RobustnessComparison['candidate']) => `${fmt(s.robustAccuracy)} [${fmt(s.lower)}, ${fmt(s.upper)}]`;
  const describe = () =>
    `robust accuracy under ${a.name} (${paramsText(c.params)}) on n=${n}: candidate ${show(comparison.candidate)}, baseline ${show(comparison.baseline)}; ` +
    `difference ${fmt(diff.estimate)} with paired bootstrap ${Math.round(diff.level * 100)}% interval [${fmt(diff.lower)}, ${fmt(diff.upper)}] (${diff.resamples} resamples, seed ${diff.seed}); ` +
    `samples only the candidate resists: ${perSample.filter((d) => d > 0).length}, only the baseline: ${perSample.filter((d) => d < 0).length}` +
    (flags.length ? `; evaluation flags${flagged ? " (failing the check; { flags: 'warn' } reports them only)" : ''}: ${flags.join(' | ')}` : '');
  return {
    pass,
    message: () => (this.isNot ? `expected the candidate NOT to be more robust than the baseline: ${describe()}` : `expected the candidate to be more robust than the baseline (interval above 0): ${describe()}`),
    actual: comparison,
    expected: '> 0 (lower end of the interval of the difference)',
  };
}
