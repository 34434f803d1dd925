import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../backend/select.js';
import { cifar10Dataset, locateCifar10 } from '../data/cifar10.js';
import type { ModelCard } from '../models/card.js';
import { loadModel, readCard, saveModel } from '../models/io.js';
import { adversarialTraining, PAPER_ATTACKS } from '../train/adversarial.js';
import { evaluate } from '../train/train.js';
import { argError, interruptedMessage } from './args.js';
import { trainingSplit } from './train.js';

const NAMES = Object.keys(PAPER_ATTACKS) as (keyof typeof PAPER_ATTACKS)[];
const describeAttack = (n: keyof typeof PAPER_ATTACKS) =>
  `${n} ${Object.entries(PAPER_ATTACKS[n].params ?? {})
    .map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v}`)
    .join(' ')}`;

export const usage = `usage: robustness adv-train --from DIR --out DIR [options]

Adversarial training as in the paper's section 4.2: attack --count training images with each
attack, using the trained model in --from, then retrain a copy of it on those adversarial images
plus --clean clean ones. --from is never modified.

  --from DIR        the trained model to start from (a robustness train folder)
  --out DIR         the adversarially trained model: model.json, weights.bin, card.json, history.json
  --attacks LIST    comma-separated, from ${NAMES.join(', ')} (default all), with this project's
                    Table 1 settings:
                      ${NAMES.map(describeAttack).join('\n                      ')}
  --count N         training images attacked by every attack (default 1000)
  --clean N         clean training images retrained on beside them (default 9000)
  --epochs N        (default 2)    --batch N   (default 64)    --lr X   Adam rate (default 3e-4, cosine)
  --val N           validation images held out, as in train (default 5000; never attacked or trained on)
  --seed N          picks the attacked and the clean images, seeds random starts and shuffles (default 1)
  --resume          continue from the epochs saved in --out (the adversarial images are made again
                    from --from, identically)

Ctrl-C stops after the current batch and keeps the last completed epoch in --out.`;

export async function run(args: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args,
      options: {
        from: { type: 'string' },
        out: { type: 'string' },
        attacks: { type: 'string' },
        count: { type: 'string' },
        clean: { type: 'string' },
        epochs: { type: 'string' },
        batch: { type: 'string' },
        lr: { type: 'string' },
        val: { type: 'string' },
        seed: { type: 'string' },
        resume: { type: 'boolean' },
        quiet: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    throw argError('adv-train', err);
  }
  const num = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${raw}'. See \`robustness adv-train --help\`.`);
    return n;
  };
  if (!v.from) throw new Error('--from is required: the trained model folder to start from. See `robustness adv-train --help`.');
  if (!v.out) throw new Error('--out is required: the folder the adversarially trained model goes to. See `robustness adv-train --help`.');
  if (resolve(v.from) === resolve(v.out)) throw new Error('--out must differ from --from: adversarial training writes a new model and leaves the original as it is.');
  const sourceCard = readCard(v.from);
  if (!sourceCard) throw new Error(`${v.from} holds no card.json: --from must be a model folder written by \`robustness train\`.`);
  const names = (v.attacks ?? NAMES.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!NAMES.includes(n as keyof typeof PAPER_ATTACKS)) throw new Error(`--attacks: unknown attack '${n}'; use a comma-separated list from ${NAMES.join(', ')}.`);
  }
  if (names.length === 0) throw new Error(`--attacks is empty; use a comma-separated list from ${NAMES.join(', ')}.`);
  const count = num('count', v.count, 1000);
  const clean = num('clean', v.clean, 9000);
  const epochs = num('epochs', v.epochs, 2);
  const batchSize = num('batch', v.batch, 64);
  const learningRate = num('lr', v.lr, 3e-4);
  const valCount = num('val', v.val, 5000);
  const seed = num('seed', v.seed, 1);
  const resuming = Boolean(v.resume && existsSync(join(v.out, 'train-state.json')));

  const backend = await initBackend();
  const data = locateCifar10();
  const { validation, rest } = trainingSplit(valCount);
  const sourceModel = await loadModel(v.from);
  const model = resuming ? await loadModel(v.out) : await loadModel(v.from);
  const controller = new AbortController();
  const stop = (sig: string) => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${sig}: stopping after this batch; the last completed epoch stays in ${v.out}. Press again to quit at once.\n`);
    controller.abort();
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const card: Omit<ModelCard, 'training' | 'createdAt' | 'parameters'> & { training: Partial<ModelCard['training']> } = {
    name: basename(v.out),
    spec: sourceCard.spec,
    output: sourceCard.output,
    activityL1: sourceCard.activityL1 ?? null,
    data: { name: 'cifar10', caveat: data.caveat },
    training: { adversarial: { from: basename(v.from), fromCleanAccuracy: sourceCard.cleanAccuracy ?? null } },
  };
  try {
    const result = await adversarialTraining(model, rest, {
      attacks: names.map((n) => PAPER_ATTACKS[n as keyof typeof PAPER_ATTACKS]),
      count,
      clean,
      source: sourceModel,
      epochs,
      batchSize,
      learningRate,
      optimizer: 'adam',
      schedule: 'cosine',
      seed,
      validation,
      out: v.out,
      resume: resuming,
      card,
      signal: controller.signal,
      progress: !v.quiet,
    });
    for (const s of result.adversarial) {
      console.log(`${s.attack}: fooled ${(100 * s.successRate).toFixed(1)}% of ${s.images} training images, mean L2 ${s.meanL2.toFixed(3)}, Linf ${s.meanLinf.toFixed(4)}, ${s.seconds.toFixed(0)} s`);
    }
    if (result.interrupted) {
      console.error(interruptedMessage(result.history.length, v.out));
      return 130;
    }
    const test = cifar10Dataset('test');
    const acc = await evaluate(model, test);
    const saved = readCard(v.out)!;
    saved.cleanAccuracy = { value: acc.accuracy, n: test.size };
    const keep = Object.fromEntries(['history.json', 'train-state.json'].map((f) => [f, readFileSync(join(v.out!, f))]));
    await saveModel(model, v.out, saved, keep);
    console.log(
      `${basename(v.out)}: adversarially trained from ${basename(v.from)} (${result.trainImages} images, ${result.history.length} epochs), clean test accuracy ${(acc.accuracy * 100).toFixed(2)}% on ${test.size} images (${data.caveat}), ${result.imagesPerSecond.toFixed(0)} img/s on ${backend.name}`,
    );
    return 0;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    model.dispose();
    sourceModel.dispose();
  }
}
