import * as tf from '@tensorflow/tfjs';
import { getAttack } from '../attacks/registry.js';
import type { Attack } from '../attacks/types.js';
import type { Classifier } from '../models/classifier.js';
import { wilsonInterval } from '../metrics/bootstrap.js';
import { checkLabels, checkSamples, fmt, type MatcherOutcome, type MatcherThis, paramsText, record, savePanels } from './shared.js';

export interface ResistAttackOptions {
  /** Pass when robust accuracy (correct after the attack) is at least this. */
  minAccuracy?: number;
  /** Pass when the attack success rate, among samples classified correctly before it, is at most this. */
  maxSuccessRate?: number;
  /** The attack's own parameters (steps, stepSize, seed...); eps comes from the matcher's argument. */
  params?: Record<string, unknown>;
  /** How many of the least-perturbed successful examples to save as PNG triptychs. @defaultValue 3 */
  saveWorst?: number;
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
  if (!(typeof eps === 'number' && eps > 0 && eps <= 1)) throw new RangeError(`${name}: eps must be in (0, 1] (pixels are in [0, 1]; 8/255 is about 0.031); got ${eps}.`);
  const { minAccuracy, maxSuccessRate } = options;
  if ((minAccuracy === undefined) === (maxSuccessRate === undefined)) throw new Error(`${name}: give exactly one threshold, { minAccuracy } or { maxSuccessRate }.`);
  const threshold = (minAccuracy ?? maxSuccessRate)!;
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`${name}: the threshold must be in [0, 1]; got ${threshold}.`);
  const a = getAttack(attack);
  await checkLabels(model, samples, name);

  // eps is an Linf budget for every attack, unless the caller names another norm.
  const norm = 'norm' in (a.defaults as object) ? { norm: 'linf' } : {};
  const result = await a.run(model, samples.images, samples.labels, { ...norm, ...options.params, eps });
  try {
    const labels = (await samples.labels.data()) as Int32Array;
    const n = labels.length;
    const correctAfter = labels.reduce((s, l, i) => s + (result.predsAfter[i] === l ? 1 : 0), 0);
    const correctBefore = labels.reduce((s, l, i) => s + (result.predsBefore[i] === l ? 1 : 0), 0);
    const flipped = labels.reduce((s, l, i) => s + (result.predsBefore[i] === l && result.success[i] ? 1 : 0), 0);
    const metric = minAccuracy !== undefined ? 'robust accuracy' : 'attack success rate';
    const [hits, total] = minAccuracy !== undefined ? [correctAfter, n] : [flipped, correctBefore];
    const interval = wilsonInterval(hits, Math.max(total, 1));
    const value = total ? hits / total : 0;
    const pass = minAccuracy !== undefined ? value >= threshold : value <= threshold;

    // The least-perturbed successes are the model's most fragile points.
    const worst = Array.from({ length: n }, (_, i) => i)
      .filter((i) => result.predsBefore[i] === labels[i] && result.success[i])
      .sort((i, j) => result.l2[i]! - result.l2[j]!)
      .slice(0, options.saveWorst ?? 3);
    let saved = '';
    let artefacts: string[] = [];
    if (worst.length) {
      const out = await savePanels(this, 'worst', worst, samples.ids, (i) => {
        const x = samples.images.slice([i, 0, 0, 0], [1, -1, -1, -1]).squeeze([0]);
        const adv = result.adversarial.slice([i, 0, 0, 0], [1, -1, -1, -1]).squeeze([0]);
        return tf.concat([x, adv, adv.sub(x).mul(10).add(0.5).clipByValue(0, 1)], 1) as tf.Tensor3D;
      });
      artefacts = out.artefacts;
      const shown = out.shown;
      saved = `; ${worst.length} least-perturbed successes saved in ${shown}/ (original | adversarial | perturbation x10)`;
    }
    const cmp = minAccuracy !== undefined ? '>=' : '<=';
    record(this, model, {
      matcher: name,
      data: samples.source,
      method: a.name,
      params: result.params as Record<string, unknown>,
      metric: minAccuracy !== undefined ? 'robustAccuracy' : 'successRate',
      value,
      interval: { lower: interval.lower, upper: interval.upper, level: 0.95 },
      threshold: { op: cmp, value: threshold },
      n: total,
      pass,
      artefacts,
    });
    const describe = () =>
      `${metric} under ${a.name} (${paramsText(result.params as Record<string, unknown>)}) was ${fmt(value)} [95% CI ${fmt(interval.lower)}, ${fmt(interval.upper)}] on n=${total}` +
      `${minAccuracy === undefined ? ` correctly classified of ${n}` : ''}; threshold ${cmp} ${threshold}; clean accuracy ${fmt(correctBefore / n)}${saved}`;
    return {
      pass,
      message: () => (this.isNot ? `expected the model NOT to resist: ${describe()}` : `expected the model to resist: ${describe()}`),
      actual: value,
      expected: threshold,
    };
  } finally {
    result.adversarial.dispose();
  }
}
