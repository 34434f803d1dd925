import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModel } from '../models/build.js';
import { loadModel, saveModel } from '../models/io.js';
import { bandsDataset } from '../test-support/synthetic.js';
import { train } from './train.js';

const root = mkdtempSync(join(tmpdir(), 'train-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tiny = () => buildModel({ arch: 'cnn1', width: 0.1, seed: 3 });

describe('train', () => {
  it('lowers the loss on a learnable synthetic task and records history', async () => {
    const data = bandsDataset({ count: 96, seed: 1 });
    const model = tiny();
    const { history } = await train(model, data, { epochs: 4, batchSize: 16, augment: false, progress: false, seed: 1, validation: bandsDataset({ count: 32, seed: 2 }) });
    expect(history).toHaveLength(4);
    expect(history[3]!.loss).toBeLessThan(history[0]!.loss * 0.7);
    expect(history[3]!.valAccuracy).toBeGreaterThan(0.8);
    model.dispose();
  });

  it('applies an activity penalty to the named layer, which lowers its density', async () => {
    const data = bandsDataset({ count: 64, seed: 1 });
    const density = async (lambda: number) => {
      const model = tiny();
      await train(model, data, { epochs: 3, batchSize: 16, augment: false, progress: false, activityL1: lambda ? { layer: 'hidden', lambda } : undefined });
      const d = tf.tidy(() => {
        const hidden = tf.model({ inputs: model.inputs, outputs: model.getLayer('hidden').output as tf.SymbolicTensor });
        return (hidden.predict(data.toSamples().images) as tf.Tensor).greater(0).mean().dataSync()[0]!;
      });
      model.dispose();
      return d;
    };
    expect(await density(0.05)).toBeLessThan(await density(0));
    await expect(train(tiny(), data, { epochs: 1, progress: false, activityL1: { layer: 'nope', lambda: 1 } })).rejects.toThrow(/names layer 'nope'.*Its layers: image, hidden/);
  });

  it('leaves no tensors behind, checkpointing and resuming included', async () => {
    const model = tiny();
    const data = bandsDataset({ count: 32, seed: 6 });
    const out = join(root, 'leak');
    await train(model, data, { epochs: 1, batchSize: 16, progress: false, out });
    const before = tf.memory().numTensors;
    await train(model, data, { epochs: 2, batchSize: 16, progress: false, out, resume: true });
    await train(model, data, { epochs: 2, batchSize: 16, progress: false, out: join(root, 'leak2') });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('saves every epoch, resumes from the last one with the optimizer state, and matches an uninterrupted run', async () => {
    const data = bandsDataset({ count: 48, seed: 4 });
    const out = join(root, 'resume');
    const a = tiny();
    await train(a, data, { epochs: 1, batchSize: 16, progress: false, out, seed: 2 });
    expect(JSON.parse(readFileSync(join(out, 'history.json'), 'utf8'))).toHaveLength(1);
    a.dispose();
    const resumed = await loadModel(out);
    const r = await train(resumed, data, { epochs: 2, batchSize: 16, progress: false, out, resume: true, seed: 2 });
    expect(r.history.map((h) => h.epoch)).toEqual([1, 2]);

    const straight = tiny();
    const s = await train(straight, data, { epochs: 2, batchSize: 16, progress: false, seed: 2 });
    expect(r.history[1]!.loss).toBeCloseTo(s.history[1]!.loss, 4);
    const x = data.toSamples().images;
    const [pa, pb] = tf.tidy(() => [resumed.predict(x) as tf.Tensor, straight.predict(x) as tf.Tensor]);
    expect(pa!.sub(pb!).abs().max().dataSync()[0]).toBeLessThan(1e-4);
    tf.dispose([x, pa!, pb!]);
    resumed.dispose();
    straight.dispose();
  });

  it('save then load predicts identically, and bad folders get clear errors', async () => {
    const model = buildModel({ arch: 'resnet', depth: 8, width: 0.25, seed: 5 });
    const dir = join(root, 'saved');
    await saveModel(model, dir);
    const back = await loadModel(dir);
    const x = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 9);
    const [a, b] = tf.tidy(() => [model.predict(x) as tf.Tensor, back.predict(x) as tf.Tensor]);
    expect(Array.from(a!.dataSync())).toEqual(Array.from(b!.dataSync()));
    tf.dispose([x, a!, b!]);
    await expect(loadModel(join(root, 'nothing-here'))).rejects.toThrow(/model.json is missing. Save one there with saveModel\(\) or train\(\)/);
    writeFileSync(join(dir, 'weights.bin'), readFileSync(join(dir, 'weights.bin')).subarray(0, 100));
    await expect(loadModel(dir)).rejects.toThrow(/truncated or from different models/);
    model.dispose();
    back.dispose();
  });

  it('an abort from a timer or signal handler stops the run within the epoch (the loop yields to the event loop)', async () => {
    const data = bandsDataset({ count: 256, seed: 8 });
    const model = tiny();
    const controller = new AbortController();
    // A macrotask, as a SIGINT handler is: it can only run if the batch loop yields.
    setTimeout(() => controller.abort(), 0);
    const r = await train(model, data, { epochs: 1, batchSize: 4, progress: false, seed: 1, signal: controller.signal });
    expect(r.interrupted).toBe(true);
    expect(r.history).toHaveLength(0);
    model.dispose();
  });

  it('a killed run leaves the last completed epoch intact and loadable', async () => {
    const out = join(root, 'killed');
    const script = join(root, 'long-run.mts');
    const src = (p: string) => JSON.stringify(fileURLToPath(new URL(p, import.meta.url)));
    writeFileSync(
      script,
      `import { initBackend } from ${src('../backend/select.ts')};
import { buildModel } from ${src('../models/build.ts')};
import { bandsDataset } from ${src('../test-support/synthetic.ts')};
import { train } from ${src('./train.ts')};
await initBackend({ backend: 'wasm', announce: false });
const model = buildModel({ arch: 'cnn1', width: 0.1 });
await train(model, bandsDataset({ count: 64 }), { epochs: 1000, batchSize: 8, progress: false, out: ${JSON.stringify(out)} });
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: 'ignore' });
    try {
      // Wait for two saved epochs, then kill it mid-way through a later one.
      const deadline = Date.now() + 60_000;
      const epochs = () => (existsSync(join(out, 'history.json')) ? (JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')) as unknown[]).length : 0);
      while (epochs() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(epochs()).toBeGreaterThanOrEqual(2);
      await new Promise((r) => setTimeout(r, 37));
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    const model = await loadModel(out);
    expect(model.countParams()).toBeGreaterThan(0);
    const history = JSON.parse(readFileSync(join(out, 'history.json'), 'utf8')) as { epoch: number }[];
    expect(history.map((h) => h.epoch)).toEqual(history.map((_, i) => i + 1));
    expect(readdirSync(out).sort()).toEqual(['history.json', 'model.json', 'optimizer.bin', 'optimizer.json', 'train-state.json', 'weights.bin']);
    model.dispose();
  });
});

describe('train with sgd', () => {
  it('follows the learning-rate schedule (momentum 0.9) and leaks no tensor', async () => {
    // One batch of all 16 images per epoch, so the order does not change the mean loss. By hand:
    // w1 = w0 - lr0 g(w0); w2 = w1 - lr1 (0.9 g(w0) + g(w1)), with cosine lr0 = 0.1, lr1 = 0.05.
    const data = bandsDataset({ count: 16, seed: 9 });
    const expected = tiny();
    const vars = expected.trainableWeights.map((w) => w.read() as tf.Variable);
    const { xs, ys } = data.batches({ batchSize: 16 }).next().value!;
    const gradsAt = () => tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(ys, 10), expected.apply(xs, { training: true }) as tf.Tensor2D) as tf.Scalar, vars).grads;
    const g0 = gradsAt();
    for (const v of vars) v.assign(v.sub(g0[v.name]!.mul(0.1)));
    const g1 = gradsAt();
    for (const v of vars) v.assign(v.sub(g0[v.name]!.mul(0.9).add(g1[v.name]!).mul(0.05)));
    tf.dispose([xs, ys, ...Object.values(g0), ...Object.values(g1)]);

    const model = tiny();
    const before = tf.memory().numTensors;
    await train(model, data, { epochs: 2, batchSize: 16, optimizer: 'sgd', learningRate: 0.1, schedule: 'cosine', augment: false, progress: false });
    expect(tf.memory().numTensors).toBe(before);
    for (const [i, w] of model.trainableWeights.entries()) {
      const got = (w.read() as tf.Tensor).dataSync();
      const want = vars[i]!.dataSync();
      let diff = 0;
      for (let k = 0; k < got.length; k++) diff = Math.max(diff, Math.abs(got[k]! - want[k]!));
      expect(diff).toBeLessThan(1e-5);
    }
    model.dispose();
    expected.dispose();
  });
});
