// Checks that would pass while measuring nothing (no sample counted, zero runs, a misspelt or
// infinite threshold, activations that are not numbers) must fail or be refused, saying why.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup.js';
import { perturbations } from '../arbitraries/perturbation.js';
import type { Samples } from '../data/samples.js';
import { readResults } from '../record/record.js';
import { bandsDataset } from '../test-support/synthetic.js';
import { constantModel } from '../test-support/tinyModels.js';

let samples: Samples;
let calm: tf.LayersModel;
let conv: tf.LayersModel;
beforeAll(() => {
  samples = bandsDataset({ count: 10, size: 8, seed: 9 }).toSamples();
  calm = constantModel();
  conv = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'features', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }), tf.layers.flatten(), tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })] });
});
afterAll(() => {
  samples.dispose();
  calm.dispose();
  conv.dispose();
  rmSync(resolve('reports/worst'), { recursive: true, force: true });
  rmSync(resolve('reports/attribution'), { recursive: true, force: true });
});

describe('n = 0 is refused, with or without .not', () => {
  it('maxSuccessRate when no sample is classified correctly (0 of 0), and records the check as failed', async () => {
    // The constant model always says class 0; every sample below is labelled 1.
    const wrong = { ...samples, labels: tf.onesLike(samples.labels) as tf.Tensor1D };
    const message = /toResistAttack: the model classifies none of the 10 samples correctly, so an attack success rate among correctly classified samples measures nothing \(0 of 0\)/;
    await expect(expect(wrong).toResistAttack(calm, 'fgsm', 0.1, { maxSuccessRate: 0.5 })).rejects.toThrow(message);
    await expect(expect(wrong).not.toResistAttack(calm, 'fgsm', 0.1, { maxSuccessRate: 0.5 })).rejects.toThrow(message);
    const mine = readResults().filter((r) => r.matcher === 'toResistAttack' && r.metric === 'successRate' && r.n === 0 && r.test.includes('maxSuccessRate when no sample'));
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(mine.every((r) => r.pass === false && r.value === null)).toBe(true);
    wrong.labels.dispose();
  });

  it('toBeInvariantTo({ numRuns: 0 }), and other run counts that are not whole positive numbers', async () => {
    await expect(expect(samples).toBeInvariantTo(calm, perturbations.blur(0.5), { numRuns: 0 })).rejects.toThrow(/numRuns must be a whole number >= 1 .* got 0/);
    await expect(expect(samples).not.toBeInvariantTo(calm, perturbations.blur(0.5), { numRuns: 0 })).rejects.toThrow(/numRuns must be a whole number >= 1/);
    await expect(expect(samples).toBeInvariantTo(calm, perturbations.blur(0.5), { numRuns: 2.5 })).rejects.toThrow(/got 2\.5/);
    await expect(expect(samples).toBeInvariantTo(calm, perturbations.blur(0.5), { seed: 0.5 })).rejects.toThrow(/seed must be an integer/);
    await expect(expect(samples).toBeInvariantTo(calm, perturbations.blur(0.5), { path: 'abc' })).rejects.toThrow(/path must be a replay path/);
  });

  // Samples.slice refuses an empty range; a hand-made object (or a filter that matched nothing) need not.
  const emptyOf = () => ({ ...samples, images: tf.zeros([0, 8, 8, 3]) as tf.Tensor4D, labels: tf.zeros([0], 'int32') as tf.Tensor1D, ids: [], size: 0 });
  const emptyCases: [string, (none: Samples) => Promise<unknown>][] = [
    ['toResistAttack', (none) => expect(none).toResistAttack(calm, 'fgsm', 0.1, { minAccuracy: 0 })],
    ['toHaveStableAttribution', (none) => expect(none).toHaveStableAttribution(conv, 'gradcam', 0.5, { maxSSD: 10 })],
    ['toBeInvariantTo (.not)', (none) => expect(none).not.toBeInvariantTo(calm, perturbations.blur(0.5))],
    ['toHaveAverageDensityBelow (.not)', (none) => expect(conv).not.toHaveAverageDensityBelow(none, 0.5)],
  ];
  for (const [matcher, call] of emptyCases) {
    it(`empty samples in ${matcher}`, async () => {
      const none = emptyOf();
      await expect(call(none as Samples)).rejects.toThrow(/samples hold 0 images, and a check on no images proves nothing/);
      tf.dispose([none.images, none.labels]);
    });
  }
});

describe('a model that is not a model', () => {
  it('gets an error naming what a model is, in every matcher that takes one', async () => {
    const notAModel = /the model must be a tf\.LayersModel \(e\.g\. from loadModel\(dir\)\) or an object with predict\(images\)/;
    await expect(expect(samples).toResistAttack(null as never, 'fgsm', 0.1, { minAccuracy: 0 })).rejects.toThrow(notAModel);
    await expect(expect(samples).toHaveStableAttribution(null as never, 'gradcam', 0.5, { maxSSD: 1 })).rejects.toThrow(notAModel);
    await expect(expect(samples).toHaveStableAttribution({ predicts: 1 } as never, 'occlusion', { from: 4, to: 2 }, { maxSSD: 1 })).rejects.toThrow(/got an object with keys predicts/);
    await expect(expect(samples).not.toBeInvariantTo(null as never, perturbations.blur(0.5))).rejects.toThrow(notAModel);
    await expect(expect(samples).toResistAttack(calm, 'fgsm', '0.1' as never, { minAccuracy: 0 })).rejects.toThrow(/eps must be a number in \(0, 1\] .* got "0\.1"/);
  });
});

describe('labels that are not class indices', () => {
  it('are refused: float labels, and a negative label (never equal to a prediction)', async () => {
    const floats = { ...samples, labels: samples.labels.toFloat() as tf.Tensor1D };
    await expect(expect(floats).toResistAttack(calm, 'fgsm', 0.1, { minAccuracy: 0 })).rejects.toThrow(/samples.labels must be int32 class indices; got float32/);
    floats.labels.dispose();
    const negative = { ...samples, labels: tf.fill([10], -1, 'int32') as tf.Tensor1D };
    await expect(expect(negative).not.toResistAttack(calm, 'fgsm', 0.1, { maxSuccessRate: 1 })).rejects.toThrow(/label -1 at index 0 is outside the model's 2 classes \(0\.\.1\)/);
    negative.labels.dispose();
  });
});

describe('a change that changes nothing is refused', () => {
  it('a blur that leaves the images as they are', async () => {
    await expect(expect(samples).toHaveStableAttribution(conv, 'gradcam', 0, { maxSSD: 0 })).rejects.toThrow(/a blur of sigma 0 leaves every image unchanged, so each Grad-CAM map would be compared with itself/);
  });

  it('occlusion with equal patch sizes', async () => {
    await expect(expect(samples).not.toHaveStableAttribution(conv, 'occlusion', { from: 2, to: 2 }, { maxSSD: 0 })).rejects.toThrow(/the patch sizes must differ \(from 2, to 2\)/);
  });

  it('a perturbation that never changes an image, in toBeInvariantTo', async () => {
    await expect(expect(samples).toBeInvariantTo(conv, perturbations.blur(0), { numRuns: 5, seed: 1 })).rejects.toThrow(/none of the 5 perturbed images differed from its original, so invariance was not tested/);
    await expect(samples).toBeInvariantTo(calm, perturbations.blur(0.5), { numRuns: 5, seed: 1 });
  });
});

describe('a misspelt option or an infinite threshold is refused, not ignored', () => {
  it('in toResistAttack', async () => {
    await expect(expect(samples).toResistAttack(calm, 'fgsm', 0.1, { minAccuracy: 0.3, maxSSD: 1 } as never)).rejects.toThrow(/toResistAttack: unknown option 'maxSSD'. Its options are: minAccuracy, maxSuccessRate, params, saveWorst/);
    await expect(expect(samples).toResistAttack(calm, 'fgsm', 0.1, { minAccuracy: '0.3' } as never)).rejects.toThrow(/threshold must be a number in \[0, 1\]; got "0\.3"/);
    await expect(expect(samples).toResistAttack(calm, 'fgsm', 0.1, { minAccuracy: 0.3, saveWorst: -1 })).rejects.toThrow(/saveWorst must be a whole number >= 0/);
  });

  it('in toHaveStableAttribution', async () => {
    await expect(expect(samples).toHaveStableAttribution(conv, 'gradcam', 0.5, { maxSSD: 10, minSSD: 1 } as never)).rejects.toThrow(/unknown option 'minSSD'/);
    await expect(expect(samples).not.toHaveStableAttribution(conv, 'gradcam', 0.5, { maxSSD: Number.POSITIVE_INFINITY })).rejects.toThrow(/give \{ maxSSD \}, a finite number >= 0/);
    await expect(expect(samples).toHaveStableAttribution(conv, 'gradcam', Number.POSITIVE_INFINITY, { maxSSD: 1 })).rejects.toThrow(/finite blur sigma/);
  });

  it('in toBeInvariantTo and toHaveAverageDensityBelow', async () => {
    await expect(expect(samples).toBeInvariantTo(calm, perturbations.blur(0.5), { numruns: 1000 } as never)).rejects.toThrow(/toBeInvariantTo: unknown option 'numruns'. Its options are: numRuns, seed, path/);
    await expect(expect(conv).toHaveAverageDensityBelow(samples, 0.5, { layr: 'features' } as never)).rejects.toThrow(/unknown option 'layr'/);
    await expect(expect(conv).toHaveAverageDensityBelow(samples, '0.5' as never)).rejects.toThrow(/maxDensity must be a number in \(0, 1\]; got "0\.5"/);
  });
});

describe('activations that are not numbers', () => {
  it('make toHaveAverageDensityBelow refuse, not count them as silent units', async () => {
    const broken = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 2, kernelSize: 1, name: 'features' }), tf.layers.flatten(), tf.layers.dense({ units: 2 })] });
    const w = [tf.fill([1, 1, 3, 2], Number.NaN), tf.zeros([2])];
    broken.getLayer('features').setWeights(w);
    tf.dispose(w);
    const before = tf.memory().numTensors;
    await expect(expect(broken).toHaveAverageDensityBelow(samples, 0.5, { layer: 'features' })).rejects.toThrow(/layer 'features' gave NaN or Infinity activations \(first for image 0\)/);
    expect(tf.memory().numTensors).toBe(before);
    broken.dispose();
  });
});
