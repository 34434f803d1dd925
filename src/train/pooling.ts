// The seam between training and the worker threads (src/workers/dataParallel.ts, a floor above):
// the threads register here when their module is loaded, and train() asks them for a
// data-parallel stepper when its `workers` option says so.
import type * as tf from '@tensorflow/tfjs';

export interface DataParallelRequest {
  model: tf.LayersModel;
  /** The variables trained, in the order the optimizer's slots follow (model.trainableWeights'). */
  trainable: tf.Variable[];
  optimizer: tf.Optimizer;
  numClasses: number;
  activityL1?: { layer: string; lambda: number };
  /** Threads asked for (the `workers` option, 2 or more). */
  threads: number;
  /** The largest batch a step will get. */
  batchSize: number;
}

export interface DataParallelTrainer {
  /** Threads that compute gradients. */
  readonly threads: number;
  /**
   * One step on a batch: each thread computes the loss gradient on its rows, the gradients are
   * summed weighted by rows (the gradient of the whole batch's mean loss), and `optimizer`
   * applies one update here. Resolves with the batch's mean loss and the rows predicted right.
   * Rejects with `threadLost` set when a thread was lost; nothing was applied then.
   */
  step(xs: tf.Tensor4D, ys: tf.Tensor1D): Promise<{ loss: number; correct: number }>;
  /** Frees the threads' copies (and ends the threads this trainer started). */
  close(): Promise<void>;
}

/** A stepper on worker threads, or a sentence saying why training stays in the calling thread. */
export type TrainPool = (request: DataParallelRequest) => Promise<DataParallelTrainer | string>;

/** What `workers` resolves to: how many threads, or why none (undefined: not asked for). */
export type TrainThreads = (asked: boolean | number) => { threads: number; why?: string };

let pool: { start: TrainPool; count: TrainThreads } | undefined;

/** Registers the worker threads (src/workers/dataParallel.ts does, when loaded). */
export function setTrainPool(p: { start: TrainPool; count: TrainThreads } | undefined): void {
  pool = p;
}

/** The registered threads, if their module was loaded. */
export function trainPool(): { start: TrainPool; count: TrainThreads } | undefined {
  return pool;
}
