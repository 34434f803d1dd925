import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { predictClasses, resolveClassifier } from './classifier.js';

function twins(): { logits: tf.LayersModel; softmax: tf.LayersModel; functional: tf.LayersModel } {
  const make = (activation: 'linear' | 'softmax') => tf.sequential({ layers: [tf.layers.flatten({ inputShape: [2, 2, 1] }), tf.layers.dense({ units: 3, activation })] });
  const logits = make('linear');
  const softmax = make('softmax');
  const input = tf.input({ shape: [2, 2, 1] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 3 }).apply(flat) as tf.SymbolicTensor;
  const out = tf.layers.softmax().apply(dense) as tf.SymbolicTensor;
  const functional = tf.model({ inputs: input, outputs: out });
  const w = [tf.tensor2d([1, -2, 0.5, 3, 0, -1, 2, 1, -0.5, 0.25, 4, -3], [4, 3]), tf.tensor1d([0.1, -0.2, 0.3])];
  logits.layers[1]!.setWeights(w);
  softmax.layers[1]!.setWeights(w);
  functional.layers[2]!.setWeights(w);
  tf.dispose(w);
  return { logits, softmax, functional };
}

describe('resolveClassifier', () => {
  it('detects logits and softmax outputs, and peels the softmax off to give the true logits', async () => {
    const { logits, softmax, functional } = twins();
    const x = tf.randomUniform([5, 2, 2, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    const a = await resolveClassifier(logits);
    const b = await resolveClassifier(softmax);
    const c = await resolveClassifier(functional);
    expect([a.output, b.output, c.output]).toEqual(['logits', 'probabilities', 'probabilities']);
    expect([a.trueLogits, b.trueLogits, c.trueLogits]).toEqual([true, true, true]);
    expect(b.numClasses).toBe(3);
    const before = tf.memory().numTensors;
    const [la, lb, lc, pb] = [a.logits(x), b.logits(x), c.logits(x), a.probabilities(x)];
    const ref = await la.data();
    (await lb.data()).forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 5));
    (await lc.data()).forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 5));
    const probs = await (softmax.predict(x) as tf.Tensor).data();
    (await pb.data()).forEach((v, i) => expect(v).toBeCloseTo(probs[i]!, 6));
    tf.dispose([la, lb, lc, pb]);
    expect(tf.memory().numTensors).toBe(before + 1); // the predict output read above
    x.dispose();
    [logits, softmax, functional].forEach((m) => m.dispose());
  });

  it('handles a { predict } classifier returning probabilities, with log-probabilities as logits', async () => {
    const { softmax } = twins();
    const wrapped = { predict: (v: tf.Tensor4D) => softmax.predict(v) as tf.Tensor };
    const x = tf.randomUniform([4, 2, 2, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const clf = await resolveClassifier(wrapped, {}, x);
    expect(clf.output).toBe('probabilities');
    expect(clf.trueLogits).toBe(false);
    expect(Array.from(await predictClasses(clf, x))).toEqual(Array.from(await predictClasses(softmax, x)));
    const lp = clf.logits(x);
    const p = softmax.predict(x) as tf.Tensor;
    const [lpv, pv] = [await lp.data(), await p.data()];
    lpv.forEach((v, i) => expect(v).toBeCloseTo(Math.log(pv[i]!), 4));
    tf.dispose([x, lp, p]);
    softmax.dispose();
  });

  it('says how to fix a multi-output or wrongly shaped classifier', async () => {
    const x = tf.zeros([2, 2, 2, 1]) as tf.Tensor4D;
    const two = { predict: () => [tf.zeros([2, 3]), tf.zeros([2, 3])] };
    const flat = { predict: () => tf.zeros([2, 3, 1]) };
    await expect(resolveClassifier(two, {}, x)).rejects.toThrow(/returned 2 outputs/);
    await expect(resolveClassifier(flat, {}, x)).rejects.toThrow(/must return \[N, K\]/);
    await expect(resolveClassifier({} as never, {}, x)).rejects.toThrow(/tf.LayersModel or an object with predict/);
    x.dispose();
  });

  it('gives the same input gradient as the stock model on a conv graph (convs run unfused under a gradient), and restores the layers', async () => {
    const input = tf.input({ shape: [6, 6, 2] });
    const c1 = tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }), biasInitializer: 'ones' }).apply(input) as tf.SymbolicTensor;
    const c2 = tf.layers.conv2d({ filters: 4, kernelSize: 2, activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }).apply(c1) as tf.SymbolicTensor;
    const flat = tf.layers.flatten().apply(c2) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }).apply(flat) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    const clf = await resolveClassifier(model);
    const x = tf.randomUniform([3, 6, 6, 2], 0, 1, 'float32', 5) as tf.Tensor4D;
    const ours = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.logSoftmax(clf.logits(v as tf.Tensor4D)), tf.tensor1d([1, -2, 0.5]))) as tf.Scalar)(x);
    const stock = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.log(model.apply(v) as tf.Tensor), tf.tensor1d([1, -2, 0.5]))) as tf.Scalar)(x);
    const [a, b] = [await ours.data(), await stock.data()];
    b.forEach((v, i) => expect(a[i]).toBeCloseTo(v, 4));
    expect(model.layers.some((l) => Object.prototype.hasOwnProperty.call(l, 'call'))).toBe(false);
    tf.dispose([x, ours, stock]);
    model.dispose();
  });
});
