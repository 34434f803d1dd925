import * as tf from '@tensorflow/tfjs';
import { yieldToEventLoop } from '../util/yield.js';
import type { Norm } from './norms.js';
import { compact, rowMask, takeRows, writeRows } from './rows.js';
import type { AttackContext } from './types.js';

/** Momentum weight alpha of APGD (Croce and Hein 2020, sec. 3.2): x_{k+1} mixes 75% new step, 25% previous move. */
export const APGD_MOMENTUM = 0.75;
/** Share of improving steps below which a checkpoint halves the step size (rho, sec. 3.2). */
export const APGD_RHO = 0.75;

/**
 * The iterations at which APGD checks its progress: w_j = ceil(p_j * steps) with p_0 = 0,
 * p_1 = 0.22 and p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06) (Croce and Hein 2020, sec. 3.2).
 * For 100 steps: 22, 41, 57, 70, 80, 87, 93, 99.
 */
export function apgdCheckpoints(steps: number): number[] {
  const p = [0, 0.22];
  for (;;) {
    const next = p[p.length - 1]! + Math.max(p[p.length - 1]! - p[p.length - 2]! - 0.03, 0.06);
    if (next > 1) break;
    p.push(next);
  }
  // Round away float noise (0.99 summed from parts is 0.9900000000000001) before the ceiling.
  const w = p.slice(1).map((pj) => Math.ceil(Math.round(pj * steps * 1e9) / 1e9));
  return [...new Set(w)].filter((v) => v >= 1 && v <= steps);
}

/** One APGD run: which samples, which loss, which goal. */
export interface ApgdRunOptions {
  norm: Norm;
  eps: number;
  steps: number;
  seed: number;
  /** Per-sample loss to maximise for the logits of the chunk rows `rows` (int32 indices into the chunk). */
  loss(logits: tf.Tensor2D, rows: tf.Tensor1D): tf.Tensor1D;
  /** True when the prediction `pred` of chunk row `row` is what the attack wants. */
  goal(pred: number, row: number): boolean;
}

/** What APGD runs accumulate over restarts (and target classes) for one chunk. */
export interface ApgdOutcome {
  /** The chunk's adversarial batch so far (starts as a copy of the clean chunk). */
  adv: tf.Tensor4D;
  /** Per chunk row: the goal was reached (its row in `adv` is the point that reached it). */
  done: Uint8Array;
  /** Per chunk row: highest loss seen by a run that did not reach the goal (its point is in `adv`). */
  bestLoss: Float64Array;
}

interface Evaluated {
  f: tf.Tensor1D;
  pred: tf.Tensor1D;
  g?: tf.Tensor4D;
}

function evaluate(ctx: AttackContext, x: tf.Tensor4D, rows: tf.Tensor1D, o: ApgdRunOptions, withGrad: boolean): Evaluated {
  if (!withGrad) {
    return tf.tidy(() => {
      const z = ctx.logits(x);
      return { f: o.loss(z, rows), pred: tf.argMax(z, 1) as tf.Tensor1D };
    });
  }
  let f!: tf.Tensor1D;
  let pred!: tf.Tensor1D;
  const { value, grad } = ctx.grad((v: tf.Tensor4D) => {
    const z = ctx.logits(v);
    const l = o.loss(z, rows);
    f = tf.keep(l);
    pred = tf.keep(tf.argMax(z, 1) as tf.Tensor1D);
    return tf.sum(l) as tf.Scalar;
  }, x);
  value.dispose();
  return { f, pred, g: grad };
}

/**
 * One run of Auto-PGD (Croce and Hein 2020, Algorithm 1) on the chunk rows `rows`: a random start
 * in the eps-ball, a first plain step of size eta = 2 eps, then steps with momentum
 * {@link APGD_MOMENTUM}; at each checkpoint ({@link apgdCheckpoints}) the step size of a sample
 * is halved and its iterate reset to its best point when fewer than {@link APGD_RHO} of its steps
 * since the last checkpoint raised the loss, or when neither its step size nor its best loss
 * changed since then. A sample leaves the run as soon as an evaluated point reaches the goal;
 * that point is its result. The others end at their highest-loss point, kept in `out` when it
 * beats the loss of earlier runs. Every sample's trajectory is independent of the others.
 */
export async function apgdRun(ctx: AttackContext, rows: readonly number[], o: ApgdRunOptions, out: ApgdOutcome): Promise<void> {
  if (rows.length === 0) return;
  const { norm, eps } = o;
  let active = rows.slice();
  const clean = takeRows(ctx.x, active);
  const state: Record<string, tf.Tensor> = { x0: clean };
  try {
    const project = (v: tf.Tensor4D, x0: tf.Tensor4D) => tf.clipByValue(tf.add(x0, norm.project(tf.sub(v, x0) as tf.Tensor4D, eps)), 0, 1) as tf.Tensor4D;
    state.x = tf.tidy(() => project(tf.add(clean, norm.randomStart(clean.shape, eps, o.seed)) as tf.Tensor4D, clean));
    state.rows = tf.tensor1d(Int32Array.from(active), 'int32');
    let e = evaluate(ctx, state.x as tf.Tensor4D, state.rows as tf.Tensor1D, o, o.steps > 0);
    state.g = e.g!;
    let [fh, ph] = await Promise.all([e.f.data(), e.pred.data()]);
    tf.dispose([e.f, e.pred]);
    let m = active.length;
    // Host-side per-sample state, indexed like the compacted tensors.
    let f = Float64Array.from(fh);
    let fMax = Float64Array.from(fh);
    let eta = new Float64Array(m).fill(2 * eps);
    let rises = new Uint32Array(m);
    let fMaxAtCheck = Float64Array.from(fh);
    let etaAtCheck = eta.slice();
    state.xPrev = tf.clone(state.x);
    state.xMax = tf.clone(state.x);
    state.gMax = tf.clone(state.g);
    const checkpoints = new Set(apgdCheckpoints(o.steps));
    let lastCheck = 0;

    const finish = (local: number[], points: tf.Tensor4D) => {
      if (local.length === 0) return;
      const rowsDone = local.map((i) => active[i]!);
      for (const r of rowsDone) out.done[r] = 1;
      const vals = takeRows(points, local);
      const next = writeRows(out.adv, rowsDone, vals);
      tf.dispose([vals, out.adv]);
      out.adv = next;
    };
    const keep = (local: number[]) => {
      compact(state, local);
      active = local.map((i) => active[i]!);
      const pick = (a: Float64Array) => Float64Array.from(local, (i) => a[i]!);
      f = pick(f);
      fMax = pick(fMax);
      eta = pick(eta);
      rises = Uint32Array.from(local, (i) => rises[i]!);
      fMaxAtCheck = pick(fMaxAtCheck);
      etaAtCheck = pick(etaAtCheck);
      m = local.length;
    };
    const settle = (points: tf.Tensor4D, preds: ArrayLike<number>) => {
      const reached: number[] = [];
      const still: number[] = [];
      for (let i = 0; i < m; i++) (o.goal(preds[i]!, active[i]!) ? reached : still).push(i);
      if (reached.length) {
        finish(reached, points);
        keep(still);
      }
    };
    settle(state.x as tf.Tensor4D, ph);

    for (let t = 1; t <= o.steps && m > 0; t++) {
      const alpha = t === 1 ? 1 : APGD_MOMENTUM;
      const etaT = tf.tensor4d(Float32Array.from(eta), [m, 1, 1, 1]);
      const xNew = tf.tidy(() => {
        const x = state.x as tf.Tensor4D;
        const x0 = state.x0 as tf.Tensor4D;
        const z = project(tf.add(x, tf.mul(norm.direction(state.g as tf.Tensor4D), etaT)) as tf.Tensor4D, x0);
        const moved = tf.add(tf.add(x, tf.mul(tf.sub(z, x), alpha)), tf.mul(tf.sub(x, state.xPrev!), 1 - alpha)) as tf.Tensor4D;
        return project(moved, x0);
      });
      etaT.dispose();
      // The last point needs no gradient: nothing steps from it.
      e = evaluate(ctx, xNew, state.rows as tf.Tensor1D, o, t < o.steps);
      [fh, ph] = await Promise.all([e.f.data(), e.pred.data()]);
      tf.dispose([e.f, e.pred]);
      const improved = new Uint8Array(m);
      for (let i = 0; i < m; i++) {
        if (fh[i]! > f[i]!) rises[i]!++;
        if (fh[i]! > fMax[i]!) {
          fMax[i] = fh[i]!;
          improved[i] = 1;
        }
        f[i] = fh[i]!;
      }
      const better = rowMask(improved);
      const nextMax = tf.where(better, xNew, state.xMax as tf.Tensor4D);
      const nextGMax = e.g ? tf.where(better, e.g, state.gMax as tf.Tensor4D) : tf.clone(state.gMax!);
      better.dispose();
      tf.dispose([state.xMax!, state.gMax!, state.xPrev!]);
      state.xMax = nextMax;
      state.gMax = nextGMax;
      state.xPrev = state.x!;
      state.x = xNew;
      state.g.dispose();
      state.g = e.g ?? tf.zerosLike(xNew);
      // A success is judged on the point just evaluated, before any checkpoint reset.
      settle(xNew, ph);
      if (checkpoints.has(t) && m > 0 && t < o.steps) {
        const reset = new Uint8Array(m);
        const span = t - lastCheck;
        for (let i = 0; i < m; i++) {
          const tooFewRises = rises[i]! < APGD_RHO * span;
          const stalled = etaAtCheck[i] === eta[i] && fMaxAtCheck[i] === fMax[i];
          etaAtCheck[i] = eta[i]!;
          fMaxAtCheck[i] = fMax[i]!;
          rises[i] = 0;
          if (tooFewRises || stalled) {
            eta[i] = eta[i]! / 2;
            reset[i] = 1;
          }
        }
        lastCheck = t;
        if (reset.some(Boolean)) {
          const r = rowMask(reset);
          const [nx, ng] = tf.tidy(() => [tf.where(r, state.xMax!, state.x!), tf.where(r, state.gMax!, state.g!)]);
          r.dispose();
          tf.dispose([state.x!, state.g!]);
          state.x = nx!;
          state.g = ng!;
          for (let i = 0; i < m; i++) if (reset[i]) f[i] = fMax[i]!;
        }
      }
      await yieldToEventLoop();
    }
    // Samples that never reached the goal keep this run's best point if it beats earlier runs.
    const better: number[] = [];
    for (let i = 0; i < m; i++) if (fMax[i]! > out.bestLoss[active[i]!]!) better.push(i);
    if (better.length) {
      for (const i of better) out.bestLoss[active[i]!] = fMax[i]!;
      const vals = takeRows(state.xMax as tf.Tensor4D, better);
      const next = writeRows(out.adv, better.map((i) => active[i]!), vals);
      tf.dispose([vals, out.adv]);
      out.adv = next;
    }
  } finally {
    tf.dispose(Object.values(state));
  }
}
