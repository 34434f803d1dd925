import { COMMON_DEFAULTS, defineAttack } from './defineAttack.js';
import { gradientLoop } from './gradientLoop.js';
import { checkEps } from '../data/inputs.js';
import { getNorm } from './norms.js';
import type { CommonParams, NormName } from './types.js';

/** Parameters of {@link fgsm}. */
export interface FgsmParams extends CommonParams {
  /** Budget in `norm`. @defaultValue 8/255 */
  eps: number;
  /** 'linf' is FGSM proper (x + eps * sign(grad)); 'l2' is the fast gradient method. @defaultValue 'linf' */
  norm: NormName;
}

/** Defaults of {@link fgsm}. */
export const FGSM_DEFAULTS: FgsmParams = { ...COMMON_DEFAULTS, eps: 8 / 255, norm: 'linf' };

/**
 * Fast Gradient Sign Method (Goodfellow et al., 2015): one step of size eps along the sign of the
 * cross-entropy gradient (against the target class when `target` is set), clipped to [0, 1]. It
 * is {@link gradientLoop} with one step of size eps and no random start.
 *
 * @example
 * ```ts
 * const r = await fgsm.run(model, images, labels, { eps: 8 / 255 });
 * r.adversarial.dispose();
 * ```
 */
export const fgsm = defineAttack<FgsmParams>({
  name: 'fgsm',
  defaults: FGSM_DEFAULTS,
  resolve(p, x) {
    getNorm(p.norm);
    checkEps(p.eps, p.norm, x.shape[1] * x.shape[2] * x.shape[3], 'fgsm');
    return p;
  },
  budget: (p) => ({ norm: p.norm, eps: p.eps }),
  perturb: (ctx, p) => gradientLoop(ctx, { norm: getNorm(p.norm), eps: p.eps, steps: 1, stepSize: p.eps, randomStart: false }),
});
