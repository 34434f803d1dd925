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

  // 25 is about the paper's unregularized ResNet (Table 2: 24.53), the bar this gate set before
  // measuring. This briefly trained ResNet misses it: mean SSD 26.96 on these 50 images (95% CI
  // 11.88 to 44.31, measured 2026-12-02 on wasm), so the gate records a failure of stability, and
  // this example asserts that it does. Its Grad-CAM layer (the default: the last block's ReLU) is
  // 8x8, so each map is a bilinear upsampling of 64 cells.
  it('is less stable under a 0.5-sigma blur than the paper\'s unregularized ResNet (mean SSD above 25), and the gate says so', async () => {
    await expect(few).not.toHaveStableAttribution(model, 'gradcam', 0.5, { maxSSD: 25 });
  });
});
