// The settings of this project's reproduction of the paper, shared by the workbench's training
// commands and the paper specs. The library takes them as ordinary arguments.
import type { AdversarialAttackSpec } from 'vitest-robustness';

/**
 * The attack settings of the Table 1 reproduction, used both to make the adversarial training
 * images and to attack the test images, identical for every model. The paper does not state its
 * settings; these are common CIFAR-10 choices. DeepFool is a minimal-perturbation attack that
 * succeeds on nearly every image when unbounded, so its perturbation is capped at L2 0.5 (accuracy
 * under it is the share of images whose DeepFool distance exceeds 0.5), and it considers the label
 * and the 3 classes scored highest on the clean image (ART's nb_grads = 4), which keeps it
 * affordable on a CPU.
 */
export const PAPER_ATTACKS: Readonly<Record<'deepfool' | 'fgsm' | 'pgd', Readonly<AdversarialAttackSpec>>> = Object.freeze({
  deepfool: Object.freeze({ attack: 'deepfool' as const, params: Object.freeze({ norm: 'l2', eps: 0.5, maxIter: 50, overshoot: 0.02, candidates: 4 }) }),
  fgsm: Object.freeze({ attack: 'fgsm' as const, params: Object.freeze({ norm: 'linf', eps: 8 / 255 }) }),
  pgd: Object.freeze({ attack: 'pgd' as const, params: Object.freeze({ norm: 'linf', eps: 8 / 255, steps: 10, stepSize: 2 / 255, randomStart: true }) }),
});

/** The paper's kernel-penalty factor, for every variant (L1, L2, elastic net). */
export const PAPER_FACTOR = 0.01;

/** The hidden layer of the single-layer CNN of Fig. 1 (cnn1), where the activity penalty and the density go. */
export const CNN1_HIDDEN = 'hidden';
