import * as tf from '@tensorflow/tfjs';
import { APGD_DEFAULTS, checkApgdParams, runSeed, startOutcome } from './apgd.js';
import { apgdRun } from './apgdLoop.js';
import { COMMON_DEFAULTS, defineAttack } from './defineAttack.js';
import { targetedDlrLoss } from './losses.js';
import { getNorm } from './norms.js';
import type { CommonParams, NormName } from './types.js';

/** Parameters of {@link apgdTargeted}. */
export interface ApgdTargetedParams extends CommonParams {
  /** Budget in `norm`. @defaultValue 8/255 */
  eps: number;
  /** @defaultValue 'linf' */
  norm: NormName;
  /** Iterations per target class and restart. @defaultValue 100 */
  steps: number;
  /** Runs per target class. @defaultValue 1 */
  restarts: number;
  /** How many of the highest-scoring other classes are tried as targets, in order. @defaultValue 9 (AutoAttack's; capped at classes - 1) */
  targetClasses: number;
}

/** Defaults of {@link apgdTargeted}: AutoAttack's APGD-T. */
export const APGD_TARGETED_DEFAULTS: ApgdTargetedParams = { ...COMMON_DEFAULTS, eps: APGD_DEFAULTS.eps, norm: 'linf', steps: 100, restarts: 1, targetClasses: 9 };

/**
 * APGD-T (Croce and Hein 2020, sec. 4): an untargeted attack made of targeted ones. For each
 * sample the classes are ranked by their clean logits; APGD then maximises the targeted DLR loss
 * towards the highest-ranked class other than the label, then (on the samples still correct) the
 * next, up to `targetClasses` classes. A sample counts as broken when its prediction leaves its
 * label, whichever class it lands in. Needs 4 or more classes.
 *
 * @example
 * ```ts
 * const r = await apgdTargeted.run(model, images, labels, { eps: 8 / 255, targetClasses: 3 });
 * ```
 */
export const apgdTargeted = defineAttack<ApgdTargetedParams>({
  name: 'apgd-t',
  defaults: APGD_TARGETED_DEFAULTS,
  targeted: false,
  resolve(p, x) {
    checkApgdParams('apgd-t', p, x);
    if (!Number.isInteger(p.targetClasses) || p.targetClasses < 1) throw new RangeError(`apgd-t: targetClasses must be a positive integer; got ${String(p.targetClasses)}.`);
    return p;
  },
  budget: (p) => ({ norm: p.norm, eps: p.eps }),
  async perturb(ctx, p) {
    if (ctx.numClasses < 4) throw new Error(`apgd-t: the targeted DLR loss needs at least 4 classes; the model has ${ctx.numClasses}. Use 'apgd' (loss 'ce') instead.`);
    const n = ctx.x.shape[0];
    const norm = getNorm(p.norm);
    const ranking = await rankOthers(ctx.logits(ctx.x), ctx.labelsHost);
    const classes = Math.min(p.targetClasses, ctx.numClasses - 1);
    const wanted = (pred: number, row: number) => pred !== ctx.labelsHost[row];
    const out = startOutcome(ctx);
    try {
      for (let j = 0; j < classes; j++) {
        const targets = tf.tensor1d(Int32Array.from(ranking, (order) => order[j]!), 'int32');
        const loss = (z: tf.Tensor2D, rows: tf.Tensor1D) => tf.tidy(() => targetedDlrLoss(z, tf.gather(ctx.labels, rows) as tf.Tensor1D, tf.gather(targets, rows) as tf.Tensor1D));
        try {
          for (let r = 0; r < p.restarts; r++) {
            const rows: number[] = [];
            for (let i = 0; i < n; i++) if (!out.done[i] && !wanted(ctx.predsBefore[i]!, i)) rows.push(i);
            await apgdRun(ctx, rows, { norm, eps: p.eps, steps: p.steps, seed: runSeed(ctx.seed, j * p.restarts + r), loss, goal: wanted }, out);
          }
        } finally {
          targets.dispose();
        }
      }
      return out.adv;
    } catch (err) {
      out.adv.dispose();
      throw err;
    }
  },
});

/** Per sample, the classes other than its label from highest to lowest clean logit. Disposes `logits`. */
async function rankOthers(logits: tf.Tensor2D, labels: Int32Array): Promise<Int32Array[]> {
  const [n, k] = logits.shape;
  const z = await logits.data();
  logits.dispose();
  return Array.from({ length: n }, (_, i) => {
    const row = z.subarray(i * k, (i + 1) * k);
    const order = Array.from({ length: k }, (_, c) => c).filter((c) => c !== labels[i]);
    order.sort((a, b) => row[b]! - row[a]! || a - b);
    return Int32Array.from(order);
  });
}
