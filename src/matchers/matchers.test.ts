import { readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup.js';
import type { Samples } from '../data/samples.js';
import { bandsDataset } from '../test-support/synthetic.js';
import { perturbations } from '../arbitraries/perturbation.js';
import { constantModel, fragileModel } from '../test-support/tinyModels.js';

let samples: Samples;
let calm: tf.LayersModel;
let twitchy: tf.LayersModel;
beforeAll(() => {
  samples = bandsDataset({ count: 20, size: 8, seed: 3 }).toSamples();
  calm = constantModel();
  twitchy = fragileModel();
});
afterAll(() => {
  samples.dispose();
  calm.dispose();
  twitchy.dispose();
  rmSync(resolve('reports/worst'), { recursive: true, force: true });
  rmSync(resolve('reports/attribution'), { recursive: true, force: true });
  rmSync(resolve('reports/invariance'), { recursive: true, force: true });
});

describe('toResistAttack', () => {
  it('passes, fails with the measured value and its interval, and supports .not', async () => {
    const before = tf.memory().numTensors;
    // The constant model's zero gradient trips "the attack loss did not increase" (failing by default); as warnings the thresholds decide.
    await expect(expect(samples).toResistAttack(calm, 'fgsm', 0.1, { minAccuracy: 0.4 })).rejects.toThrow(/evaluation flags \(failing the check.*the attack loss did not increase: for 10 of the 10 samples/);
    await expect(samples).toResistAttack(calm, 'fgsm', 0.1, { minAccuracy: 0.4, flags: 'warn' });
    await expect(samples).not.toResistAttack(calm, 'pgd', 0.1, { minAccuracy: 0.6, params: { steps: 3 }, flags: 'warn' });
    await expect(expect(samples).toResistAttack(calm, 'fgsm', 0.1, { minAccuracy: 0.9, flags: 'warn' })).rejects.toThrow(
      /robust accuracy under fgsm \(.*eps 0\.1.*\) was 0\.500 \[95% CI 0\.\d+, 0\.\d+\] on n=20; threshold >= 0\.9/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('measures success rate, and saves the least-perturbed successes as images', async () => {
    await expect(expect(samples).toResistAttack(twitchy, 'pgd', 0.5, { maxSuccessRate: 0.1, params: { steps: 5 } })).rejects.toThrow(
      /attack success rate under pgd .* was 0\.9\d+ .* correctly classified of 20; threshold <= 0\.1.*saved in reports\/worst\//,
    );
    const files = readdirSync(resolve('reports/worst'), { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    expect(files.length).toBeGreaterThan(0);
    expect(files.every((f) => f.name.endsWith('.png'))).toBe(true);
  });

  it('rejects bad input with errors that name the fix', async () => {
    await expect(expect(samples).toResistAttack(calm, 'fgsm', 0, { minAccuracy: 0.5 })).rejects.toThrow(/eps must be a number in \(0, 1\]/);
    await expect(expect(samples).toResistAttack(calm, 'fgsm', 1.5, { minAccuracy: 0.5 })).rejects.toThrow(/eps must be a number in \(0, 1\]/);
    // @ts-expect-error an unknown attack name is a compile error too; this checks the runtime error
    await expect(expect(samples).toResistAttack(calm, 'bim', 0.1, { minAccuracy: 0.5 })).rejects.toThrow(/Unknown attack "bim"; known attacks: 'fgsm', 'pgd', 'deepfool', 'cw'/);
    await expect(expect(samples).toResistAttack(calm, 'fgsm', 0.1, {})).rejects.toThrow(/exactly one threshold/);
    await expect(expect({ images: 1 }).toResistAttack(calm, 'fgsm', 0.1, { minAccuracy: 0.5 })).rejects.toThrow(/must receive Samples/);
    const bright = { ...samples, images: samples.images.mul(2) as tf.Tensor4D };
    await expect(expect(bright).toResistAttack(calm, 'fgsm', 0.1, { minAccuracy: 0.5 })).rejects.toThrow(/must lie in \[0, 1\]/);
    bright.images.dispose();
    const tenClass = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), tf.layers.dense({ units: 1 })] });
    await expect(expect(samples).toResistAttack(tenClass, 'fgsm', 0.1, { minAccuracy: 0.5 })).rejects.toThrow(/toResistAttack: label 1 at index \d+ is outside the model's 1 classes \(0\.\.0\)\. Check that the labels belong to this model/);
    tenClass.dispose();
  });
});

describe('toHaveStableAttribution and toHaveAverageDensityBelow', () => {
  function convModel(): tf.LayersModel {
    return tf.sequential({
      layers: [tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'features', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }), tf.layers.flatten(), tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })],
    });
  }

  it('Grad-CAM fails when maps vanish under a small blur; occlusion with different patches is not identical', async () => {
    const model = convModel();
    const before = tf.memory().numTensors;
    // Under this random model 6 of the 20 blurred images' maps are all zero for the clean class.
    await expect(expect(samples).toHaveStableAttribution(model, 'gradcam', 0.5, { maxSSD: 1024 })).rejects.toThrow(
      /threshold <= 1024; 6 map\(s\) became the same value at every pixel under the change \(6 of 20: synthetic#0, .*\): the attribution vanished, so not stable whatever the mean/,
    );
    await expect(samples).not.toHaveStableAttribution(model, 'gradcam', 0.5, { maxSSD: 1024 });
    await expect(expect(samples).toHaveStableAttribution(model, 'occlusion', { from: 4, to: 2, stride: 2 }, { maxSSD: 0 })).rejects.toThrow(
      /mean SSD of sliding-patch maps with patch 4 vs 2 \(stride 2\) was [\d.]+ ± [\d.]+ .* on n=20; threshold <= 0; least stable: synthetic#\d+/,
    );
    await expect(samples).not.toHaveStableAttribution(model, 'occlusion', { from: 4, to: 2 }, { maxSSD: 0 });
    expect(tf.memory().numTensors).toBe(before);
    await expect(expect(samples).toHaveStableAttribution(model, 'lime' as never, 0.5, { maxSSD: 1 })).rejects.toThrow(/unknown method 'lime'/);
    await expect(expect(samples).toHaveStableAttribution(model, 'gradcam', { from: 4, to: 2 }, { maxSSD: 1 })).rejects.toThrow(/blur sigma/);
    await expect(expect(samples).toHaveStableAttribution(calm, 'gradcam', 0.5, { maxSSD: 1 })).rejects.toThrow(/conv/i);
    model.dispose();
  });

  it('average density: pass, .not and the layer in the message', async () => {
    const model = convModel();
    const before = tf.memory().numTensors;
    await expect(model).toHaveAverageDensityBelow(samples, 1, { layer: 'features' });
    await expect(expect(model).toHaveAverageDensityBelow(samples, 0.0001, { layer: 'features' })).rejects.toThrow(/average density of layer 'features' \(256 units\) was 0\.\d+/);
    await expect(model).not.toHaveAverageDensityBelow(samples, 0.0001, { layer: 'features' });
    expect(tf.memory().numTensors).toBe(before);
    await expect(expect(samples).toHaveAverageDensityBelow(samples, 0.5)).rejects.toThrow(/must receive a tf.LayersModel/);
    model.dispose();
  });
});

describe('toBeInvariantTo', () => {
  it('passes for a model that ignores its input, and reports the smallest flipping perturbation otherwise', async () => {
    const before = tf.memory().numTensors;
    await expect(samples).toBeInvariantTo(calm, perturbations.compose(perturbations.occlude(8), perturbations.gaussianNoise(0.3)), { numRuns: 30, seed: 1 });
    // Covering a band with gray erases the evidence for its class.
    await expect(expect(samples).toBeInvariantTo(twitchy, perturbations.occlude(8), { numRuns: 60, seed: 1 })).rejects.toThrow(
      /occlude\(size=\d+.*\) flips sample \d+ \(synthetic#\d+\) from 'band\d' to 'band\d' \(smallest counterexample after \d+ shrinks.*Replay with \{ seed: 1, path: '[\d:]+' \}.*saved as reports\/invariance\//,
    );
    await expect(samples).not.toBeInvariantTo(twitchy, perturbations.occlude(8), { numRuns: 60, seed: 1 });
    expect(tf.memory().numTensors).toBe(before);
    await expect(expect(samples).toBeInvariantTo(calm, 0.5 as never)).rejects.toThrow(/must be a fast-check arbitrary/);
  });
});
