// An example of gating on the AutoAttack-style ensemble instead of PGD: the number it reports is
// the worst case over APGD-CE, APGD-T and Square, and the check fails on its own when the
// evaluation looks unreliable (randomized model, masked gradients, black-box beating white-box).
import { afterAll, describe, expect, it } from 'vitest';
import { cifar10, loadModel } from 'vitest-robustness';

const model = await loadModel('fixtures/models/resnet20-base');
const samples = await cifar10.test({ count: 50, seed: 1 });
afterAll(() => {
  samples.dispose();
  model.dispose();
});

describe('resnet20-base under the autoattack ensemble', () => {
  it('is broken at eps 8/255: an undefended model must not claim 10% robust accuracy there', async () => {
    await expect(samples).not.toResistAttack(model, 'autoattack', 8 / 255, { minAccuracy: 0.1, params: { version: 'cheap', seed: 1 } });
  });
});
