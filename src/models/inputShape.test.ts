import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import '../setup.js';
import { runAttack } from '../attacks/registry.js';
import { gradcam } from '../attribution/gradcam.js';
import { makeSamples } from '../data/samples.js';
import { averageDensity } from '../metrics/averageDensity.js';
import { bandsDataset } from '../test-support/synthetic.js';
import { evaluate, train } from '../train/train.js';
import { buildModel } from './build.js';
import { predictClasses } from './classifier.js';

// Images of another size or channel count than the model takes, at every place images meet a
// model: tfjs's own error there names neither side ("expected image to have shape ... but got
// array with shape ..." or a conv shape error deep inside a layer).
describe('images that do not fit the model', () => {
  const model = buildModel({ arch: 'cnn1', width: 0.1, seed: 1 }); // 32x32x3
  const size = /The model '.*' takes 32x32 images with 3 channel\(s\), but the images are 28x28 with 3 channel\(s\) \(shape \[2, 28, 28, 3\]\)\. Test the model on data of its own input size \(resize the images with tf\.image\.resizeBilinear\)\./;
  const channels = /takes 32x32 images with 3 channel\(s\), but the images are 32x32 with 1 channel\(s\) .*and channel count \(repeat the gray channel 3 times\)/;
  const small = () => tf.fill([2, 28, 28, 3], 0.5) as tf.Tensor4D;
  const gray = () => tf.fill([2, 32, 32, 1], 0.5) as tf.Tensor4D;
  const labels = () => tf.tensor1d([0, 1], 'int32');

  it.each(['fgsm', 'pgd', 'deepfool', 'cw'])('%s says which sizes differ and what to do, and leaves no tensors', async (attack) => {
    const [x, g, y] = [small(), gray(), labels()];
    const before = tf.memory().numTensors;
    await expect(runAttack(attack, model, x, y, { eps: 0.03 } as never)).rejects.toThrow(size);
    await expect(runAttack(attack, model, g, y, { eps: 0.03 } as never)).rejects.toThrow(channels);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, g, y]);
  });

  it('gradcam, predictClasses and averageDensity say the same', async () => {
    const [x, g] = [small(), gray()];
    const before = tf.memory().numTensors;
    await expect(gradcam(model, x)).rejects.toThrow(size);
    await expect(predictClasses(model, g)).rejects.toThrow(channels);
    await expect(averageDensity(model, x)).rejects.toThrow(size);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, g]);
  });

  it('train and evaluate on a dataset of another size', async () => {
    const data = bandsDataset({ count: 4, size: 16 });
    await expect(train(model, data, { epochs: 1, progress: false })).rejects.toThrow(/takes 32x32 images with 3 channel\(s\), but the train images are 16x16/);
    await expect(evaluate(model, data)).rejects.toThrow(/but the evaluate images are 16x16/);
  });
});

describe('an empty batch', () => {
  it('makeSamples refuses it, saying a check on no images proves nothing', () => {
    const x = tf.zeros([0, 32, 32, 3]) as tf.Tensor4D;
    const y = tf.tensor1d([], 'int32');
    expect(() => makeSamples(x, y)).toThrow(/Samples must hold at least one image; got an empty batch \(shape \[0, \.\.\.\]\)\. A check on no images proves nothing/);
    tf.dispose([x, y]);
  });

  it('a matcher given an empty batch says so (it used to report "a label is <garbage>")', async () => {
    const model = buildModel({ arch: 'cnn1', width: 0.1, seed: 1 });
    const empty = { images: tf.zeros([0, 32, 32, 3]) as tf.Tensor4D, labels: tf.tensor1d([], 'int32'), ids: [], classNames: [], size: 0 };
    await expect(expect(empty).toResistAttack(model, 'fgsm', 0.03, { minAccuracy: 0.5 })).rejects.toThrow(/toResistAttack: samples hold 0 images, and a check on no images proves nothing/);
    await expect(expect(empty).toHaveStableAttribution(model, 'gradcam', 0.5, { maxSSD: 1 })).rejects.toThrow(/samples hold 0 images/);
    const mismatched = { ...empty, images: tf.zeros([2, 32, 32, 3]) as tf.Tensor4D };
    await expect(expect(mismatched).toResistAttack(model, 'fgsm', 0.03, { minAccuracy: 0.5 })).rejects.toThrow(/samples hold 2 images but labels of shape \[0\]/);
    tf.dispose([empty.images, empty.labels, mismatched.images]);
    model.dispose();
  });

  it('train, evaluate and averageDensity refuse an empty dataset', async () => {
    const model = buildModel({ arch: 'cnn1', width: 0.1, seed: 1 });
    const none = bandsDataset({ count: 0 });
    await expect(train(model, none, { epochs: 1, progress: false })).rejects.toThrow(/train: the dataset holds 0 images, so there is nothing to train on/);
    await expect(evaluate(model, none)).rejects.toThrow(/evaluate: the dataset holds 0 images, so there is nothing to measure/);
    const x = tf.zeros([0, 32, 32, 3]) as tf.Tensor4D;
    await expect(averageDensity(model, x)).rejects.toThrow(/averageDensity: the image batch is empty \(0 images\)/);
    x.dispose();
    model.dispose();
  });
});
