import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { adversarialTraining, checkOutFolder, cifar10Dataset, evaluate, initBackend, interruptedMessage, loadModel, locateCifar10, numberFlag, parseFlags, readCard, RULES, sameAsCard, saveModel, trainingStatus, UsageError } from 'vitest-robustness';
import type { ModelCard } from 'vitest-robustness';
import { PAPER_ATTACKS } from '../constants.js';
import { run as runOnTheFly, usage as onTheFlyUsage } from './advtrainOnline.js';
import { trainingSplit } from './train.js';
import { stopOnSignals } from './stopOnSignals.js';

const NAMES = Object.keys(PAPER_ATTACKS) as (keyof typeof PAPER_ATTACKS)[];
const describeAttack = (n: keyof typeof PAPER_ATTACKS) =>
  `${n} ${Object.entries(PAPER_ATTACKS[n].params ?? {})
    .map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : v}`)
    .join(' ')}`;

export const usage = `usage: npm run workbench -- adv-train --from DIR --out DIR [options]

Adversarial training as in the paper's section 4.2: attack --count training images with each
attack, using the trained model in --from, then retrain a copy of it on those adversarial images
plus --clean clean ones. --from is never modified.

  --from DIR        the trained model to start from (a npm run workbench -- train folder)
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

  --method paper    this recipe (the default); --method fgsm-rs|pgd trains on adversarial images
                    made on the fly from every batch instead (options below)

Ctrl-C stops after the current batch and keeps the last completed epoch in --out.

${onTheFlyUsage}`;

/** The value of --method in the arguments, if given. */
function methodFlag(args: string[]): string | undefined {
  const i = args.findIndex((a) => a === '--method' || a.startsWith('--method='));
  return i < 0 ? undefined : args[i]!.startsWith('--method=') ? args[i]!.slice('--method='.length) : args[i + 1];
}

export async function run(args: string[]): Promise<number> {
  const method = methodFlag(args);
  if (method !== undefined && method !== 'paper') return runOnTheFly(args);
  const v = parseFlags('npm run workbench -- adv-train', {
    args,
    options: {
      method: { type: 'string' },
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
  const num = (name: keyof typeof v, rule: Parameters<typeof numberFlag>[3]) => numberFlag('npm run workbench -- adv-train', name, v[name] as string | undefined, rule);
  if (!v.from) throw new UsageError('--from is required: the trained model folder to start from. See `npm run workbench -- adv-train --help`.');
  if (!v.out) throw new UsageError('--out is required: the folder the adversarially trained model goes to. See `npm run workbench -- adv-train --help`.');
  if (resolve(v.from) === resolve(v.out)) throw new UsageError('--out must differ from --from: adversarial training writes a new model and leaves the original as it is.');
  const flagNames = v.attacks === undefined ? undefined : v.attacks.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of flagNames ?? []) {
    if (!NAMES.includes(n as keyof typeof PAPER_ATTACKS)) throw new UsageError(`--attacks: unknown attack '${n}'; use a comma-separated list from ${NAMES.join(', ')}.`);
  }
  if (flagNames?.length === 0) throw new UsageError(`--attacks is empty; use a comma-separated list from ${NAMES.join(', ')}.`);
  // Every number is checked before any data or model is touched.
  const flags = {
    count: num('count', RULES.count),
    clean: num('clean', RULES.countOrZero),
    epochs: num('epochs', RULES.count),
    batch: num('batch', RULES.count),
    lr: num('lr', RULES.positive),
    val: num('val', RULES.countOrZero),
    seed: num('seed', RULES.seed),
  };
  const source = trainingStatus(v.from);
  const sourceCard = source.card;
  if (!sourceCard) throw new Error(`${v.from} holds no card.json: --from must be a model folder written by \`npm run workbench -- train\`.`);
  // Adversarial images made from a half-trained model would train its copy on another model's
  // weaknesses than the finished one's.
  if (!source.finished) throw new Error(`${v.from} ${source.why}: finish it with npm run workbench -- train --resume --out ${v.from}, then train from it.`);
  const resuming = checkOutFolder('adv-train', v.out, Boolean(v.resume));
  // A resumed run makes the same adversarial images and trains as before: the card's recipe, and
  // a flag that would change the images is refused.
  const previous = resuming ? readCard(v.out) : undefined;
  const adv = previous?.training.adversarial as { from?: string; attacks?: { attack: string }[]; attackedImages?: number; cleanImages?: number; seed?: number } | undefined;
  if (resuming && (!previous || !adv)) throw new UsageError(`--resume: ${v.out} holds a run that npm run workbench -- adv-train did not make (no adversarial recipe on its card); resume it with npm run workbench -- train --resume, or choose another --out.`);
  if (adv && adv.from !== basename(resolve(v.from))) {
    throw new UsageError(`--resume: ${v.out} was trained from ${adv.from}, not from ${v.from}; give --from ${adv.from}'s folder, or choose another --out.`);
  }
  const keep = <T>(flag: string, given: T | undefined, onCard: T | undefined, fallback: T): T => (onCard === undefined ? (given ?? fallback) : sameAsCard('adv-train', flag, given, onCard, v.out!));
  const names = keep('attacks', flagNames, adv?.attacks?.map((a) => a.attack), NAMES as string[]);
  const count = keep('count', flags.count, adv?.attackedImages, 1000);
  const clean = keep('clean', flags.clean, adv?.cleanImages, 9000);
  const seed = keep('seed', flags.seed, adv?.seed, 1);
  const valCount = keep('val', flags.val, previous?.training.validationImages, 5000);
  const epochs = flags.epochs ?? 2;
  const batchSize = flags.batch ?? previous?.training.batchSize ?? 64;
  const learningRate = flags.lr ?? previous?.training.learningRate ?? 3e-4;

  const backend = await initBackend();
  const data = locateCifar10();
  const { validation, rest } = trainingSplit(valCount);
  const sourceModel = await loadModel(v.from);
  const model = resuming ? await loadModel(v.out) : await loadModel(v.from);
  const stopper = stopOnSignals(v.out);
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
      signal: stopper.signal,
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
    stopper.release();
    model.dispose();
    sourceModel.dispose();
  }
}
