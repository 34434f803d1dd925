// Each evaluation flag fires on a model built to trigger it and stays quiet on honest models.
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cifar10 } from '../data/cifar10.js';
import { resolveClassifier } from '../models/classifier.js';
import { loadModel } from '../models/io.js';
import { autoattack } from './autoattack.js';
import { modelFlags } from './flags.js';

const SHAPE: [number, number, number] = [4, 4, 3];
const D = 48;
const w = tf.randomNormal([D, 5], 0, 0.5, 'float32', 3);
const logitsOf = (x: tf.Tensor) => tf.matMul(tf.reshape(x, [x.shape[0]!, D]), w) as tf.Tensor2D;
const honest = { predict: (x: tf.Tensor4D) => logitsOf(x) };
let noiseSeed = 0;
const randomized = { predict: (x: tf.Tensor4D) => tf.tidy(() => tf.add(logitsOf(x), tf.randomNormal([x.shape[0], 5], 0, 0.1, 'float32', noiseSeed++))) };
// Quantising the input to 8 bits makes the gradient zero almost everywhere (tf.round's is zero).
const quantised = { predict: (x: tf.Tensor4D) => tf.tidy(() => logitsOf(tf.div(tf.round(tf.mul(x, 255)), 255))) };
const saturated = { predict: (x: tf.Tensor4D) => tf.tidy(() => tf.softmax(tf.mul(logitsOf(x), 1000))) };

async function flagsOf(model: { predict(x: tf.Tensor4D): tf.Tensor }, output: 'logits' | 'probabilities' = 'logits'): Promise<string[]> {
  const x = tf.randomUniform([8, ...SHAPE], 0, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], 'int32');
  const clf = await resolveClassifier(model, { output }, x);
  const queries = { forward: 0, gradient: 0 };
  const before = tf.memory().numTensors;
  const flags = await modelFlags(clf, x, y, queries);
  expect(tf.memory().numTensors).toBe(before);
  expect(queries).toEqual({ forward: output === 'probabilities' ? 24 : 16, gradient: 8 });
  tf.dispose([x, y]);
  return flags.map((f) => f.name);
}

describe('evaluation flags', () => {
  it('fire on a randomized model, a zero-gradient model and a saturated softmax, and not on a plain linear model', async () => {
    expect(await flagsOf(honest)).toEqual([]);
    expect(await flagsOf(randomized)).toEqual(['randomized']);
    expect(await flagsOf(quantised)).toEqual(['degenerate-gradient']);
    expect(await flagsOf(saturated, 'probabilities')).toContain('saturated-softmax');
  });

  it("autoattack reports them, and Square breaking what APGD could not on a gradient-masked model", async () => {
    const x = tf.randomUniform([6, ...SHAPE], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = tf.tidy(() => tf.argMax(quantised.predict(x), 1).toInt() as tf.Tensor1D);
    const r = await autoattack.run(quantised, x, y, { eps: 0.1, version: 'cheap', output: 'logits' });
    const names = r.flags.map((f) => f.name);
    expect(names).toContain('degenerate-gradient');
    expect(r.stages.find((s) => s.label === 'square')!.broken).toBeGreaterThan(0);
    expect(names).toContain('black-box-beats-white-box');
    const plain = await autoattack.run(honest, x, y, { eps: 0.01, version: 'cheap', output: 'logits' });
    expect(plain.stages.find((s) => s.label === 'square')?.broken ?? 0).toBe(0);
    expect(plain.flags).toEqual([]);
    tf.dispose([x, y, r.adversarial, plain.adversarial]);
  });

  const shared = process.env.CIFAR10_DIR;
  it.runIf(shared && existsSync(`${shared}/test`))('stay quiet on the fixture ResNet-20, VGG16 and MobileNet', async () => {
    const samples = await cifar10.test({ count: 20, seed: 1 });
    try {
      for (const name of ['resnet20-base', 'vgg16-base', 'mobilenet-base']) {
        const model = await loadModel(`fixtures/models/${name}`);
        const clf = await resolveClassifier(model, {}, samples.images);
        const flags = await modelFlags(clf, samples.images, samples.labels, { forward: 0, gradient: 0 });
        expect(flags.map((f) => `${name}: ${f.message}`)).toEqual([]);
        model.dispose();
      }
    } finally {
      samples.dispose();
    }
  });
});
