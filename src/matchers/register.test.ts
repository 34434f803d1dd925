import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, chai, describe, expect, it } from 'vitest';
import '../setup.js';
import type { Samples } from '../data/samples.js';
import { bandsDataset } from '../test-support/synthetic.js';
import { registerMatchers } from './register.js';

// A model that ignores its input: robust accuracy is its clean accuracy, whatever the attack. Its
// zero gradient makes "the attack loss did not increase" fire, so the checks that must pass here
// take { flags: 'warn' } (the flag is tested in src/attacks/lossFlag.test.ts).
function constant(): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), tf.layers.dense({ units: 2 })] });
  m.layers[1]!.setWeights([tf.zeros([192, 2]), tf.tensor1d([1, 0])]);
  return m;
}

// The setup entry registered them already; a second registration (the setup listed twice) must
// leave one guard around each, which the tests below then exercise.
registerMatchers();

let samples: Samples;
let model: tf.LayersModel;
beforeAll(() => {
  samples = bandsDataset({ count: 8, size: 8, seed: 3 }).toSamples();
  model = constant();
});
afterAll(() => {
  samples.dispose();
  model.dispose();
});

describe('the await guard on the registered matchers', () => {
  // Before the guard, the call ran on after the test and this test passed (the check was lost).
  it.fails('fails a test whose matcher call is never awaited, even when the check itself passes', () => {
    void expect(samples).toResistAttack(model, 'fgsm', 0.1, { minAccuracy: 0, flags: 'warn' });
  });

  it('counts an await through Promise.all, return and .resolves as awaited', async () => {
    await Promise.all([expect(samples).toResistAttack(model, 'fgsm', 0.1, { minAccuracy: 0, flags: 'warn' }), expect(samples).not.toResistAttack(model, 'fgsm', 0.1, { minAccuracy: 1, flags: 'warn' })]);
    await expect(expect(samples).toResistAttack(model, 'fgsm', 0.1, { minAccuracy: 0, flags: 'warn' })).resolves.toMatchObject({ metric: 'robustAccuracy', n: 8 });
    return expect(samples).toResistAttack(model, 'fgsm', 0.1, { minAccuracy: 0, flags: 'warn' });
  });

  it('resolves to the measurement, the same on the same call, with .not too', async () => {
    const labels = Array.from(await samples.labels.data());
    const m = await expect(samples).toResistAttack(model, 'fgsm', 0.1, { minAccuracy: 0, flags: 'warn' });
    // The constant model predicts class 0 whatever the input: robust accuracy is the share of 0s.
    expect(m.value).toBe(labels.filter((l) => l === 0).length / labels.length);
    expect(Array.from(m.predsAfter)).toEqual(labels.map(() => 0));
    expect(Array.from(m.labels)).toEqual(labels);
    expect(m.params).toMatchObject({ eps: 0.1 });
    const n = await expect(samples).not.toResistAttack(model, 'fgsm', 0.1, { minAccuracy: 1, flags: 'warn' });
    expect(n.value).toBe(m.value);
    // Two calls in flight at once each get their own.
    const [a, b] = await Promise.all([expect(samples).toResistAttack(model, 'fgsm', 0.1, { minAccuracy: 0, flags: 'warn' }), expect(samples).toResistAttack(model, 'fgsm', 0.2, { maxSuccessRate: 1, flags: 'warn' })]);
    expect([a.params.eps, a.metric, b.params.eps, b.metric]).toEqual([0.1, 'robustAccuracy', 0.2, 'successRate']);
  });

  it('still rejects with the matcher\'s own message when awaited', async () => {
    await expect(expect(samples).toResistAttack(model, 'fgsm', 0.1, { minAccuracy: 1 })).rejects.toThrow(/expected the model to resist: robust accuracy under fgsm/);
  });

  it('leaves every matcher guarded after registering again', () => {
    const proto = chai.Assertion.prototype as unknown as Record<string, Record<symbol, unknown>>;
    for (const name of ['toResistAttack', 'toHaveStableAttribution', 'toHaveAverageDensityBelow', 'toMatchHeatmapSnapshot', 'toBeInvariantTo']) {
      expect(proto[name]![Symbol.for('vitest-robustness.awaitGuard')], name).toBe(true);
    }
  });
});
