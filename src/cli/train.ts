import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../backend/select.js';
import { cifar10Dataset, locateCifar10 } from '../data/cifar10.js';
import type { ImageDataset } from '../data/dataset.js';
import { ARCHS, buildModel, resolveModelSpec, type Arch } from '../models/build.js';
import type { ModelCard } from '../models/card.js';
import { loadModel, readCard, saveModel } from '../models/io.js';
import { REGULARIZER_NAMES, regularizerSpec, type RegularizerName } from '../models/regularizers.js';
import { checkContinueFrom, continueFrom } from '../train/continueFrom.js';
import { evaluate, train } from '../train/train.js';
import { SCHEDULES, type ScheduleName } from '../train/schedule.js';
import { argError, interruptedMessage } from './args.js';

export const usage = `usage: robustness train --arch ARCH --out DIR [options]

  --arch A          ${ARCHS.join(' | ')}
  --width W         channel multiplier (default 1)
  --depth D         ResNet depth 6n+2 (default 20); MobileNet 512-channel blocks (default 5)
  --reg R           ${REGULARIZER_NAMES.join(' | ')} (default base)
  --factor F        regularizer factor for l1 and l2 (default 0.01, the paper's)
  --l1 F, --l2 F    separate elastic-net factors
  --activity-l1 L   L1 penalty lambda on the activations of --activity-layer (default layer 'hidden')
  --epochs N        (default 20)    --batch N   (default 64)
  --lr X            base learning rate (default 1e-3 for adam, 0.05 for sgd)
  --optimizer O     adam | sgd      --schedule S  ${SCHEDULES.join(' | ')} (default cosine)
  --no-augment      no random shift and flip
  --train-count N   train on a class-stratified subset of N images (default: all but --val)
  --val N           hold out N training images for validation curves (default 5000)
  --seed N          (default 0)
  --data cifar10    (CIFAR10_DIR or the download cache)
  --resume          continue from the epochs saved in --out (the recipe flags default to its card's)
  --from DIR        train the finished model in DIR further, up to --epochs in all, into --out (a new
                    folder; DIR is never modified). Its recipe is the default; a cosine schedule is
                    stretched over the new total, so it restarts at that run's rate for the next epoch
  --out DIR         model folder: model.json, weights.bin, card.json, history.json, updated every epoch

Ctrl-C stops after the current batch and keeps the last completed epoch in --out.`;

/**
 * The CIFAR-10 training split as every training command uses it: `valCount` class-stratified
 * images held out for validation curves (always the same ones, seed 12345), the rest to train on.
 */
export function trainingSplit(valCount: number): { validation: ImageDataset | undefined; rest: ImageDataset } {
  const all = cifar10Dataset('train');
  const order = all.stratifiedIndices({ seed: 12345 });
  return { validation: valCount > 0 ? all.subset(order.subarray(0, valCount)) : undefined, rest: all.subset(order.subarray(valCount)) };
}

/** The recipe flags of `robustness train`, as given (undefined: not given). */
export interface RecipeFlags {
  batch?: number;
  lr?: number;
  seed?: number;
  optimizer?: 'adam' | 'sgd';
  schedule?: ScheduleName;
  noAugment?: boolean;
}

/**
 * The recipe a run trains with: the flags given, then (for a resumed or continued run) the card's
 * recipe, then the defaults. A resumed run that silently took another seed or batch size would make
 * its later epochs a different run from its earlier ones. The card's learning rate is kept only
 * with the card's optimizer: Adam's 1e-3 is no rate for SGD.
 */
export function resolveRecipe(flags: RecipeFlags, card?: ModelCard['training']) {
  const optimizer = flags.optimizer ?? (card?.optimizer as 'adam' | 'sgd' | undefined) ?? 'adam';
  return {
    batchSize: flags.batch ?? card?.batchSize ?? 64,
    learningRate: flags.lr ?? (card && card.optimizer === optimizer ? card.learningRate : undefined),
    seed: flags.seed ?? card?.seed ?? 0,
    optimizer,
    schedule: flags.schedule ?? (card?.schedule as ScheduleName | undefined) ?? 'cosine',
    augment: !(flags.noAugment || card?.augmentation === 'none'),
  };
}

export async function run(args: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args,
      options: {
        arch: { type: 'string' },
        width: { type: 'string' },
        depth: { type: 'string' },
        reg: { type: 'string' },
        factor: { type: 'string' },
        l1: { type: 'string' },
        l2: { type: 'string' },
        'activity-l1': { type: 'string' },
        'activity-layer': { type: 'string' },
        epochs: { type: 'string' },
        batch: { type: 'string' },
        lr: { type: 'string' },
        optimizer: { type: 'string' },
        schedule: { type: 'string' },
        'no-augment': { type: 'boolean' },
        'train-count': { type: 'string' },
        val: { type: 'string' },
        seed: { type: 'string' },
        data: { type: 'string' },
        resume: { type: 'boolean' },
        from: { type: 'string' },
        out: { type: 'string' },
        quiet: { type: 'boolean' },
      },
    }).values;
  } catch (err) {
    throw argError('train', err);
  }
  const num = (name: string, raw: string | undefined, fallback?: number): number | undefined => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${raw}'. See \`robustness train --help\`.`);
    return n;
  };
  if (!v.out) throw new Error('--out is required: the folder the model and its checkpoints go to. See `robustness train --help`.');
  if ((v.data ?? 'cifar10') !== 'cifar10') throw new Error(`--data ${v.data} is not supported; use cifar10 (CIFAR10_DIR points at your copy).`);
  if (v.optimizer && v.optimizer !== 'adam' && v.optimizer !== 'sgd') throw new Error(`--optimizer must be adam or sgd, got '${v.optimizer}'.`);
  if (v.schedule && !SCHEDULES.includes(v.schedule as ScheduleName)) throw new Error(`--schedule must be one of ${SCHEDULES.join(', ')}, got '${v.schedule}'.`);

  if (v.from) {
    const model = (['arch', 'width', 'depth', 'reg', 'factor', 'l1', 'l2', 'activity-l1', 'activity-layer'] as const).filter((k) => v[k] !== undefined);
    if (model.length) throw new Error(`--from continues the model in ${v.from} as it is built; drop ${model.map((k) => `--${k}`).join(', ')}.`);
    if (!v.epochs) throw new Error(`--from needs --epochs: the total number of epochs to train ${v.from} up to.`);
  }
  // Every number is checked before any data or model is touched.
  const epochs = num('epochs', v.epochs, 20)!;
  const valCount = num('val', v.val, 5000)!;
  const trainCount = num('train-count', v['train-count']);
  const resume = Boolean(v.resume || v.from);
  // With --from, --out either is new (made a copy of --from below) or holds an interrupted
  // continuation of it, which --resume goes on with.
  const started = existsSync(join(v.out, 'train-state.json'));
  if (v.from && started) {
    const had = readCard(v.out)?.training.continuedFrom;
    if (!v.resume) throw new Error(`${v.out} already holds a training run; add --resume to go on with it, or choose a new folder.`);
    if (had?.model !== basename(resolve(v.from))) {
      throw new Error(`${v.out} does not continue ${v.from} (its card says ${had ? `it continues ${had.model}` : 'it was trained from scratch'}); drop --from to resume it, or choose another --out.`);
    }
  }
  if (v.from && !started) checkContinueFrom(v.from, v.out, epochs);
  const previous = resume ? readCard(v.from && !started ? v.from : v.out) : undefined;
  const { batchSize, learningRate, seed, optimizer, schedule, augment } = resolveRecipe(
    { batch: num('batch', v.batch), lr: num('lr', v.lr), seed: num('seed', v.seed), optimizer: v.optimizer as 'adam' | 'sgd' | undefined, schedule: v.schedule as ScheduleName | undefined, noAugment: v['no-augment'] },
    previous?.training,
  );
  const backend = await initBackend();
  let existing = previous;
  const spec = existing?.spec ?? resolveModelSpec({
    arch: (v.arch ?? (() => { throw new Error('--arch is required. See `robustness train --help`.'); })()) as Arch,
    width: num('width', v.width),
    depth: num('depth', v.depth),
    regularizer: regularizerSpec((v.reg ?? 'base') as RegularizerName, { factor: num('factor', v.factor), l1: num('l1', v.l1), l2: num('l2', v.l2) }),
    seed,
  });
  const lambda = num('activity-l1', v['activity-l1']);
  const activityL1 = existing?.activityL1 ?? (lambda !== undefined && lambda > 0 ? { layer: v['activity-layer'] ?? 'hidden', lambda } : null);

  const source = locateCifar10();
  const { validation, rest } = trainingSplit(valCount);
  const trainSet = trainCount ? rest.subset(rest.stratifiedIndices({ count: trainCount, seed })) : rest;
  // The copy is made only once the arguments and the data have been found.
  if (v.from && !started) {
    const copy = continueFrom(v.from, v.out, epochs);
    console.error(`${copy.name}: continuing ${v.from} (${copy.training.continuedFrom!.epochs} epochs) up to ${epochs} epochs`);
    existing = copy;
  }

  const model = resume && existing ? await loadModel(v.out) : buildModel(spec);
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
  const card = {
    name: basename(v.out),
    spec,
    output: 'logits' as const,
    activityL1,
    data: { name: 'cifar10', caveat: source.caveat },
    ...(existing?.training.continuedFrom ? { training: { continuedFrom: existing.training.continuedFrom } } : {}),
  };
  try {
    const result = await train(model, trainSet, {
      epochs,
      batchSize,
      optimizer,
      learningRate,
      schedule,
      augment: augment ? { crop: 4, flip: true } : false,
      seed,
      validation,
      activityL1: activityL1 ?? undefined,
      out: v.out,
      resume,
      card,
      signal: controller.signal,
      progress: !v.quiet,
    });
    if (result.interrupted) {
      console.error(interruptedMessage(result.history.length, v.out));
      return 130;
    }
    const test = cifar10Dataset('test');
    const clean = await evaluate(model, test);
    const saved = readCard(v.out)!;
    saved.cleanAccuracy = { value: clean.accuracy, n: test.size };
    // A finished model keeps its history and state but not the optimizer's moments (twice the
    // weights' size): they only matter for resuming, and fixtures have a size budget.
    const keep = Object.fromEntries(['history.json', 'train-state.json'].map((f) => [f, readFileSync(join(v.out!, f))]));
    await saveModel(model, v.out, saved, keep);
    console.log(
      `${basename(v.out)}: ${result.history.length} epochs, clean test accuracy ${(clean.accuracy * 100).toFixed(2)}% on ${test.size} images (${source.caveat}), ${result.imagesPerSecond.toFixed(0)} img/s on ${backend.name}`,
    );
    return 0;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    model.dispose();
  }
}
