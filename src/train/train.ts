import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageDataset } from '../data/dataset.js';
import { createProgress } from '../util/progress.js';
import { mulberry32 } from '../util/random.js';
import { yieldToEventLoop } from '../util/yield.js';
import type { ModelCard } from '../models/card.js';
import { checkInputShape } from '../models/classifier.js';
import { saveModel } from '../models/io.js';
import { type AugmentOptions, augmentedBatch } from './augment.js';
import { restoreOptimizer, serializeOptimizer } from './optimizerState.js';
import { trainingLoss, trainingModel, type LossSpec } from './loss.js';
import { trainPool, type DataParallelTrainer } from './pooling.js';
import { learningRateAt, type ScheduleName } from './schedule.js';
import { readTrainState } from './trainState.js';

/** One epoch's figures, as written to history.json (the paper's Fig. 3 curves). */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  learningRate: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface TrainOptions {
  epochs: number;
  /** @defaultValue 64 */
  batchSize?: number;
  /** @defaultValue 'adam' */
  optimizer?: 'adam' | 'sgd';
  /** Base learning rate. @defaultValue 1e-3 (adam), 0.05 (sgd, with momentum 0.9) */
  learningRate?: number;
  /** @defaultValue 'cosine' */
  schedule?: ScheduleName;
  /** Random shift and flip per image; false for none. @defaultValue { crop: 4, flip: true } */
  augment?: AugmentOptions | false;
  /** Seeds the shuffles and augmentation. @defaultValue 0 */
  seed?: number;
  /** Images to report validation loss and accuracy on after every epoch. */
  validation?: ImageDataset;
  /** L1 penalty lambda * sum|a| (per image, averaged over the batch) on a layer's activations. */
  activityL1?: { layer: string; lambda: number };
  /**
   * Folder that holds the model, its card, history.json and the optimizer state after every
   * completed epoch (replaced atomically). Needed for `resume`.
   */
  out?: string;
  /** Continue from the epochs completed in `out`. The model must hold the weights saved there. */
  resume?: boolean;
  /** The card to write with each checkpoint (training fields are filled in). */
  card?: Omit<ModelCard, 'training' | 'createdAt' | 'parameters'> & { training?: Partial<ModelCard['training']> };
  /** Called after every completed (and saved) epoch. */
  onEpochEnd?: (record: EpochRecord, model: tf.LayersModel) => void | Promise<void>;
  /** Aborting stops after the current batch; the current epoch is lost, earlier ones are kept. */
  signal?: AbortSignal;
  /** Progress bar on stderr. @defaultValue true */
  progress?: boolean;
  /**
   * Replaces each training batch (after augmentation) before its step, e.g. by adversarial images
   * made from the model as it is (see onTheFlyAdversarialTraining); `batch` counts from 0 in each
   * epoch. Must return a new tensor (train disposes both).
   */
  perturbBatch?: (xs: tf.Tensor4D, ys: tf.Tensor1D, at: { epoch: number; batch: number }) => tf.Tensor4D | Promise<tf.Tensor4D>;
  /**
   * Data-parallel training on worker threads (the wasm backend computes on one thread in Node):
   * each thread holds a copy of the model and computes the loss gradient on its share of every
   * batch; the gradients are summed weighted by rows (the gradient of the whole batch's mean loss)
   * and this thread applies one optimizer update, so checkpoints, resume and `onEpochEnd` see the
   * model as in one thread. `true`: ROBUSTNESS_WORKERS threads when set, else min(2, cores); a
   * number: that many; 0, 1 or false: this thread alone. ROBUSTNESS_WORKERS=0 (or 1) keeps training
   * in this thread whatever this says.
   *
   * Without batch norm the steps are the one-thread steps up to float32 rounding (the order of the
   * gradient's sums). With batch norm each thread normalizes by the statistics of its own share
   * (as PyTorch's DistributedDataParallel without SyncBatchNorm) and the moving statistics are the
   * row-weighted mean of the threads': a different training, so such a model also needs
   * `batchNormPerWorker: true`. If the threads cannot start or the model cannot be copied, training
   * runs in this thread and one line says why; a thread lost in the middle is reported, its batch
   * done again here, and the rest of the run stays here. Off by default: a small run does not win
   * back the seconds the threads take to start, and trainings run side by side (one per core, as
   * paper/train-fixtures.sh does) have no core to spare.
   * @defaultValue false
   */
  workers?: boolean | number;
  /** Accept per-thread batch statistics for a model with batch norm trained with `workers` (see there). @defaultValue false */
  batchNormPerWorker?: boolean;
}

export interface TrainResult {
  history: EpochRecord[];
  /** True when the signal stopped the run before the last epoch. */
  interrupted: boolean;
  /** Training seconds over all epochs so far (resumed runs included). */
  seconds: number;
  imagesPerSecond: number;
}

function resolve(o: TrainOptions) {
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new RangeError(`epochs must be a positive integer, got ${o.epochs}.`);
  const optimizer = o.optimizer ?? 'adam';
  const batchSize = o.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}.`);
  if (o.resume && !o.out) throw new Error('resume needs out: the folder the earlier epochs were saved to.');
  return {
    epochs: o.epochs,
    batchSize,
    optimizer,
    learningRate: o.learningRate ?? (optimizer === 'adam' ? 1e-3 : 0.05),
    schedule: o.schedule ?? 'cosine',
    augment: o.augment === undefined ? { crop: 4, flip: true } : o.augment,
    seed: o.seed ?? 0,
  };
}

function makeOptimizer(kind: 'adam' | 'sgd', lr: number): tf.Optimizer {
  return kind === 'adam' ? tf.train.adam(lr) : tf.train.momentum(lr, 0.9);
}

function setLearningRate(opt: tf.Optimizer, lr: number): void {
  // SGD and momentum step with a scalar made by setLearningRate (assigning the field alone left
  // them at the base rate, whatever the schedule); Adam reads the field at every step.
  const o = opt as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/** Throws unless the dataset has images, of the model's input size and channel count. */
function checkData(model: tf.LayersModel, data: ImageDataset, what: string): void {
  if (data.size === 0) throw new Error(`${what}: the dataset holds 0 images, so there is nothing to ${what.startsWith('evaluate') ? 'measure' : 'train on'}; check the data folder or the counts asked for.`);
  checkInputShape(model, [data.size, data.height, data.width, data.channels], `${what} images`);
}

/** Mean loss (cross-entropy only) and accuracy on a dataset, in inference mode. */
export async function evaluate(model: tf.LayersModel, data: ImageDataset, batchSize = 256): Promise<{ loss: number; accuracy: number }> {
  checkData(model, data, 'evaluate');
  let loss = 0;
  let correct = 0;
  for (const { xs, ys } of data.batches({ batchSize })) {
    const [l, c] = tf.tidy(() => {
      const logits = model.apply(xs, { training: false }) as tf.Tensor2D;
      const ce = tf.losses.softmaxCrossEntropy(tf.oneHot(ys, logits.shape[1]!), logits, undefined, undefined, tf.Reduction.SUM);
      return [ce, logits.argMax(1).equal(ys).sum()];
    });
    loss += (await l!.data())[0]!;
    correct += (await c!.data())[0]!;
    tf.dispose([l!, c!, xs, ys]);
  }
  return { loss: loss / data.size, accuracy: correct / data.size };
}

/**
 * Trains a classifier that outputs logits on an {@link ImageDataset}: softmax cross-entropy +
 * the model's kernel penalties (+ an optional activity penalty), with augmentation, a
 * learning-rate schedule, a progress bar, and (with `out`) a checkpoint after every epoch that
 * `resume` continues from. An aborted run keeps every completed epoch and loses the current one.
 *
 * @example
 * const model = buildModel({ arch: 'resnet', width: 0.5, regularizer: 'l1' });
 * const { history } = await train(model, await cifar10.dataset('train'), { epochs: 10, out: 'models/r20-l1' });
 */
export async function train(model: tf.LayersModel, data: ImageDataset, options: TrainOptions): Promise<TrainResult> {
  const o = resolve(options);
  checkData(model, data, 'train');
  if (options.validation) checkData(model, options.validation, 'train (validation)');
  const opt = makeOptimizer(o.optimizer, o.learningRate);
  // The variables trained, in the model's own order: the optimizer's slots follow this list, and a
  // resume matches the checkpoint's slots to it by name.
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const fitModel = trainingModel(model, options.activityL1);
  const numClasses = model.outputs[0]!.shape[1] as number;
  const history: EpochRecord[] = [];
  let seconds = 0;
  let start = 0;
  if (options.resume && options.out && existsSync(join(options.out, 'train-state.json'))) {
    const state = readTrainState(options.out);
    history.push(...state.history);
    seconds = state.seconds;
    start = state.epochsDone;
    // A finished run drops its optimizer state; continuing it for more epochs starts fresh moments.
    const optJson = join(options.out, 'optimizer.json');
    if (existsSync(optJson)) await restoreOptimizer(opt, readFileSync(optJson, 'utf8'), readFileSync(join(options.out, 'optimizer.bin')), model.trainableWeights.map((w) => w.originalName));
  }
  const spec: LossSpec = { model, fitModel, numClasses, activityL1: options.activityL1 };
  let interrupted = false;
  let parallel: DataParallelTrainer | undefined;
  try {
    parallel = await dataParallel(model, trainable, opt, spec, options, o.batchSize);
    for (let epoch = start; epoch < o.epochs; epoch++) {
      const lr = learningRateAt(o.schedule, o.learningRate, epoch, o.epochs);
      setLearningRate(opt, lr);
      const rand = mulberry32(o.seed * 7919 + epoch);
      const progress = options.progress === false ? undefined : createProgress({ label: `epoch ${epoch + 1}/${o.epochs}`, total: data.size });
      const t0 = performance.now();
      let seen = 0;
      let lossSum = 0;
      let correct = 0;
      let batch = 0;
      for (const { xs: plain, ys, indices } of data.batches({ batchSize: o.batchSize, shuffle: true, seed: o.seed * 7919 + epoch })) {
        let xs = o.augment ? augmentedBatch(data, indices, o.augment, rand) : plain;
        if (xs !== plain) plain.dispose();
        if (options.perturbBatch) {
          const perturbed = await options.perturbBatch(xs as tf.Tensor4D, ys as tf.Tensor1D, { epoch, batch: batch++ });
          if (perturbed !== xs) xs.dispose();
          xs = perturbed;
        }
        const n = xs.shape[0];
        try {
          let step: { loss: number; correct: number } | undefined;
          if (parallel) {
            try {
              step = await parallel.step(xs as tf.Tensor4D, ys as tf.Tensor1D);
            } catch (err) {
              if (!(err as { threadLost?: boolean }).threadLost) throw err;
              // Nothing of the failed step was applied: this thread does the batch again.
              note(`a worker thread was lost during data-parallel training (${(err as Error).message.split('\n')[0]}); the rest of the run trains in this thread`);
              await parallel.close().catch(() => undefined);
              parallel = undefined;
            }
          }
          step ??= await oneThreadStep(opt, spec, xs, ys, trainable);
          lossSum += step.loss * n;
          correct += step.correct;
        } finally {
          tf.dispose([xs, ys]);
        }
        seen += n;
        progress?.update(seen, `loss ${(lossSum / seen).toFixed(3)}  acc ${((correct / seen) * 100).toFixed(1)}%`);
        // Let timers and signal handlers run: on wasm, tensor reads resolve as microtasks, so
        // without this turn of the event loop a Ctrl-C would wait for the end of the epoch.
        await yieldToEventLoop();
        if (options.signal?.aborted) {
          interrupted = true;
          break;
        }
      }
      if (interrupted) break;
      const secs = (performance.now() - t0) / 1000;
      seconds += secs;
      const val = options.validation ? await evaluate(model, options.validation) : undefined;
      const record: EpochRecord = {
        epoch: epoch + 1,
        loss: lossSum / seen,
        accuracy: correct / seen,
        valLoss: val?.loss ?? null,
        valAccuracy: val?.accuracy ?? null,
        learningRate: lr,
        seconds: secs,
        imagesPerSecond: seen / secs,
      };
      history.push(record);
      progress?.done(`loss ${record.loss.toFixed(3)}  acc ${(record.accuracy * 100).toFixed(1)}%${val ? `  val ${(val.accuracy * 100).toFixed(1)}%` : ''}`);
      if (options.out) await checkpoint(model, opt, options, o, history, seconds, data.size);
      await options.onEpochEnd?.(record, model);
    }
  } finally {
    await parallel?.close();
    opt.dispose();
    // tfjs's momentum optimizer does not dispose the learning-rate scalar of its SGD base.
    const c = (opt as unknown as { c?: tf.Tensor }).c;
    if (c && !c.isDisposed) c.dispose();
  }
  return { history, interrupted, seconds, imagesPerSecond: seconds > 0 ? (history.length * data.size) / seconds : 0 };
}

/** One step in this thread: the loss's gradient over the whole batch, one update. */
async function oneThreadStep(opt: tf.Optimizer, spec: LossSpec, xs: tf.Tensor, ys: tf.Tensor, trainable: tf.Variable[]): Promise<{ loss: number; correct: number }> {
  let acc: tf.Scalar | undefined;
  const loss = opt.minimize(
    () => {
      const r = trainingLoss(spec, xs, ys);
      acc = r.correct;
      return r.loss;
    },
    true,
    trainable,
  )!;
  try {
    return { loss: (await loss.data())[0]!, correct: (await acc!.data())[0]! };
  } finally {
    tf.dispose([loss, acc!]);
  }
}

function note(message: string): void {
  if (!process.env.ROBUSTNESS_QUIET) process.stderr.write(`vitest-robustness: ${message}.\n`);
}

function hasBatchNorm(model: tf.LayersModel): boolean {
  return model.layers.some((l) => l.getClassName() === 'BatchNormalization' || (l instanceof tf.LayersModel && hasBatchNorm(l)));
}

/** The data-parallel stepper `workers` asks for, or undefined (with one line saying why, when asked) to train in this thread. */
async function dataParallel(model: tf.LayersModel, trainable: tf.Variable[], opt: tf.Optimizer, spec: LossSpec, options: TrainOptions, batchSize: number): Promise<DataParallelTrainer | undefined> {
  const asked = options.workers ?? false;
  if (asked === false || asked === 0 || asked === 1) return undefined;
  const pool = trainPool();
  if (!pool) {
    note("train: the worker threads' module was not loaded (it is when the package is imported as 'vitest-robustness'); training runs in this thread");
    return undefined;
  }
  const { threads, why } = pool.count(asked);
  if (threads < 2) {
    if (why) note(`train: ${why}; training runs in this thread`);
    return undefined;
  }
  if (hasBatchNorm(model) && !options.batchNormPerWorker) {
    throw new Error(
      `train: model '${model.name}' has batch normalization, and with workers: ${String(asked)} each of the ${threads} threads would normalize by the statistics of its own share of the batch (PyTorch's DistributedDataParallel without SyncBatchNorm), not of the whole batch. Pass batchNormPerWorker: true to train so, or leave workers out to train in this thread.`,
    );
  }
  const started = await pool.start({ model, trainable, optimizer: opt, numClasses: spec.numClasses, activityL1: spec.activityL1, threads, batchSize });
  if (typeof started === 'string') {
    note(`train: data-parallel training could not start (${started}); training runs in this thread`);
    return undefined;
  }
  return started;
}

async function checkpoint(model: tf.LayersModel, opt: tf.Optimizer, options: TrainOptions, o: ReturnType<typeof resolve>, history: EpochRecord[], seconds: number, trainImages: number): Promise<void> {
  const { json, bin } = await serializeOptimizer(opt, new Map(model.trainableWeights.map((w) => [(w.read() as tf.Variable).name, w.originalName])));
  const epochsDone = history.length ? history[history.length - 1]!.epoch : 0;
  const base = options.card;
  const card: ModelCard | undefined = base && {
    ...base,
    training: {
      ...base.training,
      epochs: epochsDone,
      batchSize: o.batchSize,
      optimizer: o.optimizer,
      learningRate: o.learningRate,
      schedule: o.schedule,
      augmentation: o.augment ? `shift up to ${o.augment.crop}px${o.augment.flip ? ', horizontal flip' : ''}` : 'none',
      seed: o.seed,
      trainImages,
      validationImages: options.validation?.size ?? 0,
      seconds: Math.round(seconds),
      imagesPerSecond: Math.round((epochsDone * trainImages) / Math.max(seconds, 1e-9)),
      backend: tf.getBackend(),
    },
    parameters: model.countParams(),
    createdAt: new Date().toISOString(),
  } as ModelCard;
  await saveModel(model, options.out!, card, {
    'history.json': `${JSON.stringify(history, null, 2)}\n`,
    'train-state.json': JSON.stringify({ epochsDone, seconds, history }),
    'optimizer.json': json,
    'optimizer.bin': bin,
  });
}
