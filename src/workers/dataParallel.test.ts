import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { bandsDataset } from '../test-support/synthetic.js';
import { train, type TrainOptions } from '../train/train.js';
import { dataParallelSteps, shareRows, trainThreadCount } from './dataParallel.js';
import { closeWorkerPool, setWorkerEntry, setWorkerThreads, threads, workerThreads } from './pool.js';

// Data-parallel training on the worker threads against the one-thread step: the same weights after
// a few Adam (and SGD) steps to float32 tolerance, odd batches and batches smaller than the
// threads, no tensors left in this thread, threads that training started ended after it, and a
// clean fallback to this thread when the threads cannot start or one is lost in the middle.

/** A small conv net without batch norm, an L1 kernel penalty on the first conv, on 8x8x3. */
function plainNet(withBatchNorm = false): tf.LayersModel {
  const g = (s: number) => tf.initializers.glorotUniform({ seed: s });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: g(1), kernelRegularizer: tf.regularizers.l1({ l1: 1e-3 }), name: 'c1' }),
      ...(withBatchNorm ? [tf.layers.batchNormalization({ name: 'bn' })] : []),
      tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: g(2), name: 'hidden' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, kernelInitializer: g(3), name: 'out' }),
    ],
  });
}

async function weightsOf(model: tf.LayersModel): Promise<Float32Array[]> {
  return Promise.all(model.weights.map(async (w) => (await w.read().data()) as Float32Array));
}

function worst(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((t, i) => t.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i]![j]!)))));
  return m;
}

const base: TrainOptions = { epochs: 1, augment: false, progress: false, seed: 3 };

/** Trains a fresh plainNet with the options; its weights, history, and the tensors it left here. */
async function run(options: Partial<TrainOptions>, count = 37, withBatchNorm = false) {
  const data = bandsDataset({ count, classes: 3, size: 8, seed: 5 });
  const model = plainNet(withBatchNorm);
  const n0 = tf.memory().numTensors;
  const s0 = dataParallelSteps();
  const r = await train(model, data, { ...base, ...options });
  const left = tf.memory().numTensors - n0;
  const parallelSteps = dataParallelSteps() - s0;
  const w = await weightsOf(model);
  const names = model.weights.map((v) => v.originalName);
  model.dispose();
  return { w, names, history: r.history, left, parallelSteps };
}

let quiet: string | undefined;
beforeAll(() => {
  quiet = process.env.ROBUSTNESS_QUIET;
  process.env.ROBUSTNESS_QUIET = '1';
});
afterEach(() => {
  setWorkerThreads(undefined);
  setWorkerEntry(undefined);
});
afterAll(async () => {
  if (quiet === undefined) delete process.env.ROBUSTNESS_QUIET;
  else process.env.ROBUSTNESS_QUIET = quiet;
  await closeWorkerPool();
});

describe('data-parallel training: how many threads, which rows', () => {
  it('reads the option and ROBUSTNESS_WORKERS, refuses nonsense', () => {
    expect(trainThreadCount(false, {}).threads).toBe(0);
    expect(trainThreadCount(1, {}).threads).toBe(0);
    expect(trainThreadCount(3, {}).threads).toBe(3);
    expect(trainThreadCount(true, { ROBUSTNESS_WORKERS: '4' }).threads).toBe(4);
    const off = trainThreadCount(2, { ROBUSTNESS_WORKERS: '0' });
    expect(off.threads).toBe(0);
    expect(off.why).toMatch(/ROBUSTNESS_WORKERS=0/);
    expect(() => trainThreadCount(1.5, {})).toThrow(/whole number/);
    expect(() => trainThreadCount(2, { ROBUSTNESS_WORKERS: 'x' })).toThrow(/ROBUSTNESS_WORKERS=x/);
  });

  it('shares a batch by rows, the first threads one more, none for some when the batch is small', () => {
    expect(shareRows(15, 2)).toEqual([
      { start: 0, count: 8 },
      { start: 8, count: 7 },
    ]);
    expect(shareRows(2, 3)).toEqual([
      { start: 0, count: 1 },
      { start: 1, count: 1 },
      { start: 2, count: 0 },
    ]);
  });
});

describe('data-parallel training against one thread', () => {
  it('two threads: the weights after three Adam steps (batches 15, 15, 7), loss and accuracy, with kernel and activity penalties; no tensors left; threads it started are ended', async () => {
    const options = { batchSize: 15, activityL1: { layer: 'hidden', lambda: 1e-3 } };
    const one = await run({ ...options, workers: 0 });
    setWorkerThreads(2);
    await closeWorkerPool();
    const two = await run({ ...options, workers: 2 });
    expect(two.parallelSteps).toBe(3);
    expect(one.parallelSteps).toBe(0);
    expect(workerThreads()).toHaveLength(0);
    expect(two.left).toBe(0);
    expect(one.left).toBe(0);
    // Adam's first steps move each weight by about the learning rate (1e-3) whatever the gradient's
    // size; a float32 difference in the gradient's sums moves them by far less.
    expect(worst(one.w, two.w)).toBeLessThan(1e-6);
    expect(worst(one.w, (await run({ ...options, workers: 0, seed: 4 })).w)).toBeGreaterThan(1e-4);
    expect(two.history[0]!.loss).toBeCloseTo(one.history[0]!.loss, 5);
    expect(two.history[0]!.accuracy).toBe(one.history[0]!.accuracy);
  });

  it('SGD with momentum over two epochs, and three threads on batches smaller than the threads (2, 2, 1 rows)', async () => {
    setWorkerThreads(3);
    await threads(3); // already running: training leaves them running
    for (const [options, count] of [
      [{ batchSize: 15, optimizer: 'sgd', epochs: 2 }, 37],
      [{ batchSize: 2, epochs: 1 }, 5],
    ] as const) {
      const one = await run({ ...options, workers: 0 }, count);
      const three = await run({ ...options, workers: 3 }, count);
      expect(three.parallelSteps).toBe(options.epochs * Math.ceil(count / options.batchSize));
      expect(three.left).toBe(0);
      expect(worst(one.w, three.w)).toBeLessThan(1e-6);
      three.history.forEach((h, i) => {
        expect(h.loss).toBeCloseTo(one.history[i]!.loss, 5);
        expect(h.accuracy).toBe(one.history[i]!.accuracy);
      });
    }
    expect(workerThreads()).toHaveLength(3);
  });

  it('a model with batch norm needs batchNormPerWorker; with it, each thread normalizes its own share and the moving statistics are the threads\' mean', async () => {
    setWorkerThreads(2);
    await expect(run({ batchSize: 16, workers: 2 }, 32, true)).rejects.toThrow(/batch normalization.*batchNormPerWorker: true/);
    // One step: its moving mean comes from the same weights in both runs.
    const one = await run({ batchSize: 16, workers: 0 }, 16, true);
    const two = await run({ batchSize: 16, workers: 2, batchNormPerWorker: true }, 16, true);
    expect(two.left).toBe(0);
    expect(two.parallelSteps).toBe(1);
    const at = one.names.indexOf('bn/moving_mean');
    const [mean1, mean2] = [one.w[at]!, two.w[at]!];
    expect(Math.max(...mean2.map(Math.abs))).toBeGreaterThan(1e-3);
    // The moving mean's update is linear in the batch mean, so the threads' row-weighted mean of it
    // is the whole batch's (to rounding); the trained weights differ, as they should: each share was
    // normalized by its own statistics.
    expect(worst([mean1], [mean2])).toBeLessThan(1e-6);
    expect(worst([one.w[0]!], [two.w[0]!])).toBeGreaterThan(1e-5);
    expect(Number.isFinite(two.history[0]!.loss)).toBe(true);
  });
});

describe('data-parallel training falls back to this thread', () => {
  it('when the threads cannot start: one line says why, and the run is the one-thread run', async () => {
    await closeWorkerPool();
    setWorkerThreads(2);
    setWorkerEntry(new URL('./no-such-worker.js', import.meta.url));
    delete process.env.ROBUSTNESS_QUIET;
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const fell = await run({ batchSize: 15, workers: 2 });
      const lines = err.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('could not start'));
      expect(lines).toHaveLength(2); // the pool's line and train's
      expect(lines.join('')).toMatch(/training runs in the calling thread/);
      setWorkerThreads(0);
      const one = await run({ batchSize: 15 });
      expect(worst(one.w, fell.w)).toBe(0);
      expect(fell.parallelSteps).toBe(0);
      expect(fell.left).toBe(0);
    } finally {
      err.mockRestore();
      process.env.ROBUSTNESS_QUIET = '1';
    }
  });

  it('when the model cannot be copied (a layer the threads do not know): one line says why, the run is the one-thread run, the threads are ended', async () => {
    class Doubler extends tf.layers.Layer {
      static className = 'DataParallelTestDoubler';
      override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
        return tf.mul(Array.isArray(inputs) ? inputs[0]! : inputs, 2);
      }
    }
    tf.serialization.registerClass(Doubler);
    const make = () => tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), new Doubler({}), tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) })] });
    const data = bandsDataset({ count: 20, classes: 3, size: 8, seed: 5 });
    await closeWorkerPool();
    setWorkerThreads(2);
    delete process.env.ROBUSTNESS_QUIET;
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const [a, b] = [make(), make()];
    try {
      const s0 = dataParallelSteps();
      await train(a, data, { ...base, batchSize: 8, workers: 2 });
      expect(dataParallelSteps()).toBe(s0);
      expect(workerThreads()).toHaveLength(0);
      const lines = err.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('data-parallel training could not start'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/DataParallelTestDoubler.*training runs in this thread/);
      await train(b, data, { ...base, batchSize: 8 });
      expect(worst(await weightsOf(a), await weightsOf(b))).toBe(0);
    } finally {
      err.mockRestore();
      process.env.ROBUSTNESS_QUIET = '1';
      a.dispose();
      b.dispose();
    }
  });

  it('when a thread is lost in the middle: the batch is done again here, and the run matches one thread', async () => {
    setWorkerThreads(2);
    await closeWorkerPool();
    const lost = await run({ batchSize: 15, epochs: 2, workers: 2, onEpochEnd: async () => void (await workerThreads()[0]?.terminate()) });
    expect(workerThreads()).toHaveLength(0);
    expect(lost.parallelSteps).toBe(3); // the first epoch's; the second trained here
    const one = await run({ batchSize: 15, epochs: 2, workers: 0 });
    expect(worst(one.w, lost.w)).toBeLessThan(1e-6);
    expect(lost.left).toBe(0);
  });

  it('ROBUSTNESS_WORKERS=0 (here setWorkerThreads(0)) keeps training in this thread', async () => {
    setWorkerThreads(0);
    await closeWorkerPool();
    expect((await run({ batchSize: 15, workers: 2 })).parallelSteps).toBe(0);
    expect(workerThreads()).toHaveLength(0);
  });
});
