import * as tf from '@tensorflow/tfjs';
import type { Attack } from '../attacks/types.js';
import { type Classifier, predictClasses } from '../models/classifier.js';
import { bootstrapCI, wilsonInterval } from '../metrics/bootstrap.js';
import { attackLossFlag } from '../attacks/lossFlag.js';
import { checkEps } from '../data/inputs.js';
import type { RecordedFlag } from '../record/record.js';
import { attackFrom, checkAttackOutput } from './attackOutput.js';
import { writeComparisonOutcomes } from './perSample.js';
import { checkedLabels, checkModel, checkOptions, checkSamples, className, imageSize, fmt, type MatcherOutcome, type MatcherThis, modelName, paramsText, record, refuse } from './shared.js';

export interface MoreRobustOptions {
  /** The attack's own parameters (seed, steps, version...); eps comes from the matcher's argument. Both models get the same ones. */
  params?: Record<string, unknown>;
  /** Confidence level of the paired bootstrap interval. @defaultValue 0.95 */
  level?: number;
  /** Bootstrap resamples. @defaultValue 2000 */
  resamples?: number;
  /** Seed of the bootstrap. @defaultValue 0 */
  seed?: number;
  /**
   * What evaluation flags of either run do (see toResistAttack: the attack's own flags and "the
   * attack loss did not increase"): fail the check, or only appear in its message and record.
   * @defaultValue 'fail'
   */
  flags?: 'fail' | 'warn';
}

/** One model's side of a comparison: robust accuracy with its 95% Wilson interval, and clean accuracy. */
export interface ComparedModel {
  model: string;
  robustAccuracy: number;
  lower: number;
  upper: number;
  clean: number;
}

/** What the comparison measured; the matcher's `actual`, and what an awaited call resolves to. */
export interface RobustnessComparison {
  n: number;
  attack: string;
  eps: number;
  candidate: ComparedModel;
  baseline: ComparedModel;
  /** Candidate minus baseline robust accuracy, with its paired bootstrap interval. */
  difference: { estimate: number; lower: number; upper: number; level: number };
  /** Per sample: 1 when only the candidate stays correct, -1 when only the baseline does, else 0. */
  perSample: number[];
  /** Evaluation flags of either run ('candidate: ...', 'baseline: ...'), failing or not. */
  flags: string[];
  /** The per-sample outcomes file (relative to the project root). */
  samples: string;
}

/**
 * `await expect(samples).toBeMoreRobustThan(candidate, baseline, 'autoattack', 8 / 255)`: attacks
 * both models on the same samples with the same parameters and passes when the paired bootstrap
 * interval of (candidate's - baseline's) robust accuracy lies above 0, i.e. the candidate is more
 * robust beyond the sampling noise. A tie, or too few samples to tell, fails. Records the check
 * (under the candidate's name) with both accuracies, the difference and a per-sample file.
 */
export async function toBeMoreRobustThan(this: MatcherThis, received: unknown, candidate: Classifier, baseline: Classifier, attack: string | Attack<any>, eps: number, options: MoreRobustOptions = {}): Promise<MatcherOutcome> {
  const name = 'toBeMoreRobustThan';
  const samples = await checkSamples(received, name);
  checkModel(name, candidate);
  checkModel(name, baseline);
  checkOptions(name, options, ['params', 'level', 'resamples', 'seed', 'flags']);
  const budgetNorm = options.params?.norm === 'l2' ? 'l2' : 'linf';
  checkEps(eps, budgetNorm, imageSize(samples), name);
  if (candidate === baseline) throw new Error(`${name}: candidate and baseline are the same model; compare two different models.`);
  if (options.flags !== undefined && options.flags !== 'fail' && options.flags !== 'warn') throw new Error(`${name}: flags must be 'fail' or 'warn'; got ${JSON.stringify(options.flags)}.`);
  if (options.params !== undefined && (typeof options.params !== 'object' || options.params === null)) throw new TypeError(`${name}: params must be an object of the attack's parameters; got ${String(options.params)}.`);
  const a = attackFrom(name, attack);
  await checkedLabels(candidate, samples, name);
  const labels = await checkedLabels(baseline, samples, name);
  const norm = a.defaults && typeof a.defaults === 'object' && 'norm' in a.defaults ? { norm: 'linf' } : {};
  const n = labels.length;
  const outcome = async (model: Classifier) => {
    const r = await a.run(model, samples.images, samples.labels, { ...norm, ...options.params, eps });
    try {
      // As in toResistAttack: the budget, the range and the predictions are measured here.
      await checkAttackOutput(name, a.name, r, samples.images, eps, budgetNorm);
      const predsBefore = await predictClasses(model, samples.images);
      const predsAfter = await predictClasses(model, r.adversarial);
      const flags: { name?: string; message: string }[] = [...((r as { flags?: { name?: string; message: string }[] }).flags ?? [])];
      const lossF = await attackLossFlag(model, a, { ...(r.params as Record<string, unknown>), ...options.params }, samples.images, r.adversarial, samples.labels, labels, predsBefore, predsAfter);
      if (lossF) flags.push(lossF);
      return { predsBefore, predsAfter, correct: Array.from(labels, (l, i) => (predsAfter[i] === l ? 1 : 0)), params: r.params as Record<string, unknown>, flags };
    } finally {
      const adv = r?.adversarial as unknown;
      if (adv instanceof tf.Tensor && adv !== samples.images && !adv.isDisposed) adv.dispose();
    }
  };
  const c = await outcome(candidate);
  const b = await outcome(baseline);
  const params = { ...(c.params ?? options.params ?? {}), eps };
  const [candidateName, baselineName] = [modelName(candidate), modelName(baseline)];
  const cleanHits = (p: Int32Array) => labels.reduce((s, l, i) => s + (p[i] === l ? 1 : 0), 0);
  if (cleanHits(c.predsBefore) === 0 && cleanHits(b.predsBefore) === 0) {
    // Both robust accuracies are 0 whatever the attack: a comparison of nothing, which .not would pass.
    refuse(this, candidate, { matcher: name, data: samples.source, method: a.name, params: { ...params, baseline: baselineName }, metric: 'robustAccuracyDifference', threshold: { op: '>', value: 0 }, n, artefacts: [] },
      `${name}: neither model classifies any of the ${n} samples correctly, so there is no robustness to compare (both robust accuracies are 0 before any attack). Check the models and labels.`);
  }
  const perSample = c.correct.map((v, i) => v - b.correct[i]!);
  const diff = bootstrapCI(perSample, { level: options.level, resamples: options.resamples, seed: options.seed });
  const side = (model: string, k: number[], p: Int32Array): ComparedModel => {
    const hits = k.reduce((s, v) => s + v, 0);
    const w = wilsonInterval(hits, n);
    return { model, robustAccuracy: hits / n, lower: w.lower, upper: w.upper, clean: cleanHits(p) / n };
  };
  const flagList = [...c.flags.map((f) => ({ who: 'candidate', ...f })), ...b.flags.map((f) => ({ who: 'baseline', ...f }))];
  const flags = flagList.map((f) => `${f.who}: ${f.message}`);
  const flagged = flags.length > 0 && options.flags !== 'warn';
  const file = writeComparisonOutcomes(this, candidate, { attack: a.name, eps, candidate: candidateName, baseline: baselineName }, labels, samples.ids, c, b);
  const comparison: RobustnessComparison = {
    n,
    attack: a.name,
    eps,
    candidate: side(candidateName, c.correct, c.predsBefore),
    baseline: side(baselineName, b.correct, b.predsBefore),
    difference: { estimate: diff.estimate, lower: diff.lower, upper: diff.upper, level: diff.level },
    perSample,
    flags,
    samples: file.path,
  };
  const measuredPass = diff.lower > 0;
  // An unreliable evaluation fails either way round (.not included) unless flags are only warnings.
  const pass = flagged ? this.isNot === true : measuredPass;
  const show = (s: ComparedModel) => `${fmt(s.robustAccuracy)} [${fmt(s.lower)}, ${fmt(s.upper)}]`;
  const describe = () =>
    `robust accuracy under ${a.name} (${paramsText(params)}) on n=${n}: candidate ${candidateName} ${show(comparison.candidate)}, baseline ${baselineName} ${show(comparison.baseline)}; ` +
    `difference ${fmt(diff.estimate)} with paired bootstrap ${Math.round(diff.level * 100)}% interval [${fmt(diff.lower)}, ${fmt(diff.upper)}] (${diff.resamples} resamples, seed ${diff.seed}); ` +
    `samples only the candidate resists: ${perSample.filter((d) => d > 0).length}, only the baseline: ${perSample.filter((d) => d < 0).length}` +
    (flags.length ? `; evaluation flags${flagged ? " (failing the check; { flags: 'warn' } reports them only)" : ''}: ${flags.join(' | ')}` : '') +
    `; per-sample outcomes in ${file.path}`;
  const message = () => (this.isNot ? `expected the candidate NOT to be more robust than the baseline: ${describe()}` : `expected the candidate to be more robust than the baseline (interval above 0): ${describe()}`);
  const recordedFlags: RecordedFlag[] = flagList.map((f) => ({ name: `${f.who}: ${f.name ?? 'flag'}`, message: f.message, failing: flagged }));
  record(this, candidate, {
    matcher: name,
    data: samples.source,
    method: a.name,
    params: { ...params, baseline: baselineName, ...(flags.length ? { flags: recordedFlags.map((f) => f.name) } : {}) },
    metric: 'robustAccuracyDifference',
    value: diff.estimate,
    interval: { lower: diff.lower, upper: diff.upper, level: diff.level },
    threshold: { op: '>', value: 0 },
    n,
    pass,
    artefacts: [],
    message: message(),
    ...(recordedFlags.length ? { flags: recordedFlags } : {}),
    samples: file.path,
    comparison: {
      candidate: comparison.candidate,
      baseline: comparison.baseline,
      difference: comparison.difference,
      onlyCandidate: perSample.filter((d) => d > 0).length,
      onlyBaseline: perSample.filter((d) => d < 0).length,
      perClass: file.perClass.map((k) => ({ ...k, class: className(samples, k.label) })),
    },
  });
  return {
    pass,
    message,
    actual: comparison,
    expected: '> 0 (lower end of the interval of the difference)',
  };
}
