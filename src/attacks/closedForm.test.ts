// FGSM, PGD, DeepFool, CW, APGD and Square against what can be computed by hand on linear models.
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apgd } from './apgd.js';
import { cw } from './cw.js';
import { deepfool } from './deepfool.js';
import { fgsm } from './fgsm.js';
import { pgd } from './pgd.js';
import { square } from './square.js';

const SHAPE: [number, number, number] = [2, 3, 2];
const D = 12;

function dense(w: number[][], b: number[], softmax: boolean): tf.LayersModel {
  const k = b.length;
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: SHAPE }), tf.layers.dense({ units: k, activation: softmax ? 'softmax' : 'linear' })] });
  const wt = tf.tensor2d(w, [D, k]);
  const bt = tf.tensor1d(b);
  model.layers[1]!.setWeights([wt, bt]);
  tf.dispose([wt, bt]);
  return model;
}

const weightArb = (k: number) => fc.array(fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: k, maxLength: k }), { minLength: D, maxLength: D });
const imageArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: D, maxLength: D });

describe('FGSM closed form', () => {
  it('on a linear softmax model equals clip(x + eps * sign(W (softmax(z) - onehot(y))))', async () => {
    await fc.assert(
      fc.asyncProperty(weightArb(3), fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }), imageArb, fc.integer({ min: 0, max: 2 }), fc.double({ min: 0.01, max: 0.5, noNaN: true }), async (w, b, xs, label, eps) => {
        const model = dense(w, b, true);
        const x = tf.tensor4d(xs, [1, ...SHAPE]);
        const y = tf.tensor1d([label], 'int32');
        const r = await fgsm.run(model, x, y, { eps });
        const adv = await r.adversarial.data();
        tf.dispose([x, y, r.adversarial]);
        model.dispose();
        const z = [0, 1, 2].map((k) => b[k]! + xs.reduce((s, v, d) => s + v * w[d]![k]!, 0));
        const m = Math.max(...z);
        const e = z.map((v) => Math.exp(v - m));
        const p = e.map((v) => v / e.reduce((a, c) => a + c, 0));
        for (let d = 0; d < D; d++) {
          const g = w[d]!.reduce((s, wk, k) => s + wk * (p[k]! - (k === label ? 1 : 0)), 0);
          if (Math.abs(g) < 1e-5) continue; // sign of a float32 rounding of ~0 is not defined by the formula
          const expected = Math.min(1, Math.max(0, xs[d]! + eps * Math.sign(g)));
          expect(adv[d]).toBeCloseTo(expected, 5);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('PGD with one step of size eps and no random start equals FGSM (Linf and L2)', async () => {
    await fc.assert(
      fc.asyncProperty(weightArb(4), fc.array(imageArb, { minLength: 2, maxLength: 2 }), fc.constantFrom('linf' as const, 'l2' as const), fc.double({ min: 0.01, max: 0.8, noNaN: true }), async (w, imgs, norm, eps) => {
        const model = dense(w, [0, 0.1, -0.1, 0.2], false);
        const x = tf.tensor4d(imgs.flat(), [2, ...SHAPE]);
        const y = tf.tensor1d([1, 3], 'int32');
        const a = await fgsm.run(model, x, y, { eps, norm });
        const b = await pgd.run(model, x, y, { eps, norm, steps: 1, stepSize: eps, randomStart: false });
        expect(Array.from(await b.adversarial.data())).toEqual(Array.from(await a.adversarial.data()));
        expect(b.success).toEqual(a.success);
        tf.dispose([x, y, a.adversarial, b.adversarial]);
        model.dispose();
      }),
      { numRuns: 15 },
    );
  });
});

describe('targeted PGD', () => {
  it('reaches its target on an easy linear model', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 2 }), async (seed, target) => {
        const wt = tf.randomNormal([D, 3], 0, 1, 'float32', seed);
        const w = (await wt.array()) as number[][];
        wt.dispose();
        // Random weights need not let every class be reached inside the ball (a class can be
        // dominated everywhere). Keep the cases with a witness: the corner pushed toward the
        // target against both other classes scores the target highest.
        const corner = w.map((row) => 0.5 + 0.45 * Math.sign(2 * row[target]! - row.reduce((a, b) => a + b, 0) + row[target]!));
        const score = (k: number) => corner.reduce((a, v, i) => a + v * w[i]![k]!, 0);
        fc.pre([0, 1, 2].every((k) => k === target || score(target) > score(k)));
        const model = dense(w, [0, 0, 0], false);
        const x = tf.fill([3, ...SHAPE], 0.5) as tf.Tensor4D;
        const y = tf.tensor1d([0, 1, 2], 'int32');
        const r = await pgd.run(model, x, y, { eps: 0.45, steps: 20, target, seed });
        expect(Array.from(r.predsAfter)).toEqual([target, target, target]);
        expect(r.success).toEqual([true, true, true]);
        tf.dispose([x, y, r.adversarial]);
        model.dispose();
      }),
      { numRuns: 10 },
    );
  });
});

/** A binary linear model with logit difference f(x) = w.x + c, and an x with |f(x)| = dist * ||w||. */
function binaryCase(w: number[], xs: number[], signedDist: number, normOfW: number) {
  const f0 = signedDist * normOfW;
  const c = f0 - w.reduce((s, v, d) => s + v * xs[d]!, 0);
  const model = dense(
    w.map((v) => [0, v]),
    [0, c],
    false,
  );
  return { model, f0, label: f0 > 0 ? 1 : 0 };
}

const binaryArb = fc.record({
  w: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: D, maxLength: D }).filter((w) => Math.hypot(...w) > 0.2),
  xs: fc.array(fc.double({ min: 0.4, max: 0.6, noNaN: true }), { minLength: D, maxLength: D }),
  dist: fc.double({ min: 0.005, max: 0.08, noNaN: true }),
  side: fc.constantFrom(-1, 1),
});

// DeepFool's push (1e-4 by default, from the authors' code) is added to each step's distance to
// the boundary; on a linear model one step crosses, so the result lies (|f(x)| / ||w|| + push) *
// (1 + overshoot) from x. Push 0 is the step of the paper's equations.
const pushArb = fc.constantFrom(undefined, 0, 1e-4, 1e-3);

describe('DeepFool on a binary linear model', () => {
  it('L2: lands at (|f(x)| / ||w|| + push) * (1 + overshoot) from x, along w, and flips the label', async () => {
    await fc.assert(
      fc.asyncProperty(binaryArb, fc.constantFrom(0.02, 0.1), pushArb, async ({ w, xs, dist, side }, overshoot, push) => {
        const nw = Math.hypot(...w);
        const { model, f0, label } = binaryCase(w, xs, side * dist, nw);
        const x = tf.tensor4d(xs, [1, ...SHAPE]);
        const y = tf.tensor1d([label], 'int32');
        const r = await deepfool.run(model, x, y, { overshoot, push });
        const delta = Array.from(await r.adversarial.data(), (v, d) => v - xs[d]!);
        expect(r.l2[0]! / ((Math.abs(f0) / nw + (push ?? 1e-4)) * (1 + overshoot))).toBeCloseTo(1, 3);
        const cos = delta.reduce((s, v, d) => s + v * w[d]!, 0) / (Math.hypot(...delta) * nw);
        expect(Math.abs(cos)).toBeCloseTo(1, 4);
        expect(r.predsAfter[0]).toBe(1 - label);
        expect(r.success[0]).toBe(true);
        // One step crosses a linear boundary: one gradient pass, and forward passes for the clean
        // predictions, the candidate classes, the check after the step and the final predictions.
        expect(r.queries).toEqual({ forward: 4, gradient: 1 });
        tf.dispose([x, y, r.adversarial]);
        model.dispose();
      }),
      { numRuns: 25 },
    );
  });

  it('Linf: lands at (|f(x)| / ||w||_1 + push) * (1 + overshoot) in Linf and flips the label', async () => {
    await fc.assert(
      fc.asyncProperty(binaryArb, pushArb, async ({ w, xs, dist, side }, push) => {
        const n1 = w.reduce((s, v) => s + Math.abs(v), 0);
        const { model, f0, label } = binaryCase(w, xs, side * dist, n1);
        const x = tf.tensor4d(xs, [1, ...SHAPE]);
        const y = tf.tensor1d([label], 'int32');
        const r = await deepfool.run(model, x, y, { norm: 'linf', push });
        expect(r.linf[0]! / ((Math.abs(f0) / n1 + (push ?? 1e-4)) * 1.02)).toBeCloseTo(1, 3);
        expect(r.predsAfter[0]).toBe(1 - label);
        tf.dispose([x, y, r.adversarial]);
        model.dispose();
      }),
      { numRuns: 15 },
    );
  });
});

describe('Carlini-Wagner L2', () => {
  it('on a binary linear model succeeds, never beats the exact minimum |f(x)| / ||w||, and comes within 25% of it', async () => {
    await fc.assert(
      fc.asyncProperty(binaryArb, async ({ w, xs, dist, side }) => {
        const nw = Math.hypot(...w);
        const { model, f0, label } = binaryCase(w, xs, side * dist, nw);
        const x = tf.tensor4d(xs, [1, ...SHAPE]);
        const y = tf.tensor1d([label], 'int32');
        const r = await cw.run(model, x, y, { steps: 60, binarySearchSteps: 6, initialConst: 1, learningRate: 0.005 });
        const minimum = Math.abs(f0) / nw;
        expect(r.success[0]).toBe(true);
        expect(r.l2[0]!).toBeGreaterThanOrEqual(minimum * (1 - 1e-3));
        expect(r.l2[0]!).toBeLessThanOrEqual(minimum * 1.25);
        tf.dispose([x, y, r.adversarial]);
        model.dispose();
      }),
      { numRuns: 6 },
    );
  });
});

describe('APGD and Square on a binary linear model', () => {
  // The largest drop of the label's margin |f| that an Linf step of eps can buy inside [0, 1]:
  // each coordinate moves against sign(w_d) f by min(eps, room to the box's edge). A sample can be
  // broken exactly when that drop exceeds |f(x)|.
  const reachable = (w: number[], xs: number[], f0: number, eps: number) =>
    w.reduce((s, wd, d) => {
      const down = Math.sign(wd) * Math.sign(f0) > 0; // lowering |f| means lowering x_d
      return s + Math.abs(wd) * Math.min(eps, down ? xs[d]! : 1 - xs[d]!);
    }, 0);

  const caseArb = fc.record({
    w: fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: D, maxLength: D }).filter((w) => w.some((v) => Math.abs(v) > 0.1)),
    xs: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: D, maxLength: D }),
    eps: fc.double({ min: 0.01, max: 0.3, noNaN: true }),
    ratio: fc.double({ min: 0.5, max: 1.5, noNaN: true }),
    side: fc.constantFrom(-1, 1),
  });

  for (const attack of ['apgd', 'square'] as const) {
    it(`${attack} breaks a sample exactly when the closed-form Linf optimum does`, async () => {
      await fc.assert(
        fc.asyncProperty(caseArb, async ({ w, xs, eps, ratio, side }) => {
          const drop = reachable(w, xs, side, eps);
          fc.pre(drop > 1e-3 && Math.abs(ratio - 1) > 0.01);
          // |f(x)| = ratio * drop: breakable exactly when ratio < 1.
          const c = side * ratio * drop - w.reduce((s, v, d) => s + v * xs[d]!, 0);
          const model = dense(
            w.map((v) => [0, v]),
            [0, c],
            false,
          );
          const label = side > 0 ? 1 : 0;
          const x = tf.tensor4d(xs, [1, ...SHAPE]);
          const y = tf.tensor1d([label], 'int32');
          const r = attack === 'apgd' ? await apgd.run(model, x, y, { eps }) : await square.run(model, x, y, { eps, queries: 1000 });
          expect(r.predsBefore[0]).toBe(label);
          expect(r.success[0]).toBe(ratio < 1);
          tf.dispose([x, y, r.adversarial]);
          model.dispose();
        }),
        { numRuns: 20 },
      );
    });
  }
});
