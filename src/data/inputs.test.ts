import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import '../setup.js';
import { bandsDataset } from '../test-support/synthetic.js';
import { constantModel } from '../test-support/tinyModels.js';
import { assertUnitRange, checkBatch, checkClasses, checkEps, readLabels, SAMPLES_NAMES } from './inputs.js';

afterAll(() => {
  rmSync(resolve('reports/worst'), { recursive: true, force: true });
});

describe('input checks shared by attacks, attributions and matchers', () => {
  it('name the argument or the Samples field at fault', async () => {
    const x = tf.zeros([2, 4, 4, 3]) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1, 1], 'int32');
    await expect(checkBatch('fgsm', x, y)).rejects.toThrow(/^fgsm: the image batch holds 2 images but labels of shape \[3\]/);
    await expect(checkBatch('toResistAttack', x, y, SAMPLES_NAMES)).rejects.toThrow(/^toResistAttack: samples hold 2 images but labels of shape \[3\]/);
    const empty = tf.zeros([0, 4, 4, 3]) as tf.Tensor4D;
    await expect(checkBatch('gradcam', empty, tf.tensor1d([], 'int32'))).rejects.toThrow(/gradcam: the image batch holds 0 images, and a check on no images proves nothing/);
    expect(() => checkClasses('pgd', 'label', [0, 3], 3)).toThrow(/pgd: label 3 at index 1 is outside the model's 3 classes \(0\.\.2\)\. Check that the labels belong/);
    expect(() => checkClasses('gradcam', 'target class', [1.5], 3)).toThrow(/target class 1\.5 at index 0 is outside/);
    tf.dispose([x, y, empty]);
  });

  it('refuse NaN pixels, and budgets that are not finite, positive and within the norm', async () => {
    const nan = tf.tensor4d([0.5, Number.NaN, 0.2, 0.1], [1, 2, 2, 1]);
    await expect(assertUnitRange(nan, 'x')).rejects.toThrow(/x (must lie in \[0, 1\]|contain NaN or Infinity)/);
    nan.dispose();
    for (const bad of [0, -0.1, Number.NaN, Infinity, 1.5, '0.1']) expect(() => checkEps(bad, 'linf', 12, 'pgd')).toThrow(/pgd: eps must be a number in \(0, 1\]/);
    expect(() => checkEps(2, 'l2', 12, 'pgd')).not.toThrow();
    expect(() => checkEps(4, 'l2', 12, 'pgd', false, 'eps[1]')).toThrow(/pgd: eps\[1\] must be a number in \(0, 3\.46\] .* for the l2 norm; got 4\./);
  });

  it('read labels from the device once per tensor, handing each caller its own copy', async () => {
    const y = tf.tensor1d([2, 0, 1], 'int32') as tf.Tensor1D;
    const read = vi.spyOn(y, 'data');
    const first = await readLabels(y);
    first[0] = 9;
    expect(Array.from(await readLabels(y))).toEqual([2, 0, 1]);
    expect(read).toHaveBeenCalledTimes(1);
    // A variable can be assigned, so it is read every time.
    const v = tf.variable(tf.tensor1d([1, 1], 'int32'));
    await readLabels(v as unknown as tf.Tensor1D);
    v.assign(tf.tensor1d([0, 0], 'int32'));
    expect(Array.from(await readLabels(v as unknown as tf.Tensor1D))).toEqual([0, 0]);
    y.dispose();
    v.dispose();
  });

  it('toResistAttack reads the samples back from the device once (labels, pixel range)', async () => {
    const samples = bandsDataset({ count: 6, size: 8, seed: 3 }).toSamples();
    const model = constantModel();
    const labelReads = vi.spyOn(samples.labels, 'data');
    const rangeReads = vi.spyOn(samples.images, 'min');
    // The constant model's zero gradient trips "the attack loss did not increase"; as a warning the check passes.
    await expect(samples).toResistAttack(model, 'fgsm', 0.05, { minAccuracy: 0, saveWorst: 0, flags: 'warn' });
    expect(labelReads).toHaveBeenCalledTimes(1);
    expect(rangeReads).toHaveBeenCalledTimes(1);
    samples.dispose();
    model.dispose();
  });
});
