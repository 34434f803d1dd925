// Square: the paper's p schedule, the properties every attack has, exact query counts, replay.
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { square, squareFraction } from './square.js';

const SHAPE: [number, number, number] = [4, 4, 3];
const D = 48;

function linearModel(k: number, seed: number): tf.LayersModel {
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: SHAPE }), tf.layers.dense({ units: k })] });
  const w = tf.randomNormal([D, k], 0, 1, 'float32', seed);
  const b = tf.randomNormal([k], 0, 0.5, 'float32', seed + 1);
  model.layers[1]!.setWeights([w, b]);
  tf.dispose([w, b]);
  return model;
}

describe('Square schedule', () => {
  it('halves p after iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 of 10,000, rescaled to the budget', () => {
    const at = (it: number, total = 10_000) => squareFraction(it, total, 0.8);
    expect([0, 10, 11, 50, 51, 200, 201, 500, 501, 1000, 1001, 2000, 2001, 4000, 4001, 6000, 6001, 8000, 8001, 9999].map((i) => at(i) / 0.8)).toEqual([
      1, 1, 1 / 2, 1 / 2, 1 / 4, 1 / 4, 1 / 8, 1 / 8, 1 / 16, 1 / 16, 1 / 32, 1 / 32, 1 / 64, 1 / 64, 1 / 128, 1 / 128, 1 / 256, 1 / 256, 1 / 512, 1 / 512,
    ]);
    // 1,000 queries: iteration 2 is iteration 20 of 10,000.
    expect(at(1, 1000)).toBe(0.8);
    expect(at(2, 1000)).toBe(0.4);
    expect(at(100, 1000)).toBe(0.8 / 16);
    expect(at(101, 1000)).toBe(0.8 / 32);
  });
});

const batchArb = fc.integer({ min: 1, max: 4 }).chain((n) => fc.tuple(fc.constant(n), fc.array(fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: n * D, maxLength: n * D }), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n })));

describe('every Square variant', () => {
  for (const v of [
    { label: 'linf', norm: 'linf' as const, params: {} },
    { label: 'l2', norm: 'l2' as const, params: { norm: 'l2' as const } },
    { label: 'linf targeted', norm: 'linf' as const, params: { target: 1 } },
    { label: 'l2 targeted', norm: 'l2' as const, params: { norm: 'l2' as const, target: 2 } },
  ]) {
    it(`${v.label}: keeps budget and box in chunks, flags agree with predictions, no gradients, leaks nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(batchArb, fc.double({ min: 0.005, max: 0.5, noNaN: true }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 3 }), async ([n, pixels, labels], eps, seed, batchSize) => {
          const model = linearModel(3, seed);
          const x = tf.tensor4d(pixels, [n, ...SHAPE]);
          const y = tf.tensor1d(labels, 'int32');
          const e = v.norm === 'l2' ? eps * 4 : eps;
          const before = tf.memory().numTensors;
          const r = await square.run(model, x, y, { ...v.params, eps: e, queries: 40, seed, batchSize });
          expect(tf.memory().numTensors).toBe(before + 1);
          const [lo, hi, norms, preds] = tf.tidy(() => {
            const d = tf.sub(r.adversarial, x);
            return [r.adversarial.min(), r.adversarial.max(), v.norm === 'linf' ? tf.max(tf.abs(d), [1, 2, 3]) : tf.sqrt(tf.sum(tf.square(d), [1, 2, 3])), (model.predict(r.adversarial) as tf.Tensor).argMax(1)];
          });
          expect((await lo!.data())[0]).toBeGreaterThanOrEqual(0);
          expect((await hi!.data())[0]).toBeLessThanOrEqual(1);
          for (const m of await norms!.data()) expect(m).toBeLessThanOrEqual(e * (1 + 1e-5) + 1e-6);
          expect(Array.from(await preds!.data())).toEqual(Array.from(r.predsAfter));
          r.success.forEach((s, i) => expect(s).toBe(r.target ? r.predsAfter[i] === r.target[i] : r.predsAfter[i] !== r.predsBefore[i]));
          expect(r.queries.gradient).toBe(0);
          // clean + at most 40 per sample + final
          expect(r.queries.forward).toBeLessThanOrEqual(n * 42);
          tf.dispose([x, y, r.adversarial, lo!, hi!, norms!, preds!]);
          model.dispose();
        }),
        { numRuns: 8 },
      );
    });
  }

  it('spends exactly its query budget on a sample it cannot break, none on a misclassified one, and replays from its seed', async () => {
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: SHAPE }), tf.layers.dense({ units: 3 })] });
    const w = tf.fill([D, 3], 0.01);
    const b = tf.tensor1d([10, 0, 0]);
    model.layers[1]!.setWeights([w, b]);
    const x = tf.randomUniform([3, ...SHAPE], 0, 1, 'float32', 5) as tf.Tensor4D;
    const y = tf.tensor1d([0, 0, 2], 'int32');
    for (const norm of ['linf', 'l2'] as const) {
      const a = await square.run(model, x, y, { eps: 0.05, norm, queries: 25, seed: 3 });
      const again = await square.run(model, x, y, { eps: 0.05, norm, queries: 25, seed: 3 });
      const other = await square.run(model, x, y, { eps: 0.05, norm, queries: 25, seed: 4 });
      // clean (3) + 25 queries for each of the 2 correct samples + final (3)
      expect(a.queries).toEqual({ forward: 56, gradient: 0 });
      expect(Array.from(await again.adversarial.data())).toEqual(Array.from(await a.adversarial.data()));
      expect(Array.from(await other.adversarial.data())).not.toEqual(Array.from(await a.adversarial.data()));
      expect(a.linf[2]).toBe(0);
      // Square perturbs at the budget's edge: Linf at eps (unless the box cuts it), L2 with norm up to eps.
      if (norm === 'linf') expect(a.linf[0]).toBeCloseTo(0.05, 5);
      tf.dispose([a.adversarial, again.adversarial, other.adversarial]);
    }
    tf.dispose([w, b, x, y]);
    model.dispose();
  });

  it('rejects bad parameters with the fix', async () => {
    const model = linearModel(3, 1);
    const x = tf.fill([1, ...SHAPE], 0.5) as tf.Tensor4D;
    const y = tf.tensor1d([0], 'int32');
    await expect(square.run(model, x, y, { queries: 0 })).rejects.toThrow(/queries must be a positive integer/);
    await expect(square.run(model, x, y, { pInit: 1.5 })).rejects.toThrow(/pInit must be in \(0, 1\]/);
    await expect(square.run(model, x, y, { eps: 2 })).rejects.toThrow(/eps must be a number in \(0, 1\]/);
    tf.dispose([x, y]);
    model.dispose();
  });
});
