import { COMMON_DEFAULTS, defineAttack } from './defineAttack.js';
import { apgdRun, type ApgdOutcome } from './apgdLoop.js';
import { crossEntropyPerSample, dlrLoss, targetedDlrLoss } from './losses.js';
import { checkEps } from '../data/inputs.js';
import { getNorm } from './norms.js';
import type { AttackContext, CommonParams, NormName } from './types.js';
import * as tf from '@tensorflow/tfjs';

/** Parameters of {@link apgd}. */
export interface ApgdParams extends CommonParams {
  /** Budget in `norm`. @defaultValue 8/255 */
  eps: number;
  /** @defaultValue 'linf' */
  norm: NormName;
  /** Iterations per restart (gradient evaluations). @defaultValue 100 (AutoAttack's) */
  steps: number;
  /** Runs from independent random starts; each later run attacks only the samples not yet broken. @defaultValue 1 */
  restarts: number;
  /**
   * The loss maximised: cross-entropy ('ce', APGD-CE) or the Difference of Logits Ratio ('dlr',
   * APGD-DLR; needs 3 or more classes, 4 when targeted). @defaultValue 'ce'
   */
  loss: 'ce' | 'dlr';
}

/** Defaults of {@link apgd}: AutoAttack's APGD-CE. */
export const APGD_DEFAULTS: ApgdParams = { ...COMMON_DEFAULTS, eps: 8 / 255, norm: 'linf', steps: 100, restarts: 1, loss: 'ce' };

/** Checks what APGD and APGD-T have in common. */
export function checkApgdParams(name: string, p: { eps: number; norm: NormName; steps: number; restarts: number }, x: tf.Tensor4D): void {
  getNorm(p.norm);
  checkEps(p.eps, p.norm, x.shape[1] * x.shape[2] * x.shape[3], name);
  if (!Number.isInteger(p.steps) || p.steps < 1) throw new RangeError(`${name}: steps must be a positive integer; got ${String(p.steps)}.`);
  if (!Number.isInteger(p.restarts) || p.restarts < 1) throw new RangeError(`${name}: restarts must be a positive integer; got ${String(p.restarts)}.`);
}

/** Seed of restart r (and target class j) of a chunk: far apart, so chunk seeds (seed + i) never collide with them. */
export function runSeed(chunkSeed: number, run: number): number {
  return (chunkSeed + run * 1_000_003) | 0;
}

/** Starts an outcome for a chunk: the clean images, nothing broken. */
export function startOutcome(ctx: AttackContext): ApgdOutcome {
  const n = ctx.x.shape[0];
  return { adv: tf.clone(ctx.x), done: new Uint8Array(n), bestLoss: new Float64Array(n).fill(-Infinity) };
}

/**
 * Auto-PGD (Croce and Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble
 * of diverse parameter-free attacks"): PGD whose step size needs no tuning. It starts at 2 eps,
 * uses momentum 0.75, and is halved at fixed checkpoints when the loss stopped rising, the
 * iterate going back to the best point; see {@link apgdRun}. Linf or L2; cross-entropy or DLR
 * loss; untargeted, or targeted with `target`. A sample whose clean prediction already meets the
 * goal is left unchanged, and a sample leaves the run as soon as it is broken (so the result for
 * it is the first adversarial point found, and the query counts show the work saved).
 *
 * @example
 * ```ts
 * const r = await apgd.run(model, images, labels, { eps: 8 / 255 });            // APGD-CE
 * const d = await apgd.run(model, images, labels, { eps: 0.5, norm: 'l2', loss: 'dlr' });
 * ```
 */
export const apgd = defineAttack<ApgdParams>({
  name: 'apgd',
  defaults: APGD_DEFAULTS,
  resolve(p, x) {
    checkApgdParams('apgd', p, x);
    if (p.loss !== 'ce' && p.loss !== 'dlr') throw new Error(`apgd: loss must be 'ce' or 'dlr'; got ${JSON.stringify(p.loss)}. For the targeted DLR over the top classes use 'apgd-t'.`);
    return p;
  },
  budget: (p) => ({ norm: p.norm, eps: p.eps }),
  async perturb(ctx, p) {
    const norm = getNorm(p.norm);
    const targeted = ctx.targeted;
    const wanted = (pred: number, row: number) => (targeted ? pred === ctx.targetHost![row] : pred !== ctx.labelsHost[row]);
    const loss = (z: tf.Tensor2D, rows: tf.Tensor1D) =>
      tf.tidy(() => {
        const labels = tf.gather(ctx.labels, rows) as tf.Tensor1D;
        if (!targeted) return p.loss === 'ce' ? crossEntropyPerSample(z, labels) : dlrLoss(z, labels);
        const targets = tf.gather(ctx.target!, rows) as tf.Tensor1D;
        return p.loss === 'ce' ? tf.neg(crossEntropyPerSample(z, targets)) : targetedDlrLoss(z, labels, targets);
      });
    const out = startOutcome(ctx);
    try {
      for (let r = 0; r < p.restarts; r++) {
        const rows: number[] = [];
        for (let i = 0; i < ctx.x.shape[0]; i++) if (!out.done[i] && !wanted(ctx.predsBefore[i]!, i)) rows.push(i);
        await apgdRun(ctx, rows, { norm, eps: p.eps, steps: p.steps, seed: runSeed(ctx.seed, r), loss, goal: wanted }, out);
      }
      return out.adv;
    } catch (err) {
      out.adv.dispose();
      throw err;
    }
  },
});
