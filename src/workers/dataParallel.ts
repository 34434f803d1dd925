// Data-parallel training on the worker threads of pool.ts: each thread holds a training copy of the
// model and computes the loss gradient on its share of every batch; the gradients meet in a
// SharedArrayBuffer, are summed here weighted by rows (the gradient of the whole batch's mean
// loss), and this thread's optimizer applies one update to the model the caller holds. The new
// weights go back through shared memory at the start of the next step.
//
// Why the update is applied here and not by every thread: it is the same single update the
// one-thread step applies (same optimizer, same slots), so the only difference from one thread is
// the order in which the gradient's float32 sums are taken; the optimizer state stays where
// train() checkpoints and resumes it; and an update in every thread would cost each of them the
// same time as here, so it saves only the copying of the weights (a few ms against a step of
// hundreds).
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { setTrainPool, type DataParallelRequest, type DataParallelTrainer } from '../train/pooling.js';
import { closeWorkerPool, configuredWorkerThreads, saveToMemory, send, settings, taskId, threads, workerThreads, type Slot } from './pool.js';
import type { TrainStepResult, WeightSpec } from './protocol.js';

/** Threads `workers: true` asks for: two (the data-parallel gain was measured on 2 cores; more threads exchange more). */
const DEFAULT_TRAIN_THREADS = 2;

/**
 * The threads training uses for a `workers` option: `true` takes ROBUSTNESS_WORKERS (or
 * setWorkerThreads) when set, else min(2, cores); a number is taken as given; 0, 1 or false is
 * none, and so is ROBUSTNESS_WORKERS=0 or 1 whatever the option says.
 */
export function trainThreadCount(asked: boolean | number, env: NodeJS.ProcessEnv = process.env): { threads: number; why?: string } {
  if (asked !== true && asked !== false && !(Number.isInteger(asked) && asked >= 0)) throw new RangeError(`workers: give true, false or a whole number of threads (0 or 1 for none); got ${String(asked)}.`);
  if (asked === false || asked === 0 || asked === 1) return { threads: 0 };
  const set = configuredWorkerThreads(env);
  if (set === 0) return { threads: 0, why: 'worker threads are turned off here (ROBUSTNESS_WORKERS=0 or 1, setWorkerThreads, or inside a worker thread)' };
  const n = asked === true ? (set ?? Math.min(DEFAULT_TRAIN_THREADS, availableParallelism())) : asked;
  if (n < 2) return { threads: 0, why: `this machine has ${availableParallelism()} core` };
  return { threads: n };
}

let nextSession = 1;
let stepsTaken = 0;

/** Data-parallel steps taken in this process (tests: proof that a run used the threads). */
export function dataParallelSteps(): number {
  return stepsTaken;
}

function specs(vars: tf.LayerVariable[]): WeightSpec[] {
  return vars.map((v) => ({ name: v.originalName, shape: [...v.shape] as number[] }));
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Rows of each thread for a batch of n: as even as can be, the first ones one more. */
export function shareRows(n: number, count: number): { start: number; count: number }[] {
  const out: { start: number; count: number }[] = [];
  for (let w = 0, start = 0; w < count; w++) {
    const rows = Math.floor(n / count) + (w < n % count ? 1 : 0);
    out.push({ start, count: rows });
    start += rows;
  }
  return out;
}

/** Starts a data-parallel session on the threads, or says why it cannot (training then stays in the calling thread). */
export async function startDataParallel(req: DataParallelRequest): Promise<DataParallelTrainer | string> {
  if (tf.getBackend() !== 'wasm') return `the backend is ${tf.getBackend()}, not wasm (the native backends use every core already)`;
  const { model, optimizer } = req;
  const [, H, W, C] = model.inputs[0]!.shape as number[];
  if (!(H && W && C)) return `the model's input shape ${JSON.stringify(model.inputs[0]!.shape)} is not [batch, height, width, channels] with fixed sizes`;
  const trainableLayerVars = model.trainableWeights;
  const frozenVars = model.nonTrainableWeights;
  if (trainableLayerVars.length !== req.trainable.length || trainableLayerVars.some((w, i) => w.read() !== req.trainable[i])) return 'the variables trained are not the model\'s trainable weights';
  const hadThreads = workerThreads().length;
  const use = await threads(req.threads, 'training runs in the calling thread');
  if (!use) return 'the worker threads could not start';
  // Threads this training started are ended with it (their wasm memory grew to hold its
  // activations and is never given back); threads already running for attacks stay.
  const release = async () => {
    if (hadThreads === 0) await closeWorkerPool();
  };
  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await saveToMemory(model);
  } catch (err) {
    await release();
    return `the model could not be copied (${(err as Error).message.split('\n')[0]})`;
  }
  const session = nextSession++;
  const trainable = specs(trainableLayerVars);
  const nonTrainable = specs(frozenVars);
  const sizesT = trainable.map((s) => sizeOf(s.shape));
  const sizesN = nonTrainable.map((s) => sizeOf(s.shape));
  const PT = sizesT.reduce((a, b) => a + b, 0);
  const PN = sizesN.reduce((a, b) => a + b, 0);
  const region = PT + PN;
  const endAll = () => Promise.all(use.map((s) => send(s, { kind: 'train-end', task: taskId(), session }).catch(() => undefined)));
  try {
    await Promise.all(use.map((s) => send(s, { kind: 'train-start', task: taskId(), session, artifacts, numClasses: req.numClasses, activityL1: req.activityL1, kernels: settings().kernels, trainable, nonTrainable })));
  } catch (err) {
    await endAll();
    await release();
    return `the model's copy could not be made ready on a worker thread (${(err as Error).message.split('\n')[0]})`;
  }
  const pixels = H * W * C;
  let capacity = 0;
  let images = new SharedArrayBuffer(0);
  let labels = new SharedArrayBuffer(0);
  const weights = new SharedArrayBuffer(region * 4);
  const grads = new SharedArrayBuffer(use.length * region * 4);
  const G = new Float32Array(grads);
  const Wt = new Float32Array(weights);
  // The sums' buffers, made once: a new half-megabyte array per weight per step costs the garbage collector more than the sums.
  const sums = [...sizesT, ...sizesN].map((size) => new Float32Array(size));
  let closed = false;

  /** The model's weights as they are now into the shared buffer, which each thread's copy takes at the start of a step. */
  const publishWeights = () => {
    let o = 0;
    for (const v of [...trainableLayerVars, ...frozenVars]) {
      const d = v.read().dataSync() as Float32Array;
      Wt.set(d, o);
      o += d.length;
    }
  };

  const step = async (xs: tf.Tensor4D, ys: tf.Tensor1D): Promise<{ loss: number; correct: number }> => {
    if (closed) throw new Error('data-parallel trainer: step after close');
    const n = xs.shape[0];
    if (xs.shape[1] !== H || xs.shape[2] !== W || xs.shape[3] !== C) throw new Error(`data-parallel step: batch of shape ${JSON.stringify(xs.shape)} for a model that takes [n, ${H}, ${W}, ${C}]`);
    if (n > capacity) {
      capacity = Math.max(n, req.batchSize);
      images = new SharedArrayBuffer(capacity * pixels * 4);
      labels = new SharedArrayBuffer(capacity * 4);
    }
    new Float32Array(images, 0, n * pixels).set((await xs.data()) as Float32Array);
    const yv = await ys.data();
    new Int32Array(labels, 0, n).set(yv instanceof Int32Array ? yv : Int32Array.from(yv));
    publishWeights();
    const parts = shareRows(n, use.length);
    const active = parts.map((p, w) => ({ ...p, slot: use[w]!, region: w })).filter((p) => p.count > 0);
    const results = await Promise.all(
      active.map((p) => send<TrainStepResult>(p.slot, { kind: 'train-step', task: taskId(), session, region: p.region, shape: [H, W, C], images, labels, weights, grads, start: p.start, count: p.count })),
    );
    // The gradient of the batch's mean loss: each share's gradient of its own mean, weighted by its rows.
    const grad: tf.NamedTensorMap = {};
    try {
      let o = 0;
      trainableLayerVars.forEach((v, i) => {
        const size = sizesT[i]!;
        const from = active.filter((_, k) => !results[k]!.noGradient.includes(i));
        if (from.length > 0) {
          const sum = sums[i]!.fill(0);
          for (const p of from) {
            const c = p.count / n;
            const g = G.subarray(p.region * region + o, p.region * region + o + size);
            for (let j = 0; j < size; j++) sum[j]! += c * g[j]!;
          }
          grad[req.trainable[i]!.name] = tf.tensor(sum, v.shape as number[]);
        }
        o += size;
      });
      optimizer.applyGradients(grad);
    } finally {
      tf.dispose(Object.values(grad));
    }
    // Non-trainable weights (batch norm's moving statistics): the row-weighted mean of the copies'.
    if (frozenVars.length > 0) {
      let o = PT;
      frozenVars.forEach((v, i) => {
        const size = sizesN[i]!;
        const mean = sums[sizesT.length + i]!.fill(0);
        for (const p of active) {
          const c = p.count / n;
          const g = G.subarray(p.region * region + o, p.region * region + o + size);
          for (let j = 0; j < size; j++) mean[j]! += c * g[j]!;
        }
        const t = tf.tensor(mean, v.shape as number[]);
        (v.read() as tf.Variable).assign(t);
        t.dispose();
        o += size;
      });
    }
    stepsTaken++;
    let loss = 0;
    let correct = 0;
    results.forEach((r, k) => {
      loss += (active[k]!.count / n) * r.loss;
      correct += r.correct;
    });
    return { loss, correct };
  };

  const close = async () => {
    if (closed) return;
    closed = true;
    await endAll();
    await release();
  };

  return { threads: use.length, step, close };
}

setTrainPool({ start: startDataParallel, count: trainThreadCount });
