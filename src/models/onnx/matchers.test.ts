// Every matcher takes an imported ONNX model, and every check records its card (name, source,
// classes, preprocessing), so the report and the gate can say which model was judged on what input.
import * as tf from '@tensorflow/tfjs';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../setup.js';
import { perturbations } from '../../arbitraries/perturbation.js';
import { makeSamples, type Samples } from '../../data/samples.js';
import { resultsDir, type RobustnessRecord } from '../../record/record.js';
import { loadModel } from '../io.js';
import type { OnnxModel } from './model.js';
import { reference } from './testModels.js';

let model: OnnxModel;
let samples: Samples;
beforeAll(async () => {
  model = await loadModel('fixtures/onnx/resnet.onnx');
  const ref = reference('resnet');
  samples = makeSamples(tf.tensor4d(ref.input, ref.shape), tf.tensor1d(ref.fgsm.cleanPredictions, 'int32'));
});
afterAll(() => {
  samples.dispose();
  model.dispose();
  for (const d of ['worst', 'attribution', 'invariance']) rmSync(resolve('reports', d), { recursive: true, force: true });
});

/** The records this worker wrote for the current test. */
function recordsOf(test: string): RobustnessRecord[] {
  const file = join(resultsDir(), `${process.pid}.jsonl`);
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as RobustnessRecord).filter((r) => r.test.endsWith(test));
}

describe('matchers on an imported ONNX model', () => {
  it('toResistAttack runs and records the card with its preprocessing', async () => {
    // The labels are the model's own predictions, so clean accuracy is 1 and a 0 bar is not vacuous: n = 4.
    await expect(samples).toResistAttack(model, 'fgsm', 1 / 255, { minAccuracy: 0 });
    const [r] = recordsOf('toResistAttack runs and records the card with its preprocessing');
    expect(r!.model).toBe('resnet-onnx');
    expect(r!.n).toBe(4);
    expect(r!.card).toMatchObject({ format: 'onnx', source: expect.stringContaining('export-onnx-fixtures.py'), preprocessing: { inputRange: [0, 1], mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616], layout: 'NCHW' } });
    expect((r!.card as { classes: string[] }).classes).toHaveLength(10);
  });

  it('toHaveStableAttribution runs Grad-CAM on it', async () => {
    await expect(samples).toHaveStableAttribution(model, 'gradcam', 0.5, { maxSSD: 1e6 });
    const [r] = recordsOf('toHaveStableAttribution runs Grad-CAM on it');
    expect(r!.method).toBe('gradcam');
    expect(r!.card).toMatchObject({ name: 'resnet-onnx', format: 'onnx' });
  });

  it('toHaveAverageDensityBelow reads a value named by ONNX output, or the first conv by default', async () => {
    await expect(model).toHaveAverageDensityBelow(samples, 1, { layer: '/Relu_output_0' });
    await expect(model).toHaveAverageDensityBelow(samples, 1);
    const rs = recordsOf('toHaveAverageDensityBelow reads a value named by ONNX output, or the first conv by default');
    expect(rs.map((r) => r.params.layer)).toEqual(['/Relu_output_0', model.firstHiddenValue().name]);
    expect(rs.every((r) => r.value > 0 && r.value < 1)).toBe(true);
  });

  it('toBeInvariantTo runs its property on it', async () => {
    await expect(samples).toBeInvariantTo(model, perturbations.brightness(0.001), { numRuns: 3, seed: 1 });
  });

});
