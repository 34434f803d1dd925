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

export type ToWorker = ModelTask | AttackTask | MapsTask;

export type ToMain =
  | { kind: 'ready' }
  | { kind: 'done'; task: number; result: unknown }
  | { kind: 'failed'; task: number; message: string; stack?: string; modelLoad?: boolean };
