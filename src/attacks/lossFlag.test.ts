// "The attack loss did not increase" and "robust accuracy does not fall as eps grows": each fires
// on a model built to trigger it and stays quiet on honest models and on the fixtures.
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cifar10 } from '../data/cifar10.js';
import { resolveClassifier } from '../models/classifier.js';
import { loadModel } from '../models/io.js';
import { wilsonInterval } from '../metrics/bootstrap.js';
import { apgd } from './apgd.js';
import { autoattack } from './autoattack.js';
import { deepfool } from './deepfool.js';
import { fgsm } from './fgsm.js';
import { LOSS_NOT_INCREASED_SHARE, lossFlag, marginLoss, monotoneFlag } from './flags.js';
import { attackLossFlag } from './lossFlag.js';
import { pgd } from './pgd.js';
import type { Attack, AttackResult } from './types.js';

const SHAPE: [number, number, number] = [4, 4, 3];
const D = 48;
const w = tf.randomNormal([D, 5], 0, 0.5, 'float32', 3);
const logitsOf = (x: tf.Tensor) => tf.matMul(tf.reshape(x, [x.shape[0]!, D]), w) as tf.Tensor2D;
const honest = { predict: (x: tf.Tensor4D) => logitsOf(x) };
// Identity forward, negated gradient backward: every gradient attack walks the wrong way, while
// the gradient stays finite and non-zero (so the degenerate-gradient flag cannot see it).
const reverse = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({ value: tf.clone(args[0] as tf.Tensor), gradFunc: (dy: tf.Tensor) => tf.neg(dy) }));
// Quantising the input to 8 bits makes the gradient zero almost everywhere (tf.round's is zero).
const quantised = { predict: (x: tf.Tensor4D) => tf.tidy(() => logitsOf(tf.div(tf.round(tf.mul(x, 255)), 255))) };
const misleading = { predict: (x: tf.Tensor4D) => tf.tidy(() => logitsOf(reverse(x) as tf.Tensor)) };

async function attackAndFlag(model: typeof honest, attack: Attack<any>, params: Record<string, unknown>) {
  const x = tf.randomUniform([16, ...SHAPE], 0, 1, 'float32', 4) as tf.Tensor4D;
  const y = tf.tidy(() => tf.argMax(honest.predict(x), 1).toInt() as tf.Tensor1D);
  const labels = Int32Array.from(await y.data());
  const r: AttackResult<any> = await attack.run(model, x, y, { ...params, output: 'logits' });
  const before = tf.memory().numTensors;
  const flag = await attackLossFlag(model, attack, { ...params, output: 'logits' }, x, r.adversarial, y, labels, r.predsBefore, r.predsAfter);
  expect(tf.memory().numTensors).toBe(before);
  const unbroken = labels.filter((l, i) => r.predsAfter[i] === l).length;
  tf.dispose([x, y, r.adversarial]);
  return { flag, unbroken };
}

describe('the attack loss did not increase', () => {
  it('the margin loss is the best other logit minus the true one', async () => {
    const z = tf.tensor2d([[1, 3, 2], [5, -1, 0]]);
    const x = tf.zeros([2, 1, 1, 1]) as tf.Tensor4D;
    const y = tf.tensor1d([1, 0], 'int32');
    expect(Array.from(await marginLoss(() => tf.clone(z), x, y, 3))).toEqual([2 - 3, 0 - 5]);
    tf.dispose([z, x, y]);
  });

  it('fires when PGD and APGD follow a reversed gradient, and not on the same linear model with its true gradient', async () => {
    for (const [attack, params] of [[pgd, { eps: 0.02, steps: 10 }], [apgd, { eps: 0.02, steps: 20 }]] as const) {
      const fooled = await attackAndFlag(misleading, attack, params);
      expect(fooled.unbroken).toBe(16);
      expect(fooled.flag?.name).toBe('loss-not-increased');
      expect(fooled.flag?.message).toMatch(/for \d+ of the 16 samples the attack left correct \(\d+\.\d%, flagged from 25%\)/);
      const fine = await attackAndFlag(honest, attack, params);
      expect(fine.unbroken).toBeGreaterThan(0);
      expect(fine.flag).toBeUndefined();
    }
  });

  it("autoattack checks its APGD-CE stage (it hands back the clean image where nothing broke a sample)", async () => {
    const x = tf.randomUniform([12, ...SHAPE], 0, 1, 'float32', 6) as tf.Tensor4D;
    const y = tf.tidy(() => tf.argMax(honest.predict(x), 1).toInt() as tf.Tensor1D);
    // APGD keeps its highest-loss point, so a misleading gradient may still raise the loss by
    // exploration (the black-box flag catches that model); a zero gradient leaves APGD at its random start.
    const fooled = await autoattack.run(quantised, x, y, { eps: 0.02, version: 'cheap', output: 'logits' });
    expect(fooled.flags.find((f) => f.name === 'loss-not-increased')?.message).toMatch(/^APGD-CE: the attack loss did not increase: for \d+ of the \d+ samples/);
    const fine = await autoattack.run(honest, x, y, { eps: 0.02, version: 'cheap', output: 'logits' });
    expect(fine.brokenBy.filter((b) => b === null).length).toBeGreaterThan(0);
    expect(fine.flags).toEqual([]);
    // The matcher leaves the ensemble's result to its own flags.
    expect(await attackLossFlag(honest, autoattack, {}, x, x, y, Int32Array.from(await y.data()), fine.predsBefore, fine.predsBefore)).toBeUndefined();
    tf.dispose([x, y, fooled.adversarial, fine.adversarial]);
  });

  it('judges only built-in loss-maximising attacks run untargeted', async () => {
    // DeepFool hands back the clean image where it fails; a custom attack's aim is unknown; a targeted run's loss is about the target.
    expect((await attackAndFlag(misleading, deepfool, { maxIter: 2 })).flag).toBeUndefined();
    const mine: Attack<any> = { name: 'pgd', defaults: pgd.defaults, run: (m, x, y, p) => pgd.run(m, x, y, p) };
    expect((await attackAndFlag(misleading, mine, { eps: 0.02 })).flag).toBeUndefined();
    expect((await attackAndFlag(misleading, pgd, { eps: 0.02, target: 0 })).flag).toBeUndefined();
  });

  it('fires from a quarter of the unbroken samples, and never without one', async () => {
    const x = tf.randomUniform([8, ...SHAPE], 0, 1, 'float32', 5) as tf.Tensor4D;
    const clf = await resolveClassifier(honest, { output: 'logits' }, x);
    const y = tf.tidy(() => tf.argMax(honest.predict(x), 1).toInt() as tf.Tensor1D);
    const all = new Array(8).fill(true);
    // The clean images as the "adversarial" ones: no sample's loss rose.
    expect((await lossFlag(clf, x, x, y, all, all))?.message).toMatch(/for 8 of the 8 samples/);
    // Only broken samples: nothing to judge.
    expect(await lossFlag(clf, x, x, y, all, new Array(8).fill(false))).toBeUndefined();
    // One flat sample among 8 unbroken is below a quarter; two is exactly a quarter.
    const moved = tf.tidy(() => tf.add(x, tf.mul(tf.sign(tf.grad((v: tf.Tensor) => tf.sum(tf.neg(tf.sum(tf.mul(logitsOf(v), tf.oneHot(y, 5)), 1))))(x)), 0.01))) as tf.Tensor4D;
    const mix = (k: number) => tf.tidy(() => tf.concat([x.slice([0, 0, 0, 0], [k, -1, -1, -1]), moved.slice([k, 0, 0, 0], [-1, -1, -1, -1])]) as tf.Tensor4D);
    const [one, two] = [mix(1), mix(2)];
    expect(LOSS_NOT_INCREASED_SHARE).toBe(0.25);
    expect(await lossFlag(clf, x, one, y, all, all)).toBeUndefined();
    expect((await lossFlag(clf, x, two, y, all, all))?.message).toMatch(/for 2 of the 8 samples/);
    tf.dispose([x, y, moved, one, two]);
  });

  const shared = process.env.CIFAR10_DIR;
  it.runIf(shared && existsSync(`${shared}/test`))('stays quiet on the fixture ResNet-20, VGG16 and MobileNet under FGSM, PGD-10 and APGD-CE at 1/255', async () => {
    const samples = await cifar10.test({ count: 20, seed: 1 });
    const labels = Int32Array.from(await samples.labels.data());
    let unbroken = 0;
    try {
      for (const name of ['resnet20-base', 'vgg16-base', 'mobilenet-base']) {
        const model = await loadModel(`fixtures/models/${name}`);
        for (const [attack, params] of [[fgsm, {}], [pgd, {}], [apgd, { steps: 25 }]] as const) {
          const p = { ...params, eps: 1 / 255 };
          const r = await attack.run(model, samples.images, samples.labels, p);
          const flag = await attackLossFlag(model, attack, p, samples.images, r.adversarial, samples.labels, labels, r.predsBefore, r.predsAfter);
          r.adversarial.dispose();
          unbroken += labels.filter((l, i) => r.predsAfter[i] === l).length;
          expect(flag && `${name} ${attack.name}: ${flag.message}`).toBeUndefined();
        }
        model.dispose();
      }
      // The check judged something: some samples survived.
      expect(unbroken).toBeGreaterThan(0);
    } finally {
      samples.dispose();
    }
  });
});

describe('robust accuracy does not fall as eps grows', () => {
  const point = (eps: number, hits: number, n: number) => ({ eps, robustAccuracy: hits / n, ...wilsonInterval(hits, n) });
  it('fires when a larger budget is above a smaller one beyond both intervals, in any order given', () => {
    expect(monotoneFlag([point(0.01, 2, 50), point(0.03, 40, 50)])?.name).toBe('accuracy-not-falling-with-eps');
    expect(monotoneFlag([point(0.03, 40, 50), point(0.01, 2, 50)])?.message).toMatch(/80\.0% .* at eps 0\.03 is above 4\.0% .* at the smaller eps 0\.01/);
  });
  it('is quiet on a falling curve and on a rise inside the intervals', () => {
    expect(monotoneFlag([point(0.01, 30, 50), point(0.02, 20, 50), point(0.03, 5, 50)])).toBeUndefined();
    expect(monotoneFlag([point(0.01, 20, 50), point(0.02, 22, 50)])).toBeUndefined();
    expect(monotoneFlag([point(0.01, 20, 50)])).toBeUndefined();
  });
});
