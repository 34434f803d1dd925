import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { COMMON_DEFAULTS, defineAttack } from '../attacks/defineAttack.js';
import { attacks } from '../attacks/registry.js';
import { gradcam } from '../attribution/gradcam.js';
import { occlusion } from '../attribution/occlusion.js';
import { cifar10 } from '../data/cifar10.js';
import { loadModel } from '../models/io.js';
import { bandsDataset } from '../test-support/synthetic.js';
import { closeWorkerPool, planPieces, setWorkerEntry, setWorkerThreads, workerThreadCount, workerThreads } from './pool.js';

// The worker threads against the test's own thread: same adversarial images, predictions, norms,
// query counts and maps (float32 tolerance), no tensors left in the calling thread, a lost worker
// is an error and not a hang, and a pool that cannot start falls back to the calling thread.

const FIXTURE = fileURLToPath(new URL('../../fixtures/models/resnet20-base', import.meta.url));

/** A small conv net with batch norm (random statistics, so folding is not an identity) on 8x8x3. */
function tinyConvNet(): tf.LayersModel {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.batchNormalization(),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
  const bn = m.layers[1]!;
  const w = bn.getWeights().map((t, i) => tf.randomUniform(t.shape, i === 3 ? 0.5 : -0.5, 1.5, 'float32', 10 + i));
  bn.setWeights(w);
  tf.dispose(w);
  return m;
}

interface Outcome {
  adv: Float32Array;
  before: Int32Array;
  after: Int32Array;
  linf: Float32Array;
  l2: Float32Array;
  queries: { forward: number; gradient: number };
}

async function attackWith(threads: number, name: keyof typeof attacks, model: tf.LayersModel, x: tf.Tensor4D, y: tf.Tensor1D, params: Record<string, unknown>): Promise<Outcome> {
  setWorkerThreads(threads);
  const n0 = tf.memory().numTensors;
  const r = await attacks[name].run(model, x, y, params as never);
  const adv = (await r.adversarial.data()) as Float32Array;
  r.adversarial.dispose();
  expect(tf.memory().numTensors).toBe(n0);
  return { adv, before: r.predsBefore, after: r.predsAfter, linf: r.linf, l2: r.l2, queries: r.queries };
}

function expectSame(a: Outcome, b: Outcome): void {
  expect(b.adv.length).toBe(a.adv.length);
  let worst = 0;
  for (let i = 0; i < a.adv.length; i++) worst = Math.max(worst, Math.abs(a.adv[i]! - b.adv[i]!));
  expect(worst).toBeLessThanOrEqual(1e-6);
  expect(Array.from(b.before)).toEqual(Array.from(a.before));
  expect(Array.from(b.after)).toEqual(Array.from(a.after));
  for (let i = 0; i < a.linf.length; i++) {
    expect(b.linf[i]).toBeCloseTo(a.linf[i]!, 6);
    expect(b.l2[i]).toBeCloseTo(a.l2[i]!, 5);
  }
  expect(b.queries).toEqual(a.queries);
}

afterEach(() => {
  setWorkerThreads(undefined);
  setWorkerEntry(undefined);
});
afterAll(() => closeWorkerPool());

describe('worker threads: how many', () => {
  it('reads ROBUSTNESS_WORKERS, shares the cores among parallel test files, refuses nonsense', () => {
    setWorkerThreads(undefined);
    expect(workerThreadCount({ ROBUSTNESS_WORKERS: '0' })).toBe(0);
    expect(workerThreadCount({ ROBUSTNESS_WORKERS: '1' })).toBe(0);
    expect(workerThreadCount({ ROBUSTNESS_WORKERS: '3' })).toBe(3);
    expect(() => workerThreadCount({ ROBUSTNESS_WORKERS: 'two' })).toThrow(/ROBUSTNESS_WORKERS=two: give a whole number/);
    expect(() => workerThreadCount({ ROBUSTNESS_WORKERS: '-1' })).toThrow(/whole number/);
    // A thousand files at once leave no core for a pool.
    expect(workerThreadCount({ ROBUSTNESS_PARALLEL_FILES: '1000' })).toBe(0);
    expect(() => setWorkerThreads(1.5)).toThrow(/whole number/);
  });

  it('splits chunks by rows (same seeds) or by whole chunks', () => {
    // 10 rows, chunks of 4: seeds 5, 6, 7.
    expect(planPieces(10, 4, 5, 2, true)).toEqual([
      [
        { start: 0, count: 2, offset: 0, total: 4, seed: 5 },
        { start: 4, count: 2, offset: 0, total: 4, seed: 6 },
        { start: 8, count: 1, offset: 0, total: 2, seed: 7 },
      ],
      [
        { start: 2, count: 2, offset: 2, total: 4, seed: 5 },
        { start: 6, count: 2, offset: 2, total: 4, seed: 6 },
        { start: 9, count: 1, offset: 1, total: 2, seed: 7 },
      ],
    ]);
    expect(planPieces(10, 4, 0, 2, false)).toEqual([
      [
        { start: 0, count: 4, offset: 0, total: 4, seed: 0 },
        { start: 8, count: 2, offset: 0, total: 2, seed: 2 },
      ],
      [{ start: 4, count: 4, offset: 0, total: 4, seed: 1 }],
    ]);
    // One chunk, whole-chunk split: one piece of work, so the calling thread keeps it.
    expect(planPieces(4, 100, 0, 2, false)).toHaveLength(1);
  });
});

describe('worker threads against the calling thread', () => {
  let model: tf.LayersModel;
  let x: tf.Tensor4D;
  let y: tf.Tensor1D;
  beforeAll(() => {
    model = tinyConvNet();
    const d = bandsDataset({ count: 10, classes: 3, size: 8, seed: 4 }).toSamples();
    x = d.images;
    y = d.labels;
  });
  afterAll(() => {
    model.dispose();
    tf.dispose([x, y]);
  });

  it('PGD (Linf and L2, random starts split by rows), FGSM, APGD and targeted PGD: the same results', async () => {
    const cases: [keyof typeof attacks, Record<string, unknown>][] = [
      ['pgd', { eps: 0.1, steps: 3, batchSize: 4, seed: 3 }],
      ['pgd', { eps: 0.5, norm: 'l2', steps: 3, batchSize: 4, seed: 9 }],
      ['pgd', { eps: 0.1, steps: 2, batchSize: 100, target: 2 }],
      ['fgsm', { eps: 0.05, batchSize: 3 }],
      ['apgd', { eps: 0.1, steps: 4, batchSize: 3, seed: 1 }],
    ];
    for (const [name, params] of cases) {
      const mine = await attackWith(0, name, model, x, y, params);
      const pooled = await attackWith(2, name, model, x, y, params);
      expect(workerThreads()).toHaveLength(2);
      expectSame(mine, pooled);
    }
  });

  it('sends the weights again when they change', async () => {
    const params = { eps: 0.1, steps: 2, batchSize: 5 };
    await attackWith(2, 'pgd', model, x, y, params);
    const dense = model.layers[5]!;
    const w = dense.getWeights().map((t) => tf.mul(t, -1));
    dense.setWeights(w);
    tf.dispose(w);
    expectSame(await attackWith(0, 'pgd', model, x, y, params), await attackWith(2, 'pgd', model, x, y, params));
  });

  it('keeps custom attacks and { predict } models in the calling thread', async () => {
    setWorkerThreads(2);
    let calls = 0;
    const mine = defineAttack({
      name: 'mine',
      defaults: { ...COMMON_DEFAULTS, batchSize: 2 },
      perturb: async (ctx) => {
        calls++;
        return tf.clone(ctx.x);
      },
    });
    const r = await mine.run(model, x, y);
    r.adversarial.dispose();
    expect(calls).toBe(5);
    let predicts = 0;
    const wrapped = { predict: (v: tf.Tensor4D) => (predicts++, model.predict(v) as tf.Tensor) };
    const p = await attacks.pgd.run(wrapped, x, y, { steps: 1, batchSize: 5 });
    p.adversarial.dispose();
    expect(predicts).toBeGreaterThan(0);
  });

  it('a worker lost in the middle of an attack is an error naming it, and the next call starts afresh', async () => {
    setWorkerThreads(2);
    await attackWith(2, 'pgd', model, x, y, { steps: 1, batchSize: 5 });
    const running = attacks.pgd.run(model, x, y, { steps: 2000, batchSize: 5 });
    // Once the work is sent (the workers hold a reference then), end one worker.
    await vi.waitFor(() => expect(workerThreads().length).toBe(2), { timeout: 5000 });
    await new Promise((r) => setTimeout(r, 200));
    await workerThreads()[0]!.terminate();
    await expect(running).rejects.toThrow(/worker thread 0 exited .* in the middle of its work.*ROBUSTNESS_WORKERS=0/);
    expectSame(await attackWith(0, 'pgd', model, x, y, { steps: 1, batchSize: 5 }), await attackWith(2, 'pgd', model, x, y, { steps: 1, batchSize: 5 }));
  });

  it('attacks a model with a layer the workers do not know in the calling thread, with one warning', async () => {
    // Registered here only: the workers' tfjs cannot rebuild the model from its copy.
    class Doubler extends tf.layers.Layer {
      static className = 'PoolTestDoubler';
      override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
        return tf.mul(Array.isArray(inputs) ? inputs[0]! : inputs, 2);
      }
    }
    tf.serialization.registerClass(Doubler);
    const custom = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), new Doubler({}), tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) })] });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const quiet = process.env.ROBUSTNESS_QUIET;
    delete process.env.ROBUSTNESS_QUIET;
    setWorkerEntry(undefined); // forgets earlier warnings
    try {
      const params = { eps: 0.1, steps: 2, batchSize: 5 };
      const pooled = await attackWith(2, 'pgd', custom, x, y, params);
      await attackWith(2, 'pgd', custom, x, y, params);
      expectSame(await attackWith(0, 'pgd', custom, x, y, params), pooled);
      const lines = err.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('cannot be copied to the worker threads'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/PoolTestDoubler/);
      // The pool itself still works for the other model.
      expectSame(await attackWith(0, 'pgd', model, x, y, params), await attackWith(2, 'pgd', model, x, y, params));
    } finally {
      err.mockRestore();
      if (quiet !== undefined) process.env.ROBUSTNESS_QUIET = quiet;
      custom.dispose();
    }
  });

  it('falls back to the calling thread, with one warning, when the workers cannot start', async () => {
    await closeWorkerPool();
    setWorkerEntry(new URL('./no-such-worker.js', import.meta.url));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const quiet = process.env.ROBUSTNESS_QUIET;
    delete process.env.ROBUSTNESS_QUIET;
    try {
      const params = { eps: 0.1, steps: 2, batchSize: 5 };
      const a = await attackWith(2, 'pgd', model, x, y, params);
      const b = await attackWith(2, 'pgd', model, x, y, params);
      expectSame(await attackWith(0, 'pgd', model, x, y, params), a);
      expectSame(a, b);
      const lines = err.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('worker threads could not start'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/run in the test's own thread/);
    } finally {
      err.mockRestore();
      if (quiet !== undefined) process.env.ROBUSTNESS_QUIET = quiet;
    }
  });
});

describe('worker threads on the shipped resnet20-base', () => {
  it('PGD-10, Grad-CAM and the sliding patch: the same as the calling thread, no tensors left', async () => {
    const model = await loadModel(FIXTURE);
    const s = await cifar10.test({ count: 6, seed: 1 });
    try {
      const params = { eps: 8 / 255, steps: 3, batchSize: 4, seed: 2 };
      expectSame(await attackWith(0, 'pgd', model, s.images, s.labels, params), await attackWith(2, 'pgd', model, s.images, s.labels, params));
      for (const [method, p] of [
        [gradcam, { batchSize: 4 }],
        [occlusion, { patch: 4, stride: 4, batchSize: 64 }],
      ] as const) {
        const maps: Float32Array[] = [];
        for (const threads of [0, 2]) {
          setWorkerThreads(threads);
          const n0 = tf.memory().numTensors;
          const m = await (method as (m: tf.LayersModel, x: tf.Tensor4D, p: object) => Promise<tf.Tensor3D>)(model, s.images, p);
          maps.push((await m.data()) as Float32Array);
          m.dispose();
          expect(tf.memory().numTensors).toBe(n0);
        }
        let worst = 0;
        for (let i = 0; i < maps[0]!.length; i++) worst = Math.max(worst, Math.abs(maps[0]![i]! - maps[1]![i]!));
        expect(worst).toBeLessThanOrEqual(1e-5);
        expect(Math.max(...maps[1]!)).toBeGreaterThan(0);
      }
    } finally {
      model.dispose();
      tf.dispose([s.images, s.labels]);
    }
  });

  it('the sliding patch at stride 2 (patch 4 and 2, target given or not) on 3 images split 2 + 1: the calling thread\'s maps', async () => {
    const model = await loadModel(FIXTURE);
    const s = await cifar10.test({ count: 3, seed: 8 });
    try {
      for (const [patch, target] of [
        [4, undefined],
        [2, s.labels],
      ] as const) {
        const maps: Float32Array[] = [];
        for (const threads of [0, 2]) {
          setWorkerThreads(threads);
          const n0 = tf.memory().numTensors;
          const m = await occlusion(model, s.images, { patch, stride: 2, batchSize: 128, target });
          maps.push((await m.data()) as Float32Array);
          m.dispose();
          expect(tf.memory().numTensors).toBe(n0);
        }
        let worst = 0;
        for (let i = 0; i < maps[0]!.length; i++) worst = Math.max(worst, Math.abs(maps[0]![i]! - maps[1]![i]!));
        expect(worst).toBeLessThanOrEqual(1e-6);
        // Each image's map reaches 1 (scaled by its maximum), the pooled ones included.
        for (let i = 0; i < 3; i++) expect(Math.max(...maps[1]!.subarray(i * 1024, (i + 1) * 1024))).toBe(1);
      }
      expect(workerThreads().length).toBe(2);
    } finally {
      model.dispose();
      tf.dispose([s.images, s.labels]);
    }
  });
});

describe('worker threads and the process', () => {
  it('a script that attacks with the pool and never closes it exits by itself', () => {
    const script = fileURLToPath(new URL('../test-support/poolExit.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 100_000, env: { ...process.env, ROBUSTNESS_WORKERS: '2' } });
    expect(run.error).toBeUndefined();
    expect(run.stderr).not.toMatch(/could not start/);
    expect(run.stdout).toMatch(/pooled 2 threads, 6 rows/);
    expect(run.status).toBe(0);
  });
});
