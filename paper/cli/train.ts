import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ARCHS, buildModel, checkContinueFrom, checkOutFolder, cifar10Dataset, continueFrom, evaluate, initBackend, interruptedMessage, loadModel, locateCifar10, numberFlag, parseFlags, readCard, recoverModelDir, REGULARIZER_NAMES, regularizerSpec, resolveModelSpec, RULES, sameAsCard, saveModel, SCHEDULES, train, UsageError } from 'vitest-robustness';
import type { Arch, ImageDataset, ModelCard, RegularizerName, ScheduleName } from 'vitest-robustness';
import { CNN1_HIDDEN, PAPER_FACTOR } from '../constants.js';
import { stopOnSignals } from './stopOnSignals.js';

export const usage = `usage: npm run workbench -- train --arch ARCH --out DIR [options]

  --arch A          ${ARCHS.join(' | ')}
  --width W         channel multiplier (default 1)
  --depth D         ResNet depth 6n+2 (default 20); MobileNet 512-channel blocks (default 5)
  --reg R           ${REGULARIZER_NAMES.join(' | ')} (default base)
  --factor F        regularizer factor for l1 and l2 (default 0.01, the paper's)
  --l1 F, --l2 F    separate elastic-net factors
  --activity-l1 L   L1 penalty lambda on the activations of --activity-layer (default layer '${CNN1_HIDDEN}', cnn1's)
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
  --workers N       data-parallel training on N worker threads (default 0: one thread; train's
                    \`workers\`); a model with batch norm also needs --bn-per-worker (each thread
                    normalizes by its own share's statistics)

Ctrl-C stops after the current batch and keeps the last completed epoch in --out.`;

/**
 * The CIFAR-10 training split as every training command uses it: `valCount` class-stratified
 * images held out for validation curves (always the same ones, seed 12345), the rest to train on.
 */
export function trainingSplit(valCount: number): { validation: ImageDataset | undefined; rest: ImageDataset } {
  const all = cifar10Dataset('train');
  if (valCount >= all.size) throw new UsageError(`--val ${valCount} holds out every one of the ${all.size} training images, leaving none to train on; use fewer (default 5000).`);
  const order = all.stratifiedIndices({ seed: 12345 });
  return { validation: valCount > 0 ? all.subset(order.subarray(0, valCount)) : undefined, rest: all.subset(order.subarray(valCount)) };
}

/** The recipe flags of `npm run workbench -- train`, as given (undefined: not given). */
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
  const v = parseFlags('npm run workbench -- train', {
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
      workers: { type: 'string' },
      'bn-per-worker': { type: 'boolean' },
    },
  }).values;
  const num = (name: keyof typeof v, rule: Parameters<typeof numberFlag>[3]) => numberFlag('npm run workbench -- train', name, v[name] as string | undefined, rule);
  if (!v.out) throw new UsageError('--out is required: the folder the model and its checkpoints go to. See `npm run workbench -- train --help`.');
  if ((v.data ?? 'cifar10') !== 'cifar10') throw new UsageError(`--data ${v.data} is not supported; use cifar10 (CIFAR10_DIR points at your copy).`);
  if (v.optimizer && v.optimizer !== 'adam' && v.optimizer !== 'sgd') throw new UsageError(`--optimizer must be adam or sgd, got '${v.optimizer}'.`);
  if (v.schedule && !SCHEDULES.includes(v.schedule as ScheduleName)) throw new UsageError(`--schedule must be one of ${SCHEDULES.join(', ')}, got '${v.schedule}'.`);
  if (v.arch !== undefined && !ARCHS.includes(v.arch as Arch)) throw new UsageError(`--arch must be one of ${ARCHS.join(', ')}, got '${v.arch}'.`);
  if (v.reg !== undefined && !REGULARIZER_NAMES.includes(v.reg as RegularizerName)) throw new UsageError(`--reg must be one of ${REGULARIZER_NAMES.join(', ')}, got '${v.reg}'.`);

  if (!v.arch && !v.from && !v.resume) throw new UsageError('--arch is required. See `npm run workbench -- train --help`.');
  if (v.from) {
    const model = (['arch', 'width', 'depth', 'reg', 'factor', 'l1', 'l2', 'activity-l1', 'activity-layer'] as const).filter((k) => v[k] !== undefined);
    if (model.length) throw new UsageError(`--from continues the model in ${v.from} as it is built; drop ${model.map((k) => `--${k}`).join(', ')}.`);
    if (!v.epochs) throw new UsageError(`--from needs --epochs: the total number of epochs to train ${v.from} up to.`);
  }
  // Every number is checked before any data or model is touched.
  const epochs = num('epochs', RULES.count) ?? 20;
  const workers = num('workers', RULES.countOrZero) ?? 0;
  const valFlag = num('val', RULES.countOrZero);
  const trainCountFlag = num('train-count', RULES.count);
  const recipeFlags = { batch: num('batch', RULES.count), lr: num('lr', RULES.positive), seed: num('seed', RULES.seed), optimizer: v.optimizer as 'adam' | 'sgd' | undefined, schedule: v.schedule as ScheduleName | undefined, noAugment: v['no-augment'] };
  const width = num('width', RULES.positive);
  const depth = num('depth', RULES.count);
  const factors = { factor: num('factor', RULES.nonNegative), l1: num('l1', RULES.nonNegative), l2: num('l2', RULES.nonNegative) };
  const lambda = num('activity-l1', RULES.nonNegative);
  const resume = Boolean(v.resume || v.from);
  // With --from, --out either is new (made a copy of --from below) or holds an interrupted
  // continuation of it, which --resume goes on with. Without, a fresh run needs a new or empty
  // folder and --resume needs a run there.
  let started: boolean;
  if (v.from) {
    recoverModelDir(v.out);
    started = existsSync(join(v.out, 'train-state.json'));
    if (started) {
      const had = readCard(v.out)?.training.continuedFrom;
      if (!v.resume) throw new UsageError(`${v.out} already holds a training run; add --resume to go on with it, or choose a new folder.`);
      if (had?.model !== basename(resolve(v.from))) {
        throw new UsageError(`${v.out} does not continue ${v.from} (its card says ${had ? `it continues ${had.model}` : 'it was trained from scratch'}); drop --from to resume it, or choose another --out.`);
      }
    } else checkContinueFrom(v.from, v.out, epochs);
  } else started = checkOutFolder('train', v.out, Boolean(v.resume));
  const previous = resume ? readCard(v.from && !started ? v.from : v.out) : undefined;
  if (previous?.training.adversarial) {
    throw new UsageError(`${v.from ?? v.out} was made by npm run workbench -- adv-train; ${v.from ? 'continue it with adv-train' : `resume it with npm run workbench -- adv-train --resume --out ${v.out}`}.`);
  }
  if (previous && !v.from) {
    // A resumed run continues the model as built: a flag may repeat the card, not change it.
    const spec = previous.spec;
    sameAsCard('train', 'arch', v.arch, spec.arch, v.out);
    sameAsCard('train', 'width', width, spec.width, v.out);
    if (depth !== undefined) sameAsCard('train', 'depth', depth, spec.depth, v.out);
    sameAsCard('train', 'reg', v.reg, spec.regularizer.name, v.out);
    if (factors.factor !== undefined || factors.l1 !== undefined || factors.l2 !== undefined) {
      const r = regularizerSpec(spec.regularizer.name as RegularizerName, factors);
      sameAsCard('train', 'factor/--l1/--l2', { l1: r.l1, l2: r.l2 }, { l1: spec.regularizer.l1, l2: spec.regularizer.l2 }, v.out, (x) => `(l1 ${x.l1}, l2 ${x.l2})`);
    }
    if (lambda !== undefined) sameAsCard('train', 'activity-l1', lambda, previous.activityL1?.lambda ?? 0, v.out);
    if (v['activity-layer'] !== undefined) sameAsCard('train', 'activity-layer', v['activity-layer'], previous.activityL1?.layer, v.out);
  }
  // The images a resumed or continued run trains on are the card's: the same held-out count and
  // the same training subset (picked by the seed), so its later epochs see the same data.
  const onCard = previous?.training;
  const valCount = onCard?.validationImages !== undefined ? sameAsCard('train', 'val', valFlag, onCard.validationImages, v.from ?? v.out) : (valFlag ?? 5000);
  const { batchSize, learningRate, seed, optimizer, schedule, augment } = resolveRecipe(recipeFlags, onCard);
  const backend = await initBackend();
  let existing = previous;
  const spec = existing?.spec ?? resolveModelSpec({
    arch: (v.arch ?? (() => { throw new UsageError('--arch is required. See `npm run workbench -- train --help`.'); })()) as Arch,
    width,
    depth,
    regularizer: regularizerSpec((v.reg ?? 'base') as RegularizerName, { ...factors, factor: factors.factor ?? PAPER_FACTOR }),
    seed,
  });
  const activityL1 = existing?.activityL1 ?? (lambda !== undefined && lambda > 0 ? { layer: v['activity-layer'] ?? CNN1_HIDDEN, lambda } : null);

  const source = locateCifar10();
  const { validation, rest } = trainingSplit(valCount);
  let trainCount = trainCountFlag;
  if (onCard?.trainImages !== undefined) {
    sameAsCard('train', 'train-count', trainCountFlag, onCard.trainImages, v.from ?? v.out);
    trainCount = onCard.trainImages === rest.size ? undefined : onCard.trainImages;
    // The seed picks the subset: another one would train on other images.
    if (trainCount !== undefined) sameAsCard('train', 'seed', recipeFlags.seed, onCard.seed, v.from ?? v.out);
  }
  if (trainCount !== undefined && trainCount > rest.size) {
    throw new UsageError(`--train-count ${trainCount} exceeds the ${rest.size} training images left after holding out --val ${valCount}; use at most ${rest.size}.`);
  }
  const trainSet = trainCount !== undefined ? rest.subset(rest.stratifiedIndices({ count: trainCount, seed })) : rest;
  // The copy is made only once the arguments and the data have been found.
  if (v.from && !started) {
    const copy = continueFrom(v.from, v.out, epochs);
    console.error(`${copy.name}: continuing ${v.from} (${copy.training.continuedFrom!.epochs} epochs) up to ${epochs} epochs`);
    existing = copy;
  }

  const model = resume && existing ? await loadModel(v.out) : buildModel(spec);
  const stopper = stopOnSignals(v.out);
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
      signal: stopper.signal,
      progress: !v.quiet,
      workers,
      batchNormPerWorker: v['bn-per-worker'],
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
    stopper.release();
    model.dispose();
  }
}
