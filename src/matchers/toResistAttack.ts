import * as tf from '@tensorflow/tfjs';
import type { Attack, AttackResult } from '../attacks/types.js';
import { type Classifier, predictClasses } from '../models/classifier.js';
import { wilsonInterval } from '../metrics/bootstrap.js';
import { attackFrom, checkAttackOutput } from './attackOutput.js';
import { checkCount, checkedLabels, checkOptions, checkModel, checkSamples, classCalls, imageSize, className, fmt, refuse, type MatcherOutcome, type MatcherThis, paramsText, record, savePanels } from './shared.js';
import { writeSampleOutcomes } from './perSample.js';
import { attackLossFlag } from '../attacks/lossFlag.js';
import type { Samples } from '../data/samples.js';
import { checkEps } from '../data/inputs.js';
import type { ImageNote } from '../record/record.js';

/** How much the saved perturbation panel is amplified (an 8/255 change would be near-invisible). */
const AMPLIFY = 10;

export interface ResistAttackOptions {
  /** Pass when robust accuracy (correct after the attack) is at least this. */
  minAccuracy?: number;
  /** Pass when the attack success rate, among samples classified correctly before it, is at most this. */
  maxSuccessRate?: number;
  /** The attack's own parameters (steps, stepSize, seed...); eps comes from the matcher's argument. */
  params?: Record<string, unknown>;
  /** How many of the least-perturbed successful examples to save as PNG triptychs. @defaultValue 3 */
  saveWorst?: number;
  /**
   * What the evaluation flags do: fail the check, or only appear in its message (and the record).
   * The flags are the attack's own (autoattack's gradient-masking checks) and, for a built-in
   * loss-maximising attack run untargeted, "the attack loss did not increase" (see `lossFlag`).
   * "Robust accuracy does not fall as eps grows" needs several budgets: it is checked by
   * `toHaveRobustnessCurve` and by `robustness eval` with a list of eps, not here.
   * @defaultValue 'fail'
   */
  flags?: 'fail' | 'warn';
}

/** What `await expect(samples).toResistAttack(...)` resolves to. */
export interface AttackMeasurement {
  /** Robust accuracy, or the success rate among samples classified correctly (the threshold's metric). */
  value: number;
  metric: 'robustAccuracy' | 'successRate';
  /** 95% Wilson interval of the value. */
  interval: { lower: number; upper: number; level: number };
  /** Samples the value counts (all of them, or those classified correctly before the attack). */
  n: number;
  /** The parameters the attack ran with, eps included. */
  params: Record<string, unknown>;
  /** Per sample: the class predicted before and after the attack, and the true label. */
  predsBefore: Int32Array;
  predsAfter: Int32Array;
  labels: Int32Array;
}

/**
 * `await expect(samples).toResistAttack(model, 'pgd', 8 / 255, { minAccuracy: 0.3 })`: runs the
 * attack within an Linf budget eps and compares robust accuracy (or success rate) with the
 * threshold. The message states the value with its 95% Wilson interval, the attack and its
 * parameters, n, and where the worst examples were saved (original | adversarial | perturbation x10).
 */
export async function toResistAttack(this: MatcherThis, received: unknown, model: Classifier, attack: string | Attack<any>, eps: number, options: ResistAttackOptions = {}): Promise<MatcherOutcome> {
  const name = 'toResistAttack';
  const samples = await checkSamples(received, name);
  checkModel(name, model);
  // eps is an Linf budget for every attack, unless the caller names another norm.
  const budgetNorm = options?.params?.norm === 'l2' ? 'l2' : 'linf';
  checkEps(eps, budgetNorm, imageSize(samples), name);
  checkOptions(name, options, ['minAccuracy', 'maxSuccessRate', 'params', 'saveWorst', 'flags']);
  const { minAccuracy, maxSuccessRate } = options;
  if ((minAccuracy === undefined) === (maxSuccessRate === undefined)) throw new Error(`${name}: give exactly one threshold, { minAccuracy } or { maxSuccessRate }.`);
  const threshold = (minAccuracy ?? maxSuccessRate)!;
  if (!(typeof threshold === 'number' && threshold >= 0 && threshold <= 1)) throw new RangeError(`${name}: the threshold must be a number in [0, 1]; got ${JSON.stringify(threshold)}.`);
  checkCount(name, 'saveWorst', options.saveWorst);
  if (options.params !== undefined && (typeof options.params !== 'object' || options.params === null)) throw new TypeError(`${name}: params must be an object of the attack's parameters; got ${String(options.params)}.`);
  const a = attackFrom(name, attack);
  // Read from the device once: the attack and the counts below reuse this host copy.
  const labels = await checkedLabels(model, samples, name);

  const norm = a.defaults && typeof a.defaults === 'object' && 'norm' in a.defaults ? { norm: 'linf' } : {};
  const result = await a.run(model, samples.images, samples.labels, { ...norm, ...options.params, eps });
  try {
    // Nothing the attack reports is taken on trust: budget, range and predictions are measured here.
    const { l2 } = await checkAttackOutput(name, a.name, result, samples.images, eps, budgetNorm);
    const predsBefore = await predictClasses(model, samples.images);
    const predsAfter = await predictClasses(model, result.adversarial);
    const targets = targetsOf(result.target ?? options.params?.target, predsBefore.length);
    const success = Array.from(predsAfter, (p, i) => (targets ? p === targets[i] : p !== predsBefore[i]));
    const n = labels.length;
    const correctAfter = labels.reduce((s, l, i) => s + (predsAfter[i] === l ? 1 : 0), 0);
    const correctBefore = labels.reduce((s, l, i) => s + (predsBefore[i] === l ? 1 : 0), 0);
    const flipped = labels.reduce((s, l, i) => s + (predsBefore[i] === l && success[i] ? 1 : 0), 0);
    // The budget the matcher checked, whatever the attack says it used (the gate selects by it).
    const params = { ...((result.params ?? options.params ?? {}) as Record<string, unknown>), eps };
    const [hits, total] = minAccuracy !== undefined ? [correctAfter, n] : [flipped, correctBefore];
    const cmp = minAccuracy !== undefined ? '>=' : '<=';
    if (total === 0) {
      // A success rate among no correctly classified samples is 0/0: it would pass any threshold.
      refuse(this, model, { matcher: name, data: samples.source, method: a.name, params, metric: 'successRate', threshold: { op: cmp, value: threshold }, n: 0, artefacts: [] },
        `${name}: the model classifies none of the ${n} samples correctly, so an attack success rate among correctly classified samples measures nothing (0 of 0). Check the model and labels, or use { minAccuracy }.`);
    }
    const interval = wilsonInterval(hits, total);
    const value = hits / total;
    if (options.flags !== undefined && options.flags !== 'fail' && options.flags !== 'warn') throw new Error(`${name}: flags must be 'fail' or 'warn'; got ${JSON.stringify(options.flags)}.`);
    const flags: { name?: string; message: string }[] = [...((result as { flags?: { name?: string; message: string }[] }).flags ?? [])];
    const lossF = await attackLossFlag(model, a, { ...(result.params as Record<string, unknown>), ...options.params }, samples.images, result.adversarial, samples.labels, labels, predsBefore, predsAfter);
    if (lossF) flags.push(lossF);
    // An unreliable evaluation fails either way round (.not included) unless flags are only warnings.
    const flagged = flags.length > 0 && options.flags !== 'warn';
    const measuredPass = minAccuracy !== undefined ? value >= threshold : value <= threshold;
    // Vitest leaves isNot undefined on a plain call: a flagged record must still say pass: false.
    const pass = flagged ? this.isNot === true : measuredPass;
    const flagText = flags.length ? `; evaluation flags${flagged ? " (failing the check; { flags: 'warn' } reports them only)" : ''}: ${flags.map((f) => f.message).join(' | ')}` : '';
    const metric = minAccuracy !== undefined ? 'robust accuracy' : 'attack success rate';

    // The least-perturbed successes are the model's most fragile points.
    const worst = Array.from({ length: n }, (_, i) => i)
      .filter((i) => predsBefore[i] === labels[i] && success[i])
      .sort((i, j) => l2[i]! - l2[j]!)
      .slice(0, options.saveWorst ?? 3);
    let saved = '';
    let artefacts: string[] = [];
    let images: ImageNote[] | undefined;
    if (worst.length) {
      const out = await savePanels(this, 'worst', model, worst, samples.ids, (i) => {
        const x = samples.images.slice([i, 0, 0, 0], [1, -1, -1, -1]).squeeze([0]);
        const adv = result.adversarial.slice([i, 0, 0, 0], [1, -1, -1, -1]).squeeze([0]);
        return tf.concat([x, adv, adv.sub(x).mul(AMPLIFY).add(0.5).clipByValue(0, 1)], 1) as tf.Tensor3D;
      });
      artefacts = out.artefacts;
      images = await noteWorst(model, samples, result.adversarial, worst, labels, artefacts);
      const shown = out.shown;
      saved = `; ${worst.length} least-perturbed successes saved in ${shown}/ (original | adversarial | perturbation x${AMPLIFY})`;
    }
    // Beside the report, not among the artefacts (those are the PNGs the report's notes describe).
    const { path: perSample, perClass } = writeSampleOutcomes(this, model, { ...result, predsBefore, predsAfter }, labels, samples.ids, eps);
    const describe = () =>
      `${metric} under ${a.name} (${paramsText(params)}) was ${fmt(value)} [95% CI ${fmt(interval.lower)}, ${fmt(interval.upper)}] on n=${total}` +
      `${minAccuracy === undefined ? ` correctly classified of ${n}` : ''}; threshold ${cmp} ${threshold}; clean accuracy ${fmt(correctBefore / n)}${saved}${flagText}; per-sample outcomes in ${perSample}`;
    const message = () => (this.isNot ? `expected the model NOT to resist: ${describe()}` : `expected the model to resist: ${describe()}`);
    record(this, model, {
      matcher: name,
      data: samples.source,
      method: a.name,
      params: { ...params, ...(flags.length ? { flags: flags.map((f) => f.name ?? f.message) } : {}) },
      metric: minAccuracy !== undefined ? 'robustAccuracy' : 'successRate',
      value,
      interval: { lower: interval.lower, upper: interval.upper, level: 0.95 },
      threshold: { op: cmp, value: threshold },
      n: total,
      pass,
      artefacts,
      images,
      message: message(),
      ...(flags.length ? { flags: flags.map((f) => ({ name: f.name ?? 'flag', message: f.message, failing: flagged })) } : {}),
      samples: perSample,
      perClass: perClass.map((c) => ({ ...c, class: className(samples, c.label) })),
    });
    return {
      pass,
      message,
      actual: value,
      expected: threshold,
      measurement: { value, metric: minAccuracy !== undefined ? 'robustAccuracy' : 'successRate', interval: { lower: interval.lower, upper: interval.upper, level: 0.95 }, n: total, params, predsBefore: Int32Array.from(predsBefore), predsAfter: Int32Array.from(predsAfter), labels: Int32Array.from(labels) } satisfies AttackMeasurement,
    };
  } finally {
    // Never the caller's images, even when an attack hands them back as its result.
    const adv = (result as AttackResult<any> | undefined)?.adversarial;
    if (adv instanceof tf.Tensor && adv !== samples.images && !adv.isDisposed) adv.dispose();
  }
}

/** Per-sample target classes of a targeted attack, from its result or the parameters given. */
function targetsOf(target: unknown, n: number): Int32Array | undefined {
  if (target === undefined || target === null) return undefined;
  if (typeof target === 'number') return new Int32Array(n).fill(target);
  return Int32Array.from(target as ArrayLike<number>);
}

/** Labels for the saved triptychs: the sample, its true class, the model's call before and after. */
async function noteWorst(model: Classifier, samples: Samples, adversarial: tf.Tensor4D, worst: readonly number[], labels: Int32Array, files: readonly string[]): Promise<ImageNote[]> {
  const idx = tf.tensor1d(worst as number[], 'int32');
  const [x, adv] = tf.tidy(() => [tf.gather(samples.images, idx), tf.gather(adversarial, idx)] as [tf.Tensor4D, tf.Tensor4D]);
  try {
    const [before, after] = [await classCalls(model, x, samples), await classCalls(model, adv, samples)];
    return worst.map((i, k) => ({
      file: files[k]!,
      kind: 'attack',
      panels: ['original', 'adversarial', `perturbation x${AMPLIFY} (grey = 0)`],
      sample: samples.ids[i],
      trueClass: className(samples, labels[i]!),
      before: before[k],
      after: after[k],
      amplify: AMPLIFY,
    }));
  } finally {
    tf.dispose([idx, x, adv]);
  }
}
