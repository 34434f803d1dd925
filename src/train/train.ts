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
import { regularizationLoss } from '../models/regularizers.js';
import { type AugmentOptions, augmentedBatch } from './augment.js';
import { restoreOptimizer, serializeOptimizer } from './optimizerState.js';
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

function trainingModel(model: tf.LayersModel, activity?: { layer: string }): tf.LayersModel {
  if (!activity) return model;
  const layer = model.layers.find((l) => l.name === activity.layer);
  if (!layer) throw new Error(`activityL1 names layer '${activity.layer}', which the model lacks. Its layers: ${model.layers.map((l) => l.name).join(', ')}.`);
  // Same layers, two outputs: training this one trains the classifier.
  return tf.model({ inputs: model.inputs, outputs: [model.outputs[0]!, layer.output as tf.SymbolicTensor] });
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
  let interrupted = false;
  try {
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
        let acc: tf.Scalar | undefined;
        const loss = opt.minimize(() => {
          const out = fitModel.apply(xs, { training: true }) as tf.Tensor | tf.Tensor[];
          const [logits, hidden] = Array.isArray(out) ? out : [out];
          acc = tf.keep((logits as tf.Tensor2D).argMax(1).equal(ys).sum() as tf.Scalar);
          let total = tf.losses.softmaxCrossEntropy(tf.oneHot(ys, numClasses), logits as tf.Tensor2D).add(regularizationLoss(model)) as tf.Scalar;
          if (options.activityL1 && hidden) total = total.add(hidden.abs().sum().div(xs.shape[0]).mul(options.activityL1.lambda));
          return total;
        }, true, trainable)!;
        const n = xs.shape[0];
        lossSum += (await loss.data())[0]! * n;
        correct += (await acc!.data())[0]!;
        seen += n;
        tf.dispose([loss, acc!, xs, ys]);
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
    opt.dispose();
    // tfjs's momentum optimizer does not dispose the learning-rate scalar of its SGD base.
    const c = (opt as unknown as { c?: tf.Tensor }).c;
    if (c && !c.isDisposed) c.dispose();
  }
  return { history, interrupted, seconds, imagesPerSecond: seconds > 0 ? (history.length * data.size) / seconds : 0 };
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
