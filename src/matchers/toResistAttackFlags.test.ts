// toResistAttack with an attack that reports evaluation flags (autoattack): a flag fails the check
// both ways round unless { flags: 'warn' }.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup.js';
import type { Samples } from '../data/samples.js';
import { bandsDataset } from '../test-support/synthetic.js';

// Four classes, zero weights: it always answers class 0 and its input gradient is zero by construction.
function blind(): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), tf.layers.dense({ units: 4 })] });
  m.layers[1]!.setWeights([tf.zeros([192, 4]), tf.tensor1d([1, 0, 0, 0])]);
  return m;
}

let samples: Samples;
let model: tf.LayersModel;
beforeAll(() => {
  samples = bandsDataset({ count: 8, size: 8, seed: 3 }).toSamples();
  model = blind();
});
afterAll(() => {
  samples.dispose();
  model.dispose();
});

describe('toResistAttack with evaluation flags', () => {
  const params = { version: 'cheap' as const };
  it('fails a check whose evaluation is flagged, with or without .not, and names the flag and the way out', async () => {
    await expect(expect(samples).toResistAttack(model, 'autoattack', 0.1, { minAccuracy: 0.1, params })).rejects.toThrow(
      /robust accuracy under autoattack .* evaluation flags \(failing the check; \{ flags: 'warn' \} reports them only\): the input gradient of the cross-entropy is zero, NaN or infinite for 8 of 8 images/,
    );
    await expect(expect(samples).not.toResistAttack(model, 'autoattack', 0.1, { minAccuracy: 0.9, params })).rejects.toThrow(/evaluation flags/);
  });

  it("only reports them with { flags: 'warn' }", async () => {
    await expect(samples).toResistAttack(model, 'autoattack', 0.1, { minAccuracy: 0.1, params, flags: 'warn' });
    // Every check leaves its per-sample outcomes beside the report.
    const root = resolve('reports', 'samples');
    const found = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.includes('only-reports-them-with') && f.endsWith('autoattack-0.1.json') && f.split(sep).length === 4);
    expect(found).toHaveLength(1);
    const file = resolve(root, found[0]!);
    const written = JSON.parse(readFileSync(file, 'utf8'));
    expect(written.n).toBe(8);
    expect(written.samples.every((s: { brokenBy: unknown }) => s.brokenBy === null || s.brokenBy === 'clean')).toBe(true);
    await expect(expect(samples).toResistAttack(model, 'autoattack', 0.1, { minAccuracy: 0.1, params, flags: 'loud' as never })).rejects.toThrow(/flags must be 'fail' or 'warn'/);
  });
});
