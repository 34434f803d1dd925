import { getAttack } from '../attacks/registry.js';
import type { AutoAttackResult } from '../attacks/autoattack.js';
import { initBackend } from '../backend/select.js';
import { cifar10 } from '../data/cifar10.js';
import { cardOf, loadClassifier } from '../models/io.js';
import { isOnnxModel } from '../models/onnx/index.js';
import { wilsonInterval } from '../metrics/bootstrap.js';
import { numberFlag, parseFlags, RULES, UsageError } from './args.js';
import { parseEpsList } from './eps.js';
import { monotoneFlag, type EvaluationFlag } from '../attacks/flags.js';
import { attackLossFlag } from '../attacks/lossFlag.js';

export const usage = `usage: robustness eval --model DIR|FILE.onnx [--attack pgd] [--eps 8/255[,2/255,...]] [--n 500] [--seed 1] [--steps N] [--version standard|cheap]

Clean and robust accuracy of a saved model on a class-stratified draw of CIFAR-10 test images,
with 95% Wilson intervals. --attack fgsm|pgd|deepfool|cw|apgd|apgd-t|square|autoattack; eps is an
Linf budget in (0, 1], a decimal or a fraction such as 8/255, or a comma-separated list of them for
one row each. --version picks the autoattack ensemble's budget (standard, the default, or cheap);
its rows say which attack broke how many samples. An ONNX file takes its preprocessing from the
card file beside it (model.card.json).

Below the table, evaluation flags (reasons to distrust a figure) are printed: the attack's own
(autoattack's), "the attack loss did not increase" (built-in loss-maximising attacks), and, with
two or more eps, "robust accuracy does not fall as eps grows". They do not change the exit code.`;

export async function run(args: string[]): Promise<number> {
  const v = parseFlags('eval', { args, options: { model: { type: 'string' }, attack: { type: 'string' }, eps: { type: 'string' }, n: { type: 'string' }, seed: { type: 'string' }, steps: { type: 'string' }, version: { type: 'string' } } }).values;
  if (!v.model) throw new UsageError('--model is required: a folder with model.json, or an .onnx file. See `robustness eval --help`.');
  const budgets = v.eps === undefined ? [{ value: 8 / 255, text: '8/255' }] : parseEpsList(v.eps);
  const n = numberFlag('eval', 'n', v.n, RULES.count) ?? 500;
  const seed = numberFlag('eval', 'seed', v.seed, RULES.seed) ?? 1;
  const steps = numberFlag('eval', 'steps', v.steps, RULES.count);
  let attack;
  try {
    attack = getAttack(v.attack ?? 'pgd');
  } catch (err) {
    throw new UsageError(`--attack: ${(err as Error).message}`);
  }
  if (steps !== undefined && !('steps' in (attack.defaults as object))) throw new UsageError(`--steps: ${attack.name} takes no steps; drop it.`);
  if (v.version !== undefined && attack.name !== 'autoattack') throw new UsageError(`--version applies to --attack autoattack only; ${attack.name} takes --steps or its defaults.`);
  if (v.version !== undefined && v.version !== 'standard' && v.version !== 'cheap') throw new UsageError(`--version must be 'standard' or 'cheap'; got '${v.version}'.`);
  await initBackend();
  const model = await loadClassifier(v.model);
  let samples;
  try {
    samples = await cifar10.test({ count: n, seed });
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    model.dispose();
    throw new UsageError(`--n ${n}: ${err.message.replace(/lower count/, 'lower --n')}`);
  }
  try {
    const labels = (await samples.labels.data()) as Int32Array;
    const pct = (k: number) => {
      const ci = wilsonInterval(k, n);
      return `${((100 * k) / n).toFixed(2)}% | ${(100 * ci.lower).toFixed(1)}–${(100 * ci.upper).toFixed(1)}%`;
    };
    const rows: string[] = [];
    let header = '';
    let clean = -1;
    const flags: EvaluationFlag[] = [];
    const points: { eps: number; robustAccuracy: number; lower: number; upper: number }[] = [];
    for (const eps of budgets) {
      const params: Record<string, unknown> = { eps: eps.value, seed, ...(steps !== undefined ? { steps } : {}), ...(v.version ? { version: v.version } : {}), ...('norm' in (attack.defaults as object) ? { norm: 'linf' } : {}) };
      const r = await attack.run(model, samples.images, samples.labels, params);
      let lossF: EvaluationFlag | undefined;
      try {
        lossF = await attackLossFlag(model, attack, { ...(r.params as Record<string, unknown>) }, samples.images, r.adversarial, samples.labels, labels, r.predsBefore, r.predsAfter);
      } finally {
        r.adversarial.dispose();
      }
      for (const f of [...((r as { flags?: EvaluationFlag[] }).flags ?? []), ...(lossF ? [lossF] : [])]) flags.push({ name: f.name, message: `eps ${eps.text}: ${f.message}` });
      if (clean < 0) {
        clean = labels.reduce((s, l, i) => s + (r.predsBefore[i] === l ? 1 : 0), 0);
        const shown = Object.entries(r.params).filter(([k, x]) => x !== undefined && k !== 'eps');
        const card = isOnnxModel(model) ? model.card : cardOf(model);
        const pre = isOnnxModel(model) ? `; preprocessing ${JSON.stringify(model.card.preprocessing)}` : '';
        header = `${card?.name ?? v.model}: ${attack.name} (${shown.map(([k, x]) => `${k} ${typeof x === 'number' ? Number(x.toPrecision(4)) : x}`).join(', ')}), n=${n} (${samples.source})${pre}`;
        rows.push(`| clean | ${pct(clean)} | |`);
      }
      const robust = labels.reduce((s, l, i) => s + (r.predsAfter[i] === l ? 1 : 0), 0);
      const w = wilsonInterval(robust, n);
      points.push({ eps: eps.value, robustAccuracy: robust / n, lower: w.lower, upper: w.upper });
      const stages = (r as Partial<AutoAttackResult>).stages;
      const note = stages ? stages.map((s) => `${s.label} ${s.broken} of ${s.attacked}`).join(', ') : `${((r.queries.gradient + r.queries.forward) / n).toFixed(1)} model calls per image`;
      rows.push(`| eps ${eps.text} (${Number(eps.value.toPrecision(4))}) | ${pct(robust)} | ${note} |`);
    }
    console.log(header);
    console.log(`| accuracy | value | 95% CI | ${attack.name === 'autoattack' ? 'broken by' : 'work'} |\n| --- | --- | --- | --- |`);
    for (const row of rows) console.log(row);
    const notFalling = monotoneFlag(points);
    if (notFalling) flags.push(notFalling);
    if (flags.length) console.log(`\nevaluation flags (${flags.length}):\n${flags.map((f) => `- ${f.name}: ${f.message}`).join('\n')}`);
    return 0;
  } finally {
    samples.dispose();
    model.dispose();
  }
}
