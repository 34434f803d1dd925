// Messages between the calling thread (pool.ts) and a worker thread (worker.ts).
import type * as tf from '@tensorflow/tfjs';
import type { CommonParams } from '../attacks/types.js';

/** Rows `start .. start + count` of the batch: rows `offset ..` of a chunk of `total` rows seeded `seed`. */
export interface Piece {
  start: number;
  count: number;
  offset: number;
  total: number;
  seed: number;
}

interface Common {
  task: number;
}

/** The settings the calling thread runs with, which the worker copies before each task. */
interface Settings {
  frozen: boolean;
  kernels: boolean;
}

export interface ModelTask extends Common {
  kind: 'model';
  id: number;
  version: number;
  artifacts: tf.io.ModelArtifacts;
}

export interface AttackTask extends Common, Settings {
  kind: 'attack';
  name: string;
  modelId: number;
  version: number;
  output: 'logits' | 'probabilities';
  params: CommonParams;
  shape: [number, number, number, number];
  /** The whole batch, float32. */
  images: SharedArrayBuffer;
  labels: Int32Array;
  targets: Int32Array | undefined;
  pieces: Piece[];
}

export interface MapsTask extends Common, Settings {
  kind: 'maps';
  method: 'gradcam' | 'occlusion';
  modelId: number;
  version: number;
  params: Record<string, unknown>;
  shape: [number, number, number, number];
  images: SharedArrayBuffer;
  start: number;
  count: number;
  targets: Int32Array | undefined;
}

/** A weight's name in the model (originalName) and shape: the copy's must match, in this order. */
export interface WeightSpec {
  name: string;
  shape: number[];
}

/** Loads a training copy of the model for a data-parallel session (src/workers/dataParallel.ts). */
export interface TrainStartTask extends Common {
  kind: 'train-start';
  session: number;
  artifacts: tf.io.ModelArtifacts;
  numClasses: number;
  activityL1?: { layer: string; lambda: number };
  kernels: boolean;
  trainable: WeightSpec[];
  nonTrainable: WeightSpec[];
}

/**
 * One step on rows `start .. start + count` of the batch in `images`/`labels`: the copy takes the
 * weights in `weights` (trainable then non-trainable, flat), and writes the loss gradient of its
 * rows, then its non-trainable weights after the step, to region `region` of `grads`.
 */
export interface TrainStepTask extends Common {
  kind: 'train-step';
  session: number;
  region: number;
  shape: [number, number, number];
  images: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  weights: SharedArrayBuffer;
  grads: SharedArrayBuffer;
  start: number;
  count: number;
}

/** What a step returns: its rows' mean loss, the rows predicted right, trainable weights with no gradient. */
export interface TrainStepResult {
  loss: number;
  correct: number;
  noGradient: number[];
}

export interface TrainEndTask extends Common {
  kind: 'train-end';
  session: number;
}

export type ToWorker = ModelTask | AttackTask | MapsTask | TrainStartTask | TrainStepTask | TrainEndTask;

export type ToMain =
  | { kind: 'ready' }
  | { kind: 'done'; task: number; result: unknown }
  | { kind: 'failed'; task: number; message: string; stack?: string; modelLoad?: boolean };
