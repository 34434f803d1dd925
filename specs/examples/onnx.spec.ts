// A release gate for a model trained in PyTorch: the ONNX file is imported as TensorFlow.js
// operations, so white-box attacks and Grad-CAM run on it like on any model of ours. Its
// preprocessing (CIFAR-10 mean and std, applied after the [0, 1] pixels the attacks perturb) and
// its name, source and classes come from fixtures/onnx/resnet.card.json beside the file.
import { afterAll, describe, expect, it } from 'vitest';
import { cifar10, loadModel } from 'vitest-robustness';

const model = await loadModel('fixtures/onnx/resnet.onnx');
const samples = await cifar10.test({ count: 200, seed: 1 });
const few = samples.slice(0, 50);
afterAll(() => {
  samples.dispose();
  few.dispose();
  model.dispose();
});

describe(`${model.name} release gate (a PyTorch ResNet imported from ONNX)`, () => {
  it('keeps at least 20% accuracy under FGSM at eps 1/255', async () => {
    await expect(samples).toResistAttack(model, 'fgsm', 1 / 255, { minAccuracy: 0.2 });
  });

  it('is broken by PGD at eps 8/255: an undefended model should not claim robustness there', async () => {
    await expect(samples).not.toResistAttack(model, 'pgd', 8 / 255, { minAccuracy: 0.2, params: { steps: 10, seed: 1 } });
  });

  // 25 is about the paper's unregularized ResNet (Table 2: 24.53), the bar set before measuring.
  // Measured 2026-12-02 on wasm: mean SSD 2.37 (95% CI 1.68 to 3.23) on these 50 images, each map
  // explaining the clean image's class. (Before issue 17 the blurred image's own prediction was
  // explained, and class changes under the blur gave 26.96.)
  it('keeps its Grad-CAM maps stable under a 0.5-sigma blur (mean SSD of 32x32 maps at most 25)', async () => {
    await expect(few).toHaveStableAttribution(model, 'gradcam', 0.5, { maxSSD: 25 });
  });
});
