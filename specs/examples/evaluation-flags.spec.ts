// An example of the evaluation flags: a check fails by default when its evaluation looks
// unreliable (the attack loss did not increase, masked or zero gradients, a randomized model, a
// black-box attack beating the white-box ones), whatever its threshold says, `.not` included.
// { flags: 'warn' } keeps them in the message, the record and the report without failing. On this
// undefended ResNet-20 no flag fires, so both forms below pass; the flags' own tests build models
// that trip each one.
import { afterAll, describe, expect, it } from 'vitest';
import { cifar10, loadModel } from 'vitest-robustness';

const model = await loadModel('fixtures/models/resnet20-base');
const samples = await cifar10.test({ count: 100, seed: 1 });
afterAll(() => {
  samples.dispose();
  model.dispose();
});

describe('resnet20-base at eps 2/255: flags and the measured values', () => {
  it('is broken by APGD-CE and FGSM with no evaluation flag, and APGD-CE breaks at least as many as FGSM', async () => {
    // Default flags: 'fail'. A flag would fail this even though the model is far below 50%.
    const apgd = await expect(samples).not.toResistAttack(model, 'apgd', 2 / 255, { minAccuracy: 0.5, params: { seed: 1 } });
    // flags: 'warn' would only report a flag; the awaited call resolves to the measurement (value, interval, per-sample predictions).
    const fgsm = await expect(samples).not.toResistAttack(model, 'fgsm', 2 / 255, { minAccuracy: 0.5, flags: 'warn' });
    // A stronger attack leaves no more samples correct than a single gradient step.
    expect(apgd.value).toBeLessThanOrEqual(fgsm.value);
  });
});
