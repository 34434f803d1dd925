import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup.js';
import type { Attack, AttackResult } from '../attacks/types.js';
import type { Samples } from '../data/samples.js';
import { predictClasses } from '../models/classifier.js';
import { bandsDataset } from '../test-support/synthetic.js';
import { constantModel, fragileModel } from '../test-support/tinyModels.js';

let samples: Samples;
let calm: tf.LayersModel;
let twitchy: tf.LayersModel;
beforeAll(() => {
  samples = bandsDataset({ count: 12, size: 8, seed: 5 }).toSamples();
  calm = constantModel();
  twitchy = fragileModel();
});
afterAll(() => {
  samples.dispose();
  calm.dispose();
  twitchy.dispose();
  rmSync(resolve('reports/worst'), { recursive: true, force: true });
});

/** A hand-written attack (no defineAttack, so no projection) whose result is whatever `make` says. */
function handWritten(make: (x: tf.Tensor4D) => Partial<AttackResult> | undefined): Attack<any> {
  return {
    name: 'mine',
    defaults: {} as never,
    async run(_model, x) {
      const n = x.shape[0];
      const r = make(x);
      return r === undefined ? (undefined as never) : ({ name: 'mine', predsBefore: new Int32Array(n), predsAfter: new Int32Array(n), success: Array(n).fill(false), linf: new Float32Array(n), l2: new Float32Array(n), queries: { forward: 0, gradient: 0 }, params: { eps: 0 }, ...r } as AttackResult);
    },
  };
}

describe('toResistAttack checks the output of every attack, whoever wrote it', () => {
  it('fails a custom attack whose adversarials lie outside eps', async () => {
    const before = tf.memory().numTensors;
    // Claims nothing changed, but moves every pixel by 0.3 at eps 0.05.
    const cheat = handWritten((x) => ({ adversarial: tf.tidy(() => x.add(tf.where(x.greater(0.5), tf.scalar(-0.3), tf.scalar(0.3))) as tf.Tensor4D) }));
    await expect(expect(samples).toResistAttack(twitchy, cheat, 0.05, { minAccuracy: 0 })).rejects.toThrow(
      /toResistAttack: attack 'mine' exceeded its budget: image 0 is 0\.3\d* away from its original in the Linf norm, above eps = 0\.05/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('checks an L2 budget when the caller names the L2 norm', async () => {
    const big = handWritten((x) => ({ adversarial: tf.tidy(() => x.mul(0.9) as tf.Tensor4D) }));
    await expect(expect(samples).toResistAttack(twitchy, big, 0.01, { minAccuracy: 0, params: { norm: 'l2' } })).rejects.toThrow(/exceeded its budget: image 0 is [\d.]+ away from its original in the L2 norm, above eps = 0\.01/);
  });

  const faulty: [string, (x: tf.Tensor4D) => Partial<AttackResult> | undefined, RegExp][] = [
    ['pixels outside [0, 1]', (x) => ({ adversarial: tf.tidy(() => x.sub(0.001) as tf.Tensor4D) }), /attack 'mine' returned pixels outside \[0, 1\] \(from -0\.00\d+/],
    ['NaN pixels', (x) => ({ adversarial: tf.fill(x.shape, Number.NaN) as tf.Tensor4D }), /containing NaN or Infinity/],
    ['fewer images than it was given', (x) => ({ adversarial: x.slice([0, 0, 0, 0], [2, -1, -1, -1]) }), /returned adversarial images of shape \[2, 8, 8, 3\] for images of shape \[12, 8, 8, 3\]/],
    ['no adversarial tensor', () => ({ adversarial: undefined }), /returned no adversarial tensor/],
    ['no result at all', () => undefined, /attack 'mine' returned undefined; run must resolve to an AttackResult/],
  ];
  for (const [what, make, message] of faulty) {
    it(`fails an attack that returns ${what}`, async () => {
      const before = tf.memory().numTensors;
      await expect(expect(samples).toResistAttack(twitchy, handWritten(make), 0.05, { minAccuracy: 0 })).rejects.toThrow(message);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('measures predictions itself: an attack that misreports them cannot raise robust accuracy', async () => {
    // Within budget and flipping every image of the fragile model, but claiming all stayed put.
    const liar = handWritten((x) => ({ adversarial: tf.tidy(() => x.add(tf.where(x.greater(0.5), tf.scalar(-0.5), tf.scalar(0.5))).clipByValue(0, 1) as tf.Tensor4D) }));
    const adv = (await liar.run(twitchy, samples.images, samples.labels)).adversarial;
    const after = await predictClasses(twitchy, adv);
    adv.dispose();
    const labels = await samples.labels.data();
    const robust = after.filter((p, i) => p === labels[i]).length / 12;
    expect(robust).toBeLessThan(0.5);
    await expect(expect(samples).toResistAttack(twitchy, liar, 0.5, { minAccuracy: 0.5 })).rejects.toThrow(`robust accuracy under mine (eps 0.5) was ${robust.toFixed(3)}`);
  });

  it('does not dispose the caller\'s images when an attack hands them back', async () => {
    const idle = handWritten((x) => ({ adversarial: x }));
    await expect(samples).toResistAttack(calm, idle, 0.05, { minAccuracy: 0.5 });
    expect(samples.images.isDisposed).toBe(false);
  });

  const shapes: [string, unknown, RegExp][] = [
    ['a bare function', async () => undefined, /the attack is a bare function; give an attack object \{ name, defaults, run \}/],
    ['an object without run', { name: 'x' }, /the attack object needs a "run" function .*; it has keys name/],
    ['an object without a name', { run: async () => undefined }, /needs a non-empty string "name"/],
    ['defaults that are not an object', { name: 'x', defaults: 3, run: async () => undefined }, /a "defaults" object/],
    ['null', null, /the attack must be a name .* got null/],
    ['a number', 42, /got number/],
  ];
  for (const [what, attack, message] of shapes) {
    it(`gives a clear error for an attack that is ${what}`, async () => {
      await expect(expect(samples).toResistAttack(calm, attack as never, 0.05, { minAccuracy: 0 })).rejects.toThrow(message);
    });
  }
});

describe('the built-in attacks pass the matcher\'s own budget check', () => {
  it('in the Linf and the L2 norm, on 32x32 images (3,072 values summed per L2 norm)', async () => {
    const big = bandsDataset({ count: 6, size: 32, seed: 2 }).toSamples();
    const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [32, 32, 3], filters: 4, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }), tf.layers.flatten(), tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) })] });
    const before = tf.memory().numTensors;
    for (const [attack, eps, params] of [
      ['fgsm', 8 / 255, {}],
      ['pgd', 8 / 255, { steps: 3 }],
      ['pgd', 0.5, { steps: 3, norm: 'l2' }],
      ['deepfool', 8 / 255, { maxIter: 3 }],
      ['deepfool', 0.5, { maxIter: 3, norm: 'l2' }],
      ['cw', 0.5, { steps: 3, norm: 'l2' }],
    ] as const) {
      await expect(big).toResistAttack(model, attack, eps, { minAccuracy: 0, params: params as Record<string, unknown> });
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    big.dispose();
  });
});
