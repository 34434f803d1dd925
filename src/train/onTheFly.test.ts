import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import type { ImageDataset } from '../data/dataset.js';
import { mulberry32 } from '../util/random.js';
import { buildModel } from '../models/build.js';
import { loadModel, readCard } from '../models/io.js';
import { bandsDataset } from '../test-support/synthetic.js';
import { adversarialBatch, batchSeed, onTheFlyAdversarialTraining, resolveOnTheFlyAttack } from './onTheFly.js';

const root = mkdtempSync(join(tmpdir(), 'otf-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tiny = () => buildModel({ arch: 'cnn1', width: 0.1, seed: 3 });
const EPS = 8 / 255;

/**
 * FGSM-RS / PGD written out independently on plain arrays: the start is x + u with u_i =
 * (2 r_i - 1) eps from mulberry32(seed), clipped to [0, 1]; each step adds stepSize * sign of the
 * input gradient of the mean cross-entropy (log-softmax written out), then clips to
 * [x - eps, x + eps] and [0, 1]. `ambiguous` holds the pixels whose gradient was within float32
 * rounding of 0 at some step (|g| < 1e-6 max|g|), where the sign is not determined by the maths.
 */
function reference(model: tf.LayersModel, xs: tf.Tensor4D, ys: tf.Tensor1D, eps: number, stepSize: number, steps: number, seed: number): Float32Array & { ambiguous?: Set<number> } {
  const x = xs.dataSync() as Float32Array;
  const rand = mulberry32(seed);
  const adv: Float32Array & { ambiguous?: Set<number> } = new Float32Array(x.length);
  adv.ambiguous = new Set();
  for (let i = 0; i < x.length; i++) adv[i] = Math.min(1, Math.max(0, x[i]! + (2 * rand() - 1) * eps));
  const labels = Array.from(ys.dataSync());
  for (let s = 0; s < steps; s++) {
    const g = tf.tidy(() =>
      tf.grad((input: tf.Tensor) => {
        const logits = model.predict(input) as tf.Tensor2D;
        const logp = logits.sub(logits.exp().sum(1, true).log());
        return logp.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), logits.shape[1])).sum().neg().div(labels.length);
      })(tf.tensor(adv, xs.shape)),
    );
    const gv = g.dataSync();
    g.dispose();
    let big = 0;
    for (const v of gv) big = Math.max(big, Math.abs(v));
    for (let i = 0; i < adv.length; i++) {
      if (Math.abs(gv[i]!) < 1e-6 * big) adv.ambiguous.add(i);
      const stepped = adv[i]! + stepSize * Math.sign(gv[i]!);
      adv[i] = Math.min(1, Math.max(0, Math.min(x[i]! + eps, Math.max(x[i]! - eps, stepped))));
    }
  }
  return adv;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, skip?: Set<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) if (!skip?.has(i)) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Equal to the reference to float32 tolerance, except on the few pixels whose gradient sign rounding decides. */
function expectMatches(got: ArrayLike<number>, want: Float32Array & { ambiguous?: Set<number> }): void {
  expect(want.ambiguous!.size).toBeLessThan(want.length / 1000);
  expect(maxAbsDiff(got, want, want.ambiguous)).toBeLessThan(1e-5);
}

function firstBatch(data: ImageDataset, batchSize: number, seed: number) {
  return data.batches({ batchSize, shuffle: true, seed }).next().value!;
}

describe('resolveOnTheFlyAttack', () => {
  it("fills in Wong et al.'s and Madry et al.'s step sizes and refuses settings that attack nothing", () => {
    expect(resolveOnTheFlyAttack({ method: 'fgsm-rs', eps: EPS })).toEqual({ method: 'fgsm-rs', eps: EPS, stepSize: 1.25 * EPS, steps: 1, cleanFraction: 0 });
    expect(resolveOnTheFlyAttack({ method: 'pgd', eps: EPS })).toEqual({ method: 'pgd', eps: EPS, stepSize: EPS / 4, steps: 7, cleanFraction: 0 });
    expect(() => resolveOnTheFlyAttack({ method: 'fgsm-rs', eps: 0 })).toThrow(/eps must be/);
    expect(() => resolveOnTheFlyAttack({ method: 'fgsm-rs', eps: EPS, steps: 3 })).toThrow(/one step/);
    expect(() => resolveOnTheFlyAttack({ method: 'pgd', eps: EPS, steps: 0 })).toThrow(/steps must be/);
    expect(() => resolveOnTheFlyAttack({ method: 'pgd', eps: EPS, cleanFraction: 1 })).toThrow(/cleanFraction/);
    expect(() => resolveOnTheFlyAttack({ method: 'free' as never, eps: EPS })).toThrow(/Unknown on-the-fly/);
  });

  it('seeds each batch differently, and the same batch the same', () => {
    expect(batchSeed(1, 0, 0)).toBe(batchSeed(1, 0, 0));
    const seeds = new Set([batchSeed(1, 0, 0), batchSeed(1, 0, 1), batchSeed(1, 1, 0), batchSeed(2, 0, 0)]);
    expect(seeds.size).toBe(4);
  });
});

describe('adversarialBatch', () => {
  it('equals FGSM-RS and PGD computed independently from the same seed, within the budget, leaking nothing', () => {
    const model = tiny();
    const data = bandsDataset({ count: 12, seed: 4 });
    const { xs, ys } = firstBatch(data, 12, 1);
    for (const [method, steps, stepSize] of [['fgsm-rs', 1, 1.25 * EPS], ['pgd', 3, EPS / 4]] as const) {
      const attack = resolveOnTheFlyAttack({ method, eps: EPS, steps, stepSize });
      const before = tf.memory().numTensors;
      const adv = adversarialBatch(model, xs, ys, attack, 77);
      expect(tf.memory().numTensors).toBe(before + 1);
      const got = adv.dataSync();
      adv.dispose();
      expectMatches(got, reference(model, xs, ys, EPS, stepSize, steps, 77));
      // It moved the images, and by at most eps.
      const clean = xs.dataSync();
      const moved = maxAbsDiff(got, clean);
      expect(moved).toBeGreaterThan(EPS / 2);
      expect(moved).toBeLessThanOrEqual(EPS + 1e-6);
      expect(Math.min(...got)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...got)).toBeLessThanOrEqual(1);
    }
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('keeps the first cleanFraction of the batch clean and attacks the rest as a batch of its own', () => {
    const model = tiny();
    const { xs, ys } = firstBatch(bandsDataset({ count: 8, seed: 2 }), 8, 3);
    const adv = adversarialBatch(model, xs, ys, resolveOnTheFlyAttack({ method: 'fgsm-rs', eps: EPS, cleanFraction: 0.25 }), 5);
    const per = 32 * 32 * 3;
    const got = adv.dataSync();
    const clean = xs.dataSync();
    expect(maxAbsDiff(got.subarray(0, 2 * per), clean.subarray(0, 2 * per))).toBe(0);
    const restX = xs.slice([2, 0, 0, 0], [6, -1, -1, -1]);
    const restY = ys.slice([2], [6]);
    expectMatches(got.subarray(2 * per), reference(model, restX, restY, EPS, 1.25 * EPS, 1, 5));
    tf.dispose([adv, xs, ys, restX, restY]);
    model.dispose();
  });
});

describe('onTheFlyAdversarialTraining', () => {
  it('takes its step on the FGSM-RS batch: one SGD step equals the step computed by hand on the independent adversarial batch', async () => {
    const data = bandsDataset({ count: 16, seed: 6 });
    const seed = 4;
    const lr = 0.1;
    // By hand: the batch train draws (one batch of all 16, shuffled with epoch 0's seed), attacked
    // independently with the seed of (run seed, epoch 0, batch 0), then w - lr * dLoss/dw.
    const expected = tiny();
    const { xs, ys } = firstBatch(data, 16, seed * 7919);
    const adv = tf.tensor(reference(expected, xs, ys, EPS, 1.25 * EPS, 1, batchSeed(seed, 0, 0)), xs.shape);
    const weights = expected.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(ys, 10), expected.apply(adv, { training: true }) as tf.Tensor2D) as tf.Scalar, weights);
    const want = weights.map((w) => w.sub(grads[w.name]!.mul(lr)).dataSync());
    tf.dispose([xs, ys, adv, ...Object.values(grads)]);

    const model = tiny();
    const before = tf.memory().numTensors;
    const result = await onTheFlyAdversarialTraining(model, data, { attack: { method: 'fgsm-rs', eps: EPS }, epochs: 1, batchSize: 16, optimizer: 'sgd', learningRate: lr, schedule: 'constant', augment: false, seed, progress: false });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.history).toHaveLength(1);
    const got = model.trainableWeights.map((w) => (w.read() as tf.Tensor).dataSync());
    // It moved the weights, and exactly as the step on the adversarial batch does.
    const init = tiny().trainableWeights.map((w) => (w.read() as tf.Tensor).dataSync());
    expect(Math.max(...got.map((g, i) => maxAbsDiff(g, init[i]!)))).toBeGreaterThan(1e-4);
    for (const [i, g] of got.entries()) expect(maxAbsDiff(g, want[i]!)).toBeLessThan(1e-5);
    model.dispose();
    expected.dispose();
  });

  it('resumed after an interruption, ends with the weights of an uninterrupted run, and records the attack on the card', async () => {
    const data = bandsDataset({ count: 32, seed: 7 });
    const card = { name: 'otf', spec: { arch: 'cnn1' as const, width: 0.1, numClasses: 10, inputShape: [32, 32, 3] as [number, number, number], seed: 3 }, output: 'logits' as const, data: { name: 'bands' } };
    const base = { attack: { method: 'pgd' as const, eps: EPS, steps: 2 }, epochs: 3, batchSize: 8, learningRate: 3e-3, seed: 2, progress: false, card: card as never };

    const straight = tiny();
    await onTheFlyAdversarialTraining(straight, data, { ...base, out: join(root, 'straight') });

    const out = join(root, 'interrupted');
    const controller = new AbortController();
    const first = tiny();
    const r1 = await onTheFlyAdversarialTraining(first, data, { ...base, out, signal: controller.signal, onEpochEnd: (rec) => (rec.epoch === 1 ? controller.abort() : undefined) });
    expect(r1.interrupted).toBe(true);
    first.dispose();
    const resumed = await loadModel(out);
    const before = tf.memory().numTensors;
    const r2 = await onTheFlyAdversarialTraining(resumed, data, { ...base, out, resume: true });
    expect(tf.memory().numTensors).toBe(before);
    expect(r2.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    const a = straight.trainableWeights.map((w) => (w.read() as tf.Tensor).dataSync());
    const b = resumed.trainableWeights.map((w) => (w.read() as tf.Tensor).dataSync());
    for (const [i, w] of a.entries()) expect(maxAbsDiff(w, b[i]!)).toBeLessThan(1e-5);
    const adversarial = readCard(out)!.training.adversarial!;
    expect(adversarial).toMatchObject({ method: 'pgd', eps: EPS, steps: 2, stepSize: EPS / 4, cleanFraction: 0, seed: 2 });
    straight.dispose();
    resumed.dispose();
  });
});
