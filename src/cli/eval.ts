import { parseArgs } from 'node:util';
import { getAttack } from '../attacks/registry.js';
import { initBackend } from '../backend/select.js';
import { cifar10 } from '../data/cifar10.js';
import { cardOf, loadModel } from '../models/io.js';
import { wilsonInterval } from '../metrics/bootstrap.js';
import { argError } from './args.js';

export const usage = `usage: robustness eval --model DIR [--attack pgd] [--eps 0.031] [--n 500] [--seed 1] [--steps N]

Clean and robust accuracy of a saved model on a class-stratified draw of CIFAR-10 test images,
with 95% Wilson intervals. --attack fgsm|pgd|deepfool|cw; eps is an Linf budget.`;

export async function run(args: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({ args, options: { model: { type: 'string' }, attack: { type: 'string' }, eps: { type: 'string' }, n: { type: 'string' }, seed: { type: 'string' }, steps: { type: 'string' } } }).values;
  } catch (err) {
    throw argError('eval', err);
  }
  if (!v.model) throw new Error('--model is required: a folder with model.json. See `robustness eval --help`.');
  const eps = Number(v.eps ?? 8 / 255);
  const n = Number(v.n ?? 500);
  const seed = Number(v.seed ?? 1);
  if (!(eps > 0 && eps <= 1)) throw new Error(`--eps must be in (0, 1]; got ${v.eps}.`);
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`--n must be a positive integer; got ${v.n}.`);
  const attack = getAttack(v.attack ?? 'pgd');
  await initBackend();
  const model = await loadModel(v.model);
  const samples = await cifar10.test({ count: n, seed });
  try {
    const params: Record<string, unknown> = { eps, seed, ...(v.steps ? { steps: Number(v.steps) } : {}), ...('norm' in (attack.defaults as object) ? { norm: 'linf' } : {}) };
    const r = await attack.run(model, samples.images, samples.labels, params);
    r.adversarial.dispose();
    const labels = (await samples.labels.data()) as Int32Array;
    const clean = labels.reduce((s, l, i) => s + (r.predsBefore[i] === l ? 1 : 0), 0);
    const robust = labels.reduce((s, l, i) => s + (r.predsAfter[i] === l ? 1 : 0), 0);
    const row = (name: string, k: number) => {
      const ci = wilsonInterval(k, n);
      return `| ${name} | ${((100 * k) / n).toFixed(2)}% | ${(100 * ci.lower).toFixed(1)}–${(100 * ci.upper).toFixed(1)}% |`;
    };
    const card = cardOf(model);
    console.log(`${card?.name ?? v.model}: ${attack.name} (${Object.entries(r.params).filter(([, x]) => x !== undefined).map(([k, x]) => `${k} ${typeof x === 'number' ? Number(x.toPrecision(4)) : x}`).join(', ')}), n=${n} (${samples.source})`);
    console.log('| accuracy | value | 95% CI |\n| --- | --- | --- |');
    console.log(row('clean', clean));
    console.log(row(`under ${attack.name}`, robust));
    return 0;
  } finally {
    samples.dispose();
    model.dispose();
  }
}
