// One table of attacks, each checked for the properties every attack must have: the budget, the
// box, success flags that agree with the predictions, and no leaked tensors.
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { attacks, getAttack, runAttack } from './registry.js';
import { defineAttack, COMMON_DEFAULTS } from './defineAttack.js';
import type { AttackResult, NormName } from './types.js';

const SHAPE: [number, number, number] = [3, 3, 2];
const D = SHAPE[0] * SHAPE[1] * SHAPE[2];

/** A linear classifier Flatten -> Dense(K), weights drawn from a seed. */
function linearModel(k: number, seed: number, softmax = false): tf.LayersModel {
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: SHAPE }), tf.layers.dense({ units: k, activation: softmax ? 'softmax' : 'linear' })] });
  const w = tf.randomNormal([D, k], 0, 1, 'float32', seed);
  const b = tf.randomNormal([k], 0, 0.5, 'float32', seed + 1);
  model.layers[1]!.setWeights([w, b]);
  tf.dispose([w, b]);
  return model;
}

interface Case {
  label: string;
  attack: string;
  norm: NormName;
  params: (eps: number) => Record<string, unknown>;
  targeted?: boolean;
}

const CASES: Case[] = [
  { label: 'fgsm linf', attack: 'fgsm', norm: 'linf', params: (eps) => ({ eps }) },
  { label: 'fgsm l2', attack: 'fgsm', norm: 'l2', params: (eps) => ({ eps: eps * 2, norm: 'l2' }) },
  { label: 'pgd linf', attack: 'pgd', norm: 'linf', params: (eps) => ({ eps, steps: 3 }) },
  { label: 'pgd l2', attack: 'pgd', norm: 'l2', params: (eps) => ({ eps: eps * 2, norm: 'l2', steps: 3 }) },
  { label: 'pgd linf targeted', attack: 'pgd', norm: 'linf', params: (eps) => ({ eps, steps: 3, target: 1 }), targeted: true },
  { label: 'deepfool linf', attack: 'deepfool', norm: 'linf', params: (eps) => ({ eps, norm: 'linf', maxIter: 5 }) },
  { label: 'deepfool l2', attack: 'deepfool', norm: 'l2', params: (eps) => ({ eps: eps * 2, maxIter: 5 }) },
  { label: 'cw budget linf', attack: 'cw', norm: 'linf', params: (eps) => ({ eps, norm: 'linf', steps: 8, binarySearchSteps: 2, initialConst: 1 }) },
  { label: 'apgd linf', attack: 'apgd', norm: 'linf', params: (eps) => ({ eps, steps: 5 }) },
  { label: 'apgd l2 dlr', attack: 'apgd', norm: 'l2', params: (eps) => ({ eps: eps * 2, norm: 'l2', loss: 'dlr', steps: 5 }) },
  { label: 'square linf', attack: 'square', norm: 'linf', params: (eps) => ({ eps, queries: 20 }) },
  { label: 'square l2 targeted', attack: 'square', norm: 'l2', params: (eps) => ({ eps: eps * 2, norm: 'l2', queries: 20, target: 2 }), targeted: true },
  { label: 'cw targeted', attack: 'cw', norm: 'l2', params: (eps) => ({ eps: eps * 2, steps: 8, binarySearchSteps: 2, initialConst: 1, target: 0 }), targeted: true },
];

const pixel = fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true }));
const batchArb = fc.integer({ min: 1, max: 3 }).chain((n) => fc.tuple(fc.constant(n), fc.array(pixel, { minLength: n * D, maxLength: n * D }), fc.array(fc.integer({ min: 0, max: 2 }), { minLength: n, maxLength: n })));

async function checkResult(r: AttackResult, x: tf.Tensor4D, model: tf.LayersModel, norm: NormName, eps: number, targeted: boolean): Promise<void> {
  const n = x.shape[0];
  expect(r.adversarial.shape).toEqual(x.shape);
  const [lo, hi, linf, l2, before, after] = tf.tidy(() => {
    const d = tf.sub(r.adversarial, x);
    return [r.adversarial.min(), r.adversarial.max(), tf.max(tf.abs(d), [1, 2, 3]), tf.sqrt(tf.sum(tf.square(d), [1, 2, 3])), (model.predict(x) as tf.Tensor).argMax(1), (model.predict(r.adversarial) as tf.Tensor).argMax(1)];
  });
  const [min, max, li, l2v, pb, pa] = await Promise.all([lo!.data(), hi!.data(), linf!.data(), l2!.data(), before!.data(), after!.data()]);
  tf.dispose([lo!, hi!, linf!, l2!, before!, after!]);
  expect(min[0]).toBeGreaterThanOrEqual(0);
  expect(max[0]).toBeLessThanOrEqual(1);
  for (let i = 0; i < n; i++) {
    if (norm === 'linf') expect(li[i]).toBeLessThanOrEqual(eps + 1e-6);
    else expect(l2v[i]).toBeLessThanOrEqual(eps * (1 + 1e-5) + 1e-6);
    expect(r.linf[i]).toBeCloseTo(li[i]!, 5);
    expect(r.l2[i]).toBeCloseTo(l2v[i]!, 4);
    expect(r.predsBefore[i]).toBe(pb[i]);
    expect(r.predsAfter[i]).toBe(pa[i]);
    expect(r.success[i]).toBe(targeted ? r.predsAfter[i] === r.target![i] : r.predsAfter[i] !== r.predsBefore[i]);
  }
}

describe('every attack', () => {
  for (const c of CASES) {
    it(`${c.label}: keeps its budget and the box, reports consistent flags, leaks nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(batchArb, fc.double({ min: 0.001, max: 1, noNaN: true }), fc.integer({ min: 0, max: 1000 }), async ([n, pixels, labels], eps, seed) => {
          const model = linearModel(3, seed);
          const x = tf.tensor4d(pixels, [n, ...SHAPE]);
          const y = tf.tensor1d(labels, 'int32');
          try {
            const params = c.params(eps);
            const before = tf.memory().numTensors;
            const r = await runAttack(c.attack, model, x, y, { ...params, seed });
            expect(tf.memory().numTensors).toBe(before + 1);
            try {
              await checkResult(r, x, model, c.norm, params.eps as number, !!c.targeted);
            } finally {
              r.adversarial.dispose();
            }
            expect(x.isDisposed).toBe(false);
          } finally {
            tf.dispose([x, y]);
            model.dispose();
          }
        }),
        { numRuns: 12 },
      );
    });
  }

  it('splits a batch larger than batchSize into chunks with the same budget and counts', async () => {
    const model = linearModel(3, 5);
    const x = tf.randomUniform([5, ...SHAPE], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 2, 0, 1], 'int32');
    const whole = await attacks.fgsm.run(model, x, y, { eps: 0.1 });
    const split = await attacks.fgsm.run(model, x, y, { eps: 0.1, batchSize: 2 });
    expect(Array.from(await split.adversarial.data())).toEqual(Array.from(await whole.adversarial.data()));
    expect(split.queries).toEqual(whole.queries);
    expect(whole.queries).toEqual({ forward: 10, gradient: 5 });
    tf.dispose([x, y, whole.adversarial, split.adversarial]);
    model.dispose();
  });

  it('reports the resolved parameters, derived defaults included', async () => {
    const model = linearModel(3, 1);
    const x = tf.fill([1, ...SHAPE], 0.5) as tf.Tensor4D;
    const y = tf.tensor1d([0], 'int32');
    const r = await attacks.pgd.run(model, x, y, { eps: 0.2 });
    expect(r.params).toMatchObject({ eps: 0.2, stepSize: 0.05, steps: 10, randomStart: true, norm: 'linf', seed: 0 });
    expect(r.queries.gradient).toBe(10);
    expect(r.name).toBe('pgd');
    tf.dispose([x, y, r.adversarial]);
    model.dispose();
  });

  it('accepts a user-defined attack, which gets the same checks and budget projection', async () => {
    const model = linearModel(3, 2);
    const x = tf.fill([2, ...SHAPE], 0.5) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1], 'int32');
    // Deliberately oversteps its budget: the framework must project it back.
    const overshoot = defineAttack({
      name: 'overshoot',
      defaults: { ...COMMON_DEFAULTS, eps: 0.1 },
      budget: (p) => ({ norm: 'linf', eps: p.eps }),
      perturb: async (ctx) => tf.tidy(() => tf.add(ctx.x, 0.4) as tf.Tensor4D),
    });
    const r = await runAttack(overshoot, model, x, y, { eps: 0.05 });
    expect(Math.max(...r.linf)).toBeCloseTo(0.05, 6);
    expect(getAttack(overshoot)).toBe(overshoot);
    tf.dispose([x, y, r.adversarial]);
    model.dispose();
  });
});

describe('functional conv models', () => {
  it('FGSM on a residual conv graph steps along the sign of the finite-difference gradient', async () => {
    const input = tf.input({ shape: [4, 4, 1] });
    const c1 = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    const c2 = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }).apply(c1) as tf.SymbolicTensor;
    const sum = tf.layers.add().apply([c1, c2]) as tf.SymbolicTensor;
    const pooled = tf.layers.flatten().apply(sum) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }).apply(pooled) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const xs = Array.from({ length: 16 }, (_, i) => 0.2 + ((i * 5) % 16) / 30);
    const x = tf.tensor4d(xs, [1, 4, 4, 1]);
    const y = tf.tensor1d([1], 'int32');
    const r = await attacks.fgsm.run(model, x, y, { eps: 0.01 });
    const adv = await r.adversarial.data();
    const loss = (v: number[]) => tf.tidy(() => -Math.log((model.predict(tf.tensor4d(v, [1, 4, 4, 1])) as tf.Tensor).dataSync()[1]!));
    let checked = 0;
    for (let i = 0; i < 16; i++) {
      const up = xs.slice();
      const down = xs.slice();
      up[i]! += 1e-2;
      down[i]! -= 1e-2;
      const fd = (loss(up) - loss(down)) / 2e-2;
      if (Math.abs(fd) < 1e-2) continue;
      expect(Math.sign(adv[i]! - xs[i]!)).toBe(Math.sign(fd));
      checked++;
    }
    expect(checked).toBeGreaterThan(4);
    tf.dispose([x, y, r.adversarial]);
    model.dispose();
  });
});

describe('bad input', () => {
  const model = linearModel(3, 3);
  const x = tf.fill([2, ...SHAPE], 0.5) as tf.Tensor4D;
  const y = tf.tensor1d([0, 1], 'int32');

  it('names the known attacks for an unknown name', () => {
    expect(() => getAttack('jsma')).toThrow(/Unknown attack "jsma"; known attacks: 'fgsm', 'pgd', 'deepfool', 'cw'/);
  });

  it('rejects eps <= 0 or > 1 for Linf, and unknown parameters', async () => {
    await expect(attacks.fgsm.run(model, x, y, { eps: 0 })).rejects.toThrow(/eps must be a number in \(0, 1\]/);
    await expect(attacks.pgd.run(model, x, y, { eps: 1.5 })).rejects.toThrow(/eps must be a number in \(0, 1\]/);
    await expect(attacks.pgd.run(model, x, y, { eps: -0.1, norm: 'l2' })).rejects.toThrow(/eps/);
    await expect(attacks.pgd.run(model, x, y, { epsilon: 0.1 } as never)).rejects.toThrow(/unknown parameter 'epsilon'/);
    await expect(attacks.pgd.run(model, x, y, { norm: 'l1' } as never)).rejects.toThrow(/Unknown norm "l1"/);
  });

  it('rejects images outside [0, 1] or of the wrong rank or dtype', async () => {
    const big = tf.fill([2, ...SHAPE], 255) as tf.Tensor4D;
    const flat = tf.zeros([2, D]) as unknown as tf.Tensor4D;
    await expect(attacks.fgsm.run(model, big, y)).rejects.toThrow(/must lie in \[0, 1\]/);
    await expect(attacks.fgsm.run(model, flat, y)).rejects.toThrow(/rank-4 tensor \[N, H, W, C\]/);
    tf.dispose([big, flat]);
  });

  it('rejects labels that do not match the batch or the model', async () => {
    const three = tf.tensor1d([0, 1, 2], 'int32');
    const outside = tf.tensor1d([0, 7], 'int32');
    const floats = tf.tensor1d([0, 1]);
    await expect(attacks.fgsm.run(model, x, three)).rejects.toThrow(/the image batch holds 2 images but labels of shape \[3\]; give one int32 label per image/);
    await expect(attacks.fgsm.run(model, x, outside)).rejects.toThrow(/label 7 at index 1 is outside the model's 3 classes/);
    await expect(attacks.fgsm.run(model, x, floats as tf.Tensor1D)).rejects.toThrow(/labels must be int32/);
    await expect(attacks.pgd.run(model, x, y, { target: [0, 9] })).rejects.toThrow(/target 9/);
    await expect(attacks.deepfool.run(model, x, y, { target: 1 })).rejects.toThrow(/untargeted/);
    tf.dispose([three, outside, floats]);
  });

  it('leaves no tensors behind when it throws', async () => {
    const before = tf.memory().numTensors;
    await expect(attacks.pgd.run(model, x, y, { eps: 2 })).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });
});
