import { COMMON_DEFAULTS, defineAttack } from './defineAttack.js';
import { gradientLoop } from './gradientLoop.js';
import { checkEps } from '../data/inputs.js';
import { getNorm } from './norms.js';
import type { CommonParams, NormName } from './types.js';

/** Parameters of {@link pgd}. */
export interface PgdParams extends CommonParams {
  /** Budget in `norm`. @defaultValue 8/255 */
  eps: number;
  /** @defaultValue 'linf' */
  norm: NormName;
  /** Gradient steps. @defaultValue 10 */
  steps: number;
  /** Step length in `norm`. @defaultValue eps / 4 */
  stepSize?: number;
  /** Start from a uniform random point in the ball (seeded by `seed`). @defaultValue true */
  randomStart: boolean;
}

/** Defaults of {@link pgd}; `stepSize` undefined means eps / 4. */
export const PGD_DEFAULTS: PgdParams = { ...COMMON_DEFAULTS, eps: 8 / 255, norm: 'linf', steps: 10, stepSize: undefined, randomStart: true };

/**
 * Projected Gradient Descent (Madry et al., 2018) in the Linf or L2 norm, untargeted or targeted:
 * a random start in the ball, then `steps` steps of `stepSize` along the norm's steepest
 * direction of the cross-entropy, each followed by projection onto the eps-ball and [0, 1].
 *
 * @example
 * ```ts
 * const r = await pgd.run(model, images, labels, { eps: 8 / 255, steps: 20 });
 * const targeted = await pgd.run(model, images, labels, { target: 3 });
 * ```
 */
export const pgd = defineAttack<PgdParams>({
  name: 'pgd',
  defaults: PGD_DEFAULTS,
  resolve(p, x) {
    getNorm(p.norm);
    checkEps(p.eps, p.norm, x.shape[1] * x.shape[2] * x.shape[3], 'pgd');
    if (!Number.isInteger(p.steps) || p.steps < 1) throw new RangeError(`pgd: steps must be a positive integer; got ${String(p.steps)}.`);
    const stepSize = p.stepSize ?? p.eps / 4;
    if (!(typeof stepSize === 'number' && stepSize > 0 && Number.isFinite(stepSize))) throw new RangeError(`pgd: stepSize must be a positive number; got ${String(stepSize)}. Leave it out for eps / 4.`);
    if (typeof p.randomStart !== 'boolean') throw new TypeError(`pgd: randomStart must be true or false; got ${String(p.randomStart)}.`);
    return { ...p, stepSize };
  },
  budget: (p) => ({ norm: p.norm, eps: p.eps }),
  perturb: (ctx, p) => gradientLoop(ctx, { norm: getNorm(p.norm), eps: p.eps, steps: p.steps, stepSize: p.stepSize!, randomStart: p.randomStart }),
});
