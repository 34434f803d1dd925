import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { checkOutFolder, cifar10Dataset, evaluate, initBackend, interruptedMessage, loadModel, locateCifar10, numberFlag, ON_THE_FLY_METHODS, onTheFlyAdversarialTraining, parseFlags, readCard, resolveOnTheFlyAttack, RULES, sameAsCard, saveModel, SCHEDULES, trainingStatus, UsageError } from 'vitest-robustness';
import type { ModelCard, OnTheFlyMethod, ScheduleName } from 'vitest-robustness';
import { trainingSplit } from './train.js';
import { stopOnSignals } from './stopOnSignals.js';

export const usage = `usage: npm run workbench -- adv-train --method fgsm-rs|pgd --from DIR --out DIR [options]

Adversarial training on the fly: every training batch (after shift/flip augmentation) is attacked
from the model as it is at that step, and the step is taken on the attacked batch. A copy of the
trained model in --from is fine-tuned; --from is never modified.
  fgsm-rs  FGSM from a uniform random start in the eps-ball (Wong, Rice & Kolter 2020)
  pgd      --steps steps of --step-size from a random start, projected (Madry et al. 2018)

  --from DIR            the trained model to start from (a npm run workbench -- train folder)
  --out DIR             the adversarially trained model; a checkpoint after every epoch
  --eps X               Linf budget, decimal or fraction (default 8/255)
  --step-size X         (default 1.25 eps for fgsm-rs, eps/4 for pgd)
  --steps N             pgd only (default 7)
  --clean-fraction X    share of each batch trained on clean images, in [0, 1) (default 0)
  --images N            training images used (class-stratified, default all but --val)
  --epochs N            (default 1)      --batch N     (default 64)
  --optimizer adam|sgd  (default adam)   --lr X        (default 1e-3 adam, 0.05 sgd)
  --schedule ${SCHEDULES.join('|')}  (default cosine)
  --val N               validation images held out, as in train (default 5000)
  --seed N              picks the images, seeds shuffles, augmentation and random starts (default 1)
  --resume              continue from the last epoch saved in --out

Ctrl-C stops after the current batch and keeps the last completed epoch in --out.`;

interface Recipe {
  from: string;
  method: OnTheFlyMethod;
  eps: number;
  stepSize: number;
  steps: number;
  cleanFraction: number;
  images: number;
  seed: number;
}

export async function run(args: string[]): Promise<number> {
  const v = parseFlags('npm run workbench -- adv-train', {
    args,
    options: {
      method: { type: 'string' },
      from: { type: 'string' },
      out: { type: 'string' },
      eps: { type: 'string' },
      'step-size': { type: 'string' },
      steps: { type: 'string' },
      'clean-fraction': { type: 'string' },
      images: { type: 'string' },
      epochs: { type: 'string' },
      batch: { type: 'string' },
      optimizer: { type: 'string' },
      lr: { type: 'string' },
      schedule: { type: 'string' },
      val: { type: 'string' },
      seed: { type: 'string' },
      resume: { type: 'boolean' },
      quiet: { type: 'boolean' },
    },
  }).values;
  const num = (name: keyof typeof v, rule: Parameters<typeof numberFlag>[3]) => numberFlag('npm run workbench -- adv-train', name, v[name] as string | undefined, rule);
  const method = v.method as OnTheFlyMethod;
  if (!ON_THE_FLY_METHODS.includes(method)) throw new UsageError(`--method must be paper, ${ON_THE_FLY_METHODS.join(' or ')}; got '${String(v.method)}'.`);
  if (!v.from) throw new UsageError('--from is required: the trained model folder to start from. See `npm run workbench -- adv-train --help`.');
  if (!v.out) throw new UsageError('--out is required: the folder the adversarially trained model goes to. See `npm run workbench -- adv-train --help`.');
  if (resolve(v.from) === resolve(v.out)) throw new UsageError('--out must differ from --from: adversarial training writes a new model and leaves the original as it is.');
  if (v.optimizer !== undefined && v.optimizer !== 'adam' && v.optimizer !== 'sgd') throw new UsageError(`--optimizer must be adam or sgd; got '${v.optimizer}'.`);
  if (v.schedule !== undefined && !SCHEDULES.includes(v.schedule as ScheduleName)) throw new UsageError(`--schedule must be one of ${SCHEDULES.join(', ')}; got '${v.schedule}'.`);
  const flags = {
    eps: num('eps', { min: 0, minExclusive: true, max: 1, fraction: true }),
    stepSize: num('step-size', { min: 0, minExclusive: true, max: 1, fraction: true }),
    steps: num('steps', RULES.count),
    cleanFraction: num('clean-fraction', { min: 0, max: 1 }),
    images: num('images', RULES.count),
    epochs: num('epochs', RULES.count),
    batch: num('batch', RULES.count),
    lr: num('lr', RULES.positive),
    val: num('val', RULES.countOrZero),
    seed: num('seed', RULES.seed),
  };
  if (flags.steps !== undefined && method === 'fgsm-rs') throw new UsageError('--steps applies to --method pgd; fgsm-rs takes one step.');
  if (flags.cleanFraction === 1) throw new UsageError('--clean-fraction 1 trains on clean images only; give a share below 1 (or use npm run workbench -- train).');
  let attack;
  try {
    attack = resolveOnTheFlyAttack({ method, eps: flags.eps ?? 8 / 255, stepSize: flags.stepSize, steps: flags.steps, cleanFraction: flags.cleanFraction });
  } catch (err) {
    throw new UsageError(`adv-train: ${(err as Error).message}`);
  }
  const source = trainingStatus(v.from);
  const sourceCard = source.card;
  if (!sourceCard) throw new Error(`${v.from} holds no card.json: --from must be a model folder written by \`npm run workbench -- train\`.`);
  if (!source.finished) throw new Error(`${v.from} ${source.why}: finish it with npm run workbench -- train --resume --out ${v.from}, then train from it.`);
  const resuming = checkOutFolder('adv-train', v.out, Boolean(v.resume));
  const previous = resuming ? readCard(v.out) : undefined;
  const onCard = previous?.training.adversarial as Partial<Recipe> | undefined;
  if (resuming && (!previous || !onCard?.method)) {
    throw new UsageError(`--resume: ${v.out} holds no on-the-fly adversarial training run (no method on its card's adversarial recipe); resume it with the command that made it, or choose another --out.`);
  }
  // A resumed run keeps everything that decides what it trains on.
  const keep = <T>(flag: string, given: T | undefined, saved: T | undefined, fallback: T): T => (saved === undefined ? (given ?? fallback) : sameAsCard('adv-train', flag, given, saved, v.out!));
  keep('from', basename(resolve(v.from)), onCard?.from, basename(resolve(v.from)));
  keep('method', method, onCard?.method, method);
  const eps = keep('eps', flags.eps, onCard?.eps, attack.eps);
  const stepSize = keep('step-size', flags.stepSize, onCard?.stepSize, attack.stepSize);
  const steps = keep('steps', flags.steps, onCard?.steps, attack.steps);
  const cleanFraction = keep('clean-fraction', flags.cleanFraction, onCard?.cleanFraction, attack.cleanFraction);
  const seed = keep('seed', flags.seed, onCard?.seed, 1);
  const valCount = keep('val', flags.val, previous?.training.validationImages, 5000);
  const epochs = flags.epochs ?? 1;
  const batchSize = keep('batch', flags.batch, previous?.training.batchSize, 64);
  const optimizer = keep('optimizer', v.optimizer as 'adam' | 'sgd' | undefined, previous?.training.optimizer as 'adam' | 'sgd' | undefined, 'adam');
  const learningRate = keep('lr', flags.lr, previous?.training.learningRate, optimizer === 'adam' ? 1e-3 : 0.05);
  const schedule = keep('schedule', v.schedule as ScheduleName | undefined, previous?.training.schedule as ScheduleName | undefined, 'cosine');

  const backend = await initBackend();
  const data = locateCifar10();
  const { validation, rest } = trainingSplit(valCount);
  const images = keep('images', flags.images, (onCard as { images?: number } | undefined)?.images, rest.size);
  if (images > rest.size) throw new UsageError(`--images ${images} exceeds the ${rest.size} training images left after --val ${valCount}.`);
  const trainSet = images === rest.size ? rest : rest.subset(rest.stratifiedIndices({ count: images, seed }));
  const model = await loadModel(resuming ? v.out : v.from);
  const stopper = stopOnSignals(v.out);
  const card: Omit<ModelCard, 'training' | 'createdAt' | 'parameters'> & { training: Partial<ModelCard['training']> } = {
    name: basename(v.out),
    spec: sourceCard.spec,
    output: sourceCard.output,
    activityL1: sourceCard.activityL1 ?? null,
    data: { name: 'cifar10', caveat: data.caveat },
    training: { adversarial: { from: basename(resolve(v.from)), fromCleanAccuracy: sourceCard.cleanAccuracy ?? null, images } },
  };
  try {
    const result = await onTheFlyAdversarialTraining(model, trainSet, {
      attack: { method, eps, stepSize, steps, cleanFraction },
      epochs,
      batchSize,
      learningRate,
      optimizer,
      schedule,
      seed,
      validation,
      out: v.out,
      resume: resuming,
      card,
      signal: stopper.signal,
      progress: !v.quiet,
    });
    if (result.interrupted) {
      console.error(interruptedMessage(result.history.length, v.out));
      return 130;
    }
    const test = cifar10Dataset('test');
    const acc = await evaluate(model, test);
    const saved = readCard(v.out)!;
    saved.cleanAccuracy = { value: acc.accuracy, n: test.size };
    // Finished: the optimizer state goes (a finished model is one without it).
    const kept = Object.fromEntries(['history.json', 'train-state.json'].map((f) => [f, readFileSync(join(v.out!, f))]));
    await saveModel(model, v.out, saved, kept);
    console.log(
      `${basename(v.out)}: ${method} adversarially trained from ${basename(v.from)} (eps ${eps.toFixed(5)}, ${trainSet.size} images, ${result.history.length} epochs), clean test accuracy ${(acc.accuracy * 100).toFixed(2)}% on ${test.size} images (${data.caveat}), ${result.imagesPerSecond.toFixed(1)} img/s on ${backend.name}`,
    );
    return 0;
  } finally {
    stopper.release();
    model.dispose();
  }
}
