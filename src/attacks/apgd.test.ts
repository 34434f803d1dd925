// APGD and APGD-T: the paper's schedule, the DLR losses by hand, the properties every attack has,
// exact query counts, replay, and early exit.
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apgd } from './apgd.js';
import { apgdCheckpoints } from './apgdLoop.js';
import { apgdTargeted } from './apgdTargeted.js';
import { dlrLoss, targetedDlrLoss } from './losses.js';
import type { AttackResult } from './types.js';

const SHAPE: [number, number, number] = [3, 3, 2];
const D = 18;

function linearModel(k: number, seed: number, scale = 1): tf.LayersModel {
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: SHAPE }), tf.layers.dense({ units: k })] });
  const w = tf.tidy(() => tf.mul(tf.randomNormal([D, k], 0, 1, 'float32', seed), scale));
  const b = tf.randomNormal([k], 0, 0.5, 'float32', seed + 1);
  model.layers[1]!.setWeights([w, b]);
  tf.dispose([w, b]);
  return model;
}

async function budgetKept(r: AttackResult, x: tf.Tensor4D, norm: 'linf' | 'l2', eps: number): Promise<void> {
  const [lo, hi] = tf.tidy(() => [r.adversarial.min(), r.adversarial.max()]);
  expect((await lo!.data())[0]).toBeGreaterThanOrEqual(0);
  expect((await hi!.data())[0]).toBeLessThanOrEqual(1);
  tf.dispose([lo!, hi!]);
  const measured = tf.tidy(() => {
    const d = tf.sub(r.adversarial, x);
    return norm === 'linf' ? tf.max(tf.abs(d), [1, 2, 3]) : tf.sqrt(tf.sum(tf.square(d), [1, 2, 3]));
  });
  for (const v of await measured.data()) expect(v).toBeLessThanOrEqual(eps * (1 + 1e-5) + 1e-6);
  measured.dispose();
}

describe('APGD schedule', () => {
  it('checkpoints follow p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06) from p_1 = 0.22', () => {
    // By hand: p = 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99.
    expect(apgdCheckpoints(100)).toEqual([22, 41, 57, 70, 80, 87, 93, 99]);
    expect(apgdCheckpoints(10)).toEqual([3, 5, 6, 7, 8, 9, 10]);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), (steps) => {
        const w = apgdCheckpoints(steps);
        expect(w.every((v, i) => v >= 1 && v <= steps && (i === 0 || v > w[i - 1]!))).toBe(true);
      }),
    );
  });
});

describe('DLR losses', () => {
  it('match the formulas on hand-computed logits', async () => {
    const z = tf.tensor2d([[3, 1, 2, 0]]);
    const y = tf.tensor1d([0], 'int32');
    const t = tf.tensor1d([3], 'int32');
    // -(3 - 2) / (3 - 1) and -(3 - 0) / (3 - (1 + 0) / 2)
    const [d, dt] = [dlrLoss(z, y), targetedDlrLoss(z, y, t)];
    expect((await d.data())[0]).toBeCloseTo(-0.5, 6);
    expect((await dt.data())[0]).toBeCloseTo(-1.2, 6);
    tf.dispose([z, y, t, d, dt]);
  });

  it('are invariant to shifting and positive scaling of the logits, and differentiable', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 5, maxLength: 5 }), fc.double({ min: 0.1, max: 10, noNaN: true }), fc.double({ min: -10, max: 10, noNaN: true }), fc.integer({ min: 0, max: 4 }), async (row, a, b, label) => {
        const sorted = [...row].sort((p, q) => q - p);
        // Both denominators (z_pi1 - z_pi3, and z_pi1 - (z_pi3 + z_pi4) / 2 >= it) far above the 1e-12 guard,
        // which is the one part of the losses that is not scale-free.
        fc.pre(sorted[0]! - sorted[2]! > 0.1);
        const z = tf.tensor2d([row]);
        const y = tf.tensor1d([label], 'int32');
        const t = tf.tensor1d([(label + 1) % 5], 'int32');
        const zs = tf.tidy(() => tf.add(tf.mul(z, a), b) as tf.Tensor2D);
        const vals = await Promise.all([dlrLoss(z, y), dlrLoss(zs, y), targetedDlrLoss(z, y, t), targetedDlrLoss(zs, y, t)].map(async (v) => (await v.data())[0]!));
        expect(vals[1]).toBeCloseTo(vals[0]!, 3);
        expect(vals[3]).toBeCloseTo(vals[2]!, 3);
        const g = tf.grad((v: tf.Tensor) => tf.sum(dlrLoss(v as tf.Tensor2D, y)))(z);
        expect(Array.from(await g.data()).every(Number.isFinite)).toBe(true);
        tf.dispose([z, y, t, zs, g]);
      }),
      { numRuns: 25 },
    );
  });
});

const batchArb = fc.integer({ min: 1, max: 4 }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: n * D, maxLength: n * D }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n })));

describe('every APGD variant', () => {
  const variants = [
    { label: 'apgd-ce linf', attack: apgd, norm: 'linf' as const, params: {} },
    { label: 'apgd-dlr linf', attack: apgd, norm: 'linf' as const, params: { loss: 'dlr' } },
    { label: 'apgd-ce l2', attack: apgd, norm: 'l2' as const, params: { norm: 'l2' } },
    { label: 'apgd targeted ce', attack: apgd, norm: 'linf' as const, params: { target: 2 } },
    { label: 'apgd targeted dlr', attack: apgd, norm: 'linf' as const, params: { target: 1, loss: 'dlr' } },
    { label: 'apgd-t', attack: apgdTargeted, norm: 'linf' as const, params: { targetClasses: 2 } },
  ];
  for (const v of variants) {
    it(`${v.label}: keeps budget and box in chunks, flags agree with predictions, leaks nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(batchArb, fc.double({ min: 0.005, max: 0.5, noNaN: true }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 3 }), async ([n, pixels, labels], eps, seed, batchSize) => {
          const model = linearModel(4, seed);
          const x = tf.tensor4d(pixels, [n, ...SHAPE]);
          const y = tf.tensor1d(labels, 'int32');
          const e = v.norm === 'l2' ? eps * 4 : eps;
          const before = tf.memory().numTensors;
          const r = await (v.attack as typeof apgd).run(model, x, y, { ...(v.params as object), eps: e, steps: 12, seed, batchSize });
          expect(tf.memory().numTensors).toBe(before + 1);
          await budgetKept(r, x, v.norm, e);
          const after = tf.tidy(() => (model.predict(r.adversarial) as tf.Tensor).argMax(1));
          expect(Array.from(await after.data())).toEqual(Array.from(r.predsAfter));
          after.dispose();
          r.success.forEach((s, i) => expect(s).toBe(r.target ? r.predsAfter[i] === r.target[i] : r.predsAfter[i] !== r.predsBefore[i]));
          tf.dispose([x, y, r.adversarial]);
          model.dispose();
        }),
        { numRuns: 8 },
      );
    });
  }
});

describe('APGD work and replay', () => {
  it('spends exactly steps gradients per restart on a sample it cannot break, and none on one already misclassified', async () => {
    // Class 0 wins by far more than any eps = 0.01 perturbation can change.
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: SHAPE }), tf.layers.dense({ units: 3 })] });
    const w = tf.fill([D, 3], 0.01);
    const b = tf.tensor1d([10, 0, 0]);
    model.layers[1]!.setWeights([w, b]);
    const x = tf.fill([3, ...SHAPE], 0.5) as tf.Tensor4D;
    const y = tf.tensor1d([0, 0, 1], 'int32'); // the third is misclassified from the start
    const r = await apgd.run(model, x, y, { eps: 0.01, steps: 7, restarts: 2 });
    // 2 robust samples x 7 steps x 2 restarts; forward: clean (3) + last iterate of each restart (2 x 2) + final (3).
    expect(r.queries).toEqual({ gradient: 28, forward: 10 });
    expect(Array.from(r.predsAfter)).toEqual([0, 0, 0]);
    expect(r.linf[2]).toBe(0);
    tf.dispose([w, b, x, y, r.adversarial]);
    model.dispose();
  });

  it('replays exactly from its seed, and a sample leaves the run once broken', async () => {
    const model = linearModel(5, 11);
    const x = tf.randomUniform([6, ...SHAPE], 0, 1, 'float32', 3) as tf.Tensor4D;
    const y = tf.tidy(() => (model.predict(x) as tf.Tensor).argMax(1).toInt() as tf.Tensor1D);
    const a = await apgd.run(model, x, y, { eps: 0.3, seed: 4 });
    const b = await apgd.run(model, x, y, { eps: 0.3, seed: 4 });
    expect(Array.from(await b.adversarial.data())).toEqual(Array.from(await a.adversarial.data()));
    expect(b.queries).toEqual(a.queries);
    // eps 0.3 breaks every sample of this model within a few steps, far fewer than 100 each.
    expect(a.success.every(Boolean)).toBe(true);
    expect(a.queries.gradient).toBeLessThan(6 * 100);
    tf.dispose([x, y, a.adversarial, b.adversarial]);
    model.dispose();
  });

  it('targeted APGD reaches a target that lies inside the ball, and only there', async () => {
    // z_3 = sum(x) - 10 beats the other classes' constant logits (1, 0.5, 0.2) once sum(x) > 11:
    // from x = 0.5 (sum 9) that needs an Linf step above 2/18 = 0.111.
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: SHAPE }), tf.layers.dense({ units: 4 })] });
    const w = tf.tidy(() => tf.concat([tf.zeros([D, 3]), tf.ones([D, 1])], 1));
    const b = tf.tensor1d([1, 0.5, 0.2, -10]);
    model.layers[1]!.setWeights([w, b]);
    const x = tf.fill([2, ...SHAPE], 0.5) as tf.Tensor4D;
    const y = tf.tensor1d([0, 0], 'int32');
    const reach = await apgd.run(model, x, y, { eps: 0.12, target: 3, steps: 20 });
    const miss = await apgd.run(model, x, y, { eps: 0.1, target: 3, steps: 20 });
    expect(Array.from(reach.predsAfter)).toEqual([3, 3]);
    expect(Array.from(miss.predsAfter)).toEqual([0, 0]);
    tf.dispose([w, b, x, y, reach.adversarial, miss.adversarial]);
    model.dispose();
  });

  it('rejects bad parameters with the fix', async () => {
    const model = linearModel(3, 1);
    const x = tf.fill([1, ...SHAPE], 0.5) as tf.Tensor4D;
    const y = tf.tensor1d([0], 'int32');
    await expect(apgd.run(model, x, y, { loss: 'hinge' as never })).rejects.toThrow(/loss must be 'ce' or 'dlr'/);
    await expect(apgd.run(model, x, y, { steps: 0 })).rejects.toThrow(/steps must be a positive integer/);
    await expect(apgd.run(model, x, y, { restarts: 1.5 })).rejects.toThrow(/restarts/);
    await expect(apgdTargeted.run(model, x, y)).rejects.toThrow(/at least 4 classes/);
    await expect(apgdTargeted.run(model, x, y, { target: 1 } as never)).rejects.toThrow(/untargeted/);
    await expect(apgd.run(model, x, y, { loss: 'dlr', target: 1 })).rejects.toThrow(/at least 4 classes/);
    tf.dispose([x, y]);
    model.dispose();
  });
});
