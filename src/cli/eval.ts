import { getAttack } from '../attacks/registry.js';
import { initBackend } from '../backend/select.js';
import { cifar10 } from '../data/cifar10.js';
import { cardOf, loadClassifier } from '../models/io.js';
import { isOnnxModel } from '../models/onnx/index.js';
import { wilsonInterval } from '../metrics/bootstrap.js';
import { numberFlag, parseFlags, RULES, UsageError } from './args.js';

export const usage = `usage: robustness eval --model DIR|FILE.onnx [--attack pgd] [--eps 0.031] [--n 500] [--seed 1] [--steps N]

Clean and robust accuracy of a saved model on a class-stratified draw of CIFAR-10 test images,
with 95% Wilson intervals. --attack fgsm|pgd|deepfool|cw; eps is an Linf budget in (0, 1], a
decimal or a fraction such as 8/255. An ONNX file takes its preprocessing from the card file
beside it (model.card.json).`;

export async function run(args: string[]): Promise<number> {
  const v = parseFlags('eval', { args, options: { model: { type: 'string' }, attack: { type: 'string' }, eps: { type: 'string' }, n: { type: 'string' }, seed: { type: 'string' }, steps: { type: 'string' } } }).values;
  if (!v.model) throw new UsageError('--model is required: a folder with model.json, or an .onnx file. See `robustness eval --help`.');
  const eps = numberFlag('eval', 'eps', v.eps, { min: 0, minExclusive: true, max: 1, fraction: true }) ?? 8 / 255;
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
    const params: Record<string, unknown> = { eps, seed, ...(steps !== undefined ? { steps } : {}), ...('norm' in (attack.defaults as object) ? { norm: 'linf' } : {}) };
    const r = await attack.run(model, samples.images, samples.labels, params);
    r.adversarial.dispose();
    const labels = (await samples.labels.data()) as Int32Array;
    const clean = labels.reduce((s, l, i) => s + (r.predsBefore[i] === l ? 1 : 0), 0);
    const robust = labels.reduce((s, l, i) => s + (r.predsAfter[i] === l ? 1 : 0), 0);
    const row = (name: string, k: number) => {
      const ci = wilsonInterval(k, n);
      return `| ${name} | ${((100 * k) / n).toFixed(2)}% | ${(100 * ci.lower).toFixed(1)}–${(100 * ci.upper).toFixed(1)}% |`;
    };
    const card = isOnnxModel(model) ? model.card : cardOf(model);
    const pre = isOnnxModel(model) ? `; preprocessing ${JSON.stringify(model.card.preprocessing)}` : '';
    console.log(`${card?.name ?? v.model}: ${attack.name} (${Object.entries(r.params).filter(([, x]) => x !== undefined).map(([k, x]) => `${k} ${typeof x === 'number' ? Number(x.toPrecision(4)) : x}`).join(', ')}), n=${n} (${samples.source})${pre}`);
    console.log('| accuracy | value | 95% CI |\n| --- | --- | --- |');
    console.log(row('clean', clean));
    console.log(row(`under ${attack.name}`, robust));
    return 0;
  } finally {
    samples.dispose();
    model.dispose();
  }
}
