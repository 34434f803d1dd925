// An example release gate, the way a team that ships a model writes one: load the model, draw a
// fixed, class-stratified set of test images, and assert robustness properties with thresholds
// the team has agreed on. A failing assertion fails `npx vitest specs`, and so the CI job. With no
// CIFAR10_DIR, CIFAR-10 is downloaded into the cache on first use; offline, the 200 images come from
// the sample shipped inside the package (the report marks every check on it).
import { afterAll, describe, expect, it } from 'vitest';
import { cifar10, gradcam, loadModel, perturbations } from 'vitest-robustness';

const model = await loadModel('fixtures/models/cnn1-act0');
const samples = await cifar10.test({ count: 200, seed: 1 });
const few = samples.slice(0, 50);
afterAll(() => {
  samples.dispose();
  few.dispose();
  model.dispose();
});

describe('cnn1-act0 release gate (the Fig. 1 single-layer CNN, no activity penalty)', () => {
  it('keeps at least 20% accuracy under FGSM at eps 1/255', async () => {
    await expect(samples).toResistAttack(model, 'fgsm', 1 / 255, { minAccuracy: 0.2 });
  });

  it('is broken by PGD at eps 8/255: an undefended model should not claim robustness there', async () => {
    await expect(samples).not.toResistAttack(model, 'pgd', 8 / 255, { minAccuracy: 0.2, params: { steps: 10, seed: 1 } });
  });

  // 25 is about the paper's unregularized ResNet (Table 2: 24.53).
  it('keeps its Grad-CAM maps stable under a 0.5-sigma blur (mean SSD of 32x32 maps at most 25)', async () => {
    await expect(few).toHaveStableAttribution(model, 'gradcam', 0.5, { maxSSD: 25 });
  });

  // The paper calls a code sparse when its activity ratio lies in [0, 0.5].
  it('has a sparse hidden code: average density below 0.5', async () => {
    await expect(model).toHaveAverageDensityBelow(samples, 0.5, { layer: 'hidden' });
  });

  // A snapshot must pin its input: the first image of a draw depends on which copy of CIFAR-10
  // the machine has, so this one comes from the sample shipped inside the package, the same
  // pixels everywhere.
  it('keeps the Grad-CAM heatmap of a pinned test image (snapshots/ holds the approved PNG)', async () => {
    const pinned = await cifar10.sample({ count: 1, seed: 1 });
    const map = await gradcam(model, pinned.images);
    try {
      // A little slack for other backends' float differences.
      await expect(map).toMatchHeatmapSnapshot('pinned-image-gradcam', { maxDiffRatio: 0.02 });
    } finally {
      map.dispose();
      pinned.dispose();
    }
  });

  // A property over images x perturbations: fast-check searches for a flip and, when it finds
  // one, shrinks it to the smallest. A 60%-accurate CNN is not invariant to a gray patch of up
  // to 16x16 pixels, and the gate says so (the failure message of the positive form names the
  // smallest patch, the image and the seed to replay it).
  it('changes its mind when a large gray patch covers the object', async () => {
    await expect(few).not.toBeInvariantTo(model, perturbations.occlude(16), { numRuns: 100, seed: 1 });
  });
});
