// A worker thread's part of a data-parallel training step (dataParallel.ts is the calling
// thread's): a training copy of the model per session, which takes the weights from shared memory,
// computes the loss gradient on its rows (the same loss as train()'s one-thread step) and writes
// it, and its non-trainable weights after the step, back into shared memory.
import * as tf from '@tensorflow/tfjs';
import { trainingLoss, trainingModel, type LossSpec } from '../train/loss.js';
import type { TrainStartTask, TrainStepResult, TrainStepTask, WeightSpec } from './protocol.js';

interface Session {
  spec: LossSpec;
  trainable: tf.LayerVariable[];
  nonTrainable: tf.LayerVariable[];
}

const sessions = new Map<number, Session>();

function check(what: string, mine: tf.LayerVariable[], theirs: WeightSpec[]): void {
  const bad = mine.length !== theirs.length || mine.some((v, i) => v.originalName !== theirs[i]!.name || v.shape.join() !== theirs[i]!.shape.join());
  if (bad) throw new Error(`the copy's ${what} weights (${mine.map((v) => `${v.originalName} [${v.shape.join(', ')}]`).join(', ')}) are not the model's (${theirs.map((s) => `${s.name} [${s.shape.join(', ')}]`).join(', ')})`);
}

/**
 * Rebuilds the calling thread's model in this worker; an error that says the copy could not be
 * loaded (marked `modelLoad`, so the calling thread falls back to itself) when it cannot.
 */
export async function loadCopy(artifacts: tf.io.ModelArtifacts): Promise<tf.LayersModel> {
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    const e = new Error(`the copy could not be loaded: ${(err as Error).message.split('\n')[0]}`);
    (e as Error & { modelLoad?: boolean }).modelLoad = true;
    throw e;
  }
}

export async function startTraining(t: TrainStartTask): Promise<void> {
  const model = await loadCopy(t.artifacts);
  try {
    check('trainable', model.trainableWeights, t.trainable);
    check('non-trainable', model.nonTrainableWeights, t.nonTrainable);
    const fitModel = trainingModel(model, t.activityL1);
    sessions.get(t.session)?.spec.model.dispose();
    sessions.set(t.session, { spec: { model, fitModel, numClasses: t.numClasses, activityL1: t.activityL1 }, trainable: model.trainableWeights, nonTrainable: model.nonTrainableWeights });
  } catch (err) {
    model.dispose();
    throw err;
  }
}

export function endTraining(session: number): void {
  sessions.get(session)?.spec.model.dispose();
  sessions.delete(session);
}

export function trainStep(t: TrainStepTask): TrainStepResult {
  const s = sessions.get(t.session);
  if (!s) throw new Error(`worker: training session ${t.session} was not started before its step`);
  const vars = [...s.trainable, ...s.nonTrainable];
  let o = 0;
  for (const v of vars) {
    const size = v.shape.reduce((a, b) => a! * b!, 1)!;
    // A copy: the wasm backend keeps its own, and the next step's weights go into the same buffer.
    const w = tf.tensor(new Float32Array(t.weights, o * 4, size).slice(), v.shape as number[]);
    // The variable itself, not LayerVariable.write, which would apply a constraint the calling thread's weights never went through.
    (v.read() as tf.Variable).assign(w);
    w.dispose();
    o += size;
  }
  const [H, W, C] = t.shape;
  const pixels = H * W * C;
  const xs = tf.tensor4d(new Float32Array(t.images, t.start * pixels * 4, t.count * pixels).slice(), [t.count, H, W, C]);
  const ys = tf.tensor1d(new Int32Array(t.labels, t.start * 4, t.count).slice(), 'int32');
  let correct: tf.Scalar | undefined;
  const list = s.trainable.map((v) => v.read() as tf.Variable);
  try {
    const { value, grads } = tf.variableGrads(() => {
      const r = trainingLoss(s.spec, xs, ys);
      correct = r.correct;
      return r.loss;
    }, list);
    const region = vars.reduce((a, v) => a + v.shape.reduce((x, y) => x! * y!, 1)!, 0);
    const out = new Float32Array(t.grads, t.region * region * 4, region);
    const noGradient: number[] = [];
    let p = 0;
    list.forEach((v, i) => {
      const g = grads[v.name];
      if (g) out.set(g.dataSync() as Float32Array, p);
      else noGradient.push(i);
      p += v.size;
    });
    // Non-trainable weights after the step (batch norm's moving statistics of this share).
    for (const v of s.nonTrainable) {
      const d = v.read().dataSync() as Float32Array;
      out.set(d, p);
      p += d.length;
    }
    const loss = value.dataSync()[0]!;
    tf.dispose([value, ...Object.values(grads)]);
    return { loss, correct: correct!.dataSync()[0]!, noGradient };
  } finally {
    tf.dispose([xs, ys]);
    correct?.dispose();
  }
}
