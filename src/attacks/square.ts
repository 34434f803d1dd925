import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../util/random.js';
import { yieldToEventLoop } from '../util/yield.js';
import { COMMON_DEFAULTS, defineAttack } from './defineAttack.js';
import { crossEntropyPerSample, marginLoss } from './losses.js';
import { checkEps } from '../data/inputs.js';
import { getNorm } from './norms.js';
import type { AttackContext, CommonParams, NormName } from './types.js';

/** Parameters of {@link square}. */
export interface SquareParams extends CommonParams {
  /** Budget in `norm`. @defaultValue 8/255 */
  eps: number;
  /** @defaultValue 'linf' */
  norm: NormName;
  /** Model queries per sample at most, the initial point included. @defaultValue 5000 (AutoAttack's; the paper's limit is 10,000) */
  queries: number;
  /** Initial share of the image's pixels a square covers, halved on the schedule of {@link squareFraction}. @defaultValue 0.8 (AutoAttack's) */
  pInit: number;
}

/** Defaults of {@link square}. */
export const SQUARE_DEFAULTS: SquareParams = { ...COMMON_DEFAULTS, eps: 8 / 255, norm: 'linf', queries: 5000, pInit: 0.8 };

/**
 * Iterations (out of 10,000) after which the Square attack halves p (Andriushchenko et al. 2020,
 * sec. 4); a budget of N queries rescales them by N / 10,000.
 */
const HALVINGS = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000];

/** The share of pixels the square covers at iteration `it` of `total`. */
export function squareFraction(it: number, total: number, pInit: number): number {
  const scaled = Math.floor((it / total) * 10_000);
  return pInit / 2 ** HALVINGS.filter((h) => scaled > h).length;
}

/**
 * Square Attack (Andriushchenko, Croce, Flammarion and Hein 2020, "Square Attack: a
 * query-efficient black-box adversarial attack via random search"): score-based, no gradients.
 * Random search over perturbations at the corners of the budget: each iteration changes one
 * randomly placed square window (side sqrt(p * H * W), p shrinking on a fixed schedule) and keeps
 * the change only if the loss falls. Linf: the window is set to x +/- eps per channel, from a
 * start of vertical stripes of +/- eps (Algorithms 1 and 2). L2: mass moves from a second window
 * into the first in the shape of centred square patterns, keeping the norm at eps (Algorithm 3).
 * Loss: the margin of the label over the best other class (untargeted), the cross-entropy of the
 * target (targeted). Each iteration costs one forward query for each sample not yet broken.
 *
 * @example
 * ```ts
 * const r = await square.run(model, images, labels, { eps: 8 / 255, queries: 1000 });
 * console.log(r.queries.forward, r.queries.gradient); // gradient is 0
 * ```
 */
export const square = defineAttack<SquareParams>({
  name: 'square',
  defaults: SQUARE_DEFAULTS,
  resolve(p, x) {
    getNorm(p.norm);
    checkEps(p.eps, p.norm, x.shape[1] * x.shape[2] * x.shape[3], 'square');
    if (!Number.isInteger(p.queries) || p.queries < 1) throw new RangeError(`square: queries must be a positive integer; got ${String(p.queries)}.`);
    if (!(typeof p.pInit === 'number' && p.pInit > 0 && p.pInit <= 1)) throw new RangeError(`square: pInit must be in (0, 1] (a share of the pixels); got ${String(p.pInit)}.`);
    return p;
  },
  budget: (p) => ({ norm: p.norm, eps: p.eps }),
  perturb: (ctx, p) => squareChunk(ctx, p),
});

interface Geometry {
  h: number;
  w: number;
  c: number;
  size: number;
}

async function squareChunk(ctx: AttackContext, p: SquareParams): Promise<tf.Tensor4D> {
  const [n, h, w, c] = ctx.x.shape;
  const geo: Geometry = { h, w, c, size: h * w * c };
  const x0 = (await ctx.x.data()) as Float32Array;
  const best = Float32Array.from(x0);
  const rand = mulberry32(ctx.seed ^ 0x5a17);
  const wanted = (pred: number, row: number) => (ctx.targeted ? pred === ctx.targetHost![row] : pred !== ctx.labelsHost[row]);
  let active: number[] = [];
  for (let i = 0; i < n; i++) if (!wanted(ctx.predsBefore[i]!, i)) active.push(i);
  if (active.length === 0) return tf.tensor4d(best, ctx.x.shape);

  for (const i of active) {
    const row = best.subarray(i * geo.size, (i + 1) * geo.size);
    if (p.norm === 'linf') stripesLinf(row, x0.subarray(i * geo.size), geo, p.eps, rand);
    else tilesL2(row, x0.subarray(i * geo.size), geo, p.eps, rand);
  }
  let evals = await evaluate(ctx, best, active, geo);
  let loss = evals.loss;
  const keep = (still: number[]) => {
    active = still.map((k) => active[k]!);
    loss = Float64Array.from(still, (k) => loss[k]!);
  };
  const stillOpen = (preds: Int32Array) => active.map((r, k) => (wanted(preds[k]!, r) ? -1 : k)).filter((k) => k >= 0);
  keep(stillOpen(evals.preds));

  const candidate = new Float32Array(geo.size);
  for (let it = 1; it < p.queries && active.length > 0; it++) {
    const frac = squareFraction(it, p.queries, p.pInit);
    const side = Math.min(Math.max(Math.round(Math.sqrt(frac * h * w)), p.norm === 'linf' ? 1 : 3), h, w);
    const batch = new Float32Array(active.length * geo.size);
    for (let k = 0; k < active.length; k++) {
      const i = active[k]!;
      candidate.set(best.subarray(i * geo.size, (i + 1) * geo.size));
      if (p.norm === 'linf') windowLinf(candidate, x0.subarray(i * geo.size), geo, side, p.eps, rand);
      else windowL2(candidate, x0.subarray(i * geo.size), geo, side, p.eps, rand);
      batch.set(candidate, k * geo.size);
    }
    evals = await evaluateBatch(ctx, batch, active, geo);
    const still: number[] = [];
    for (let k = 0; k < active.length; k++) {
      const i = active[k]!;
      const reached = wanted(evals.preds[k]!, i);
      if (reached || evals.loss[k]! < loss[k]!) {
        best.set(batch.subarray(k * geo.size, (k + 1) * geo.size), i * geo.size);
        loss[k] = evals.loss[k]!;
      }
      if (!reached) still.push(k);
    }
    if (still.length < active.length) keep(still);
    if (it % 10 === 0) await yieldToEventLoop();
  }
  return tf.tensor4d(best, ctx.x.shape);
}

async function evaluate(ctx: AttackContext, images: Float32Array, rows: number[], geo: Geometry): Promise<{ loss: Float64Array; preds: Int32Array }> {
  const batch = new Float32Array(rows.length * geo.size);
  rows.forEach((r, k) => batch.set(images.subarray(r * geo.size, (r + 1) * geo.size), k * geo.size));
  return evaluateBatch(ctx, batch, rows, geo);
}

/** Loss (to minimise) and prediction of each image in `batch`, which holds chunk rows `rows`. */
async function evaluateBatch(ctx: AttackContext, batch: Float32Array, rows: number[], geo: Geometry): Promise<{ loss: Float64Array; preds: Int32Array }> {
  const [lossT, predT] = tf.tidy(() => {
    const x = tf.tensor4d(batch, [rows.length, geo.h, geo.w, geo.c]);
    const z = ctx.logits(x);
    const idx = tf.tensor1d(Int32Array.from(rows), 'int32');
    const classes = tf.gather(ctx.classes, idx) as tf.Tensor1D;
    const loss = ctx.targeted ? crossEntropyPerSample(z, classes) : marginLoss(z, classes, false);
    return [loss, tf.argMax(z, 1)];
  });
  try {
    const [l, pr] = await Promise.all([lossT!.data(), predT!.data()]);
    return { loss: Float64Array.from(l), preds: Int32Array.from(pr) };
  } finally {
    tf.dispose([lossT!, predT!]);
  }
}

const clip01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const at = (geo: Geometry, r: number, s: number, ch: number) => (r * geo.w + s) * geo.c + ch;
const sign = (rand: () => number) => (rand() < 0.5 ? -1 : 1);
const l2 = (v: Float64Array) => Math.sqrt(v.reduce((acc, e) => acc + e * e, 0));

/** Linf start: vertical stripes one pixel wide, each channel of a stripe at x +/- eps. */
function stripesLinf(row: Float32Array, x0: Float32Array, geo: Geometry, eps: number, rand: () => number): void {
  for (let s = 0; s < geo.w; s++) {
    for (let ch = 0; ch < geo.c; ch++) {
      const d = sign(rand) * eps;
      for (let r = 0; r < geo.h; r++) row[at(geo, r, s, ch)] = clip01(x0[at(geo, r, s, ch)]! + d);
    }
  }
}

/**
 * Linf update: a random side x side window, each channel set to x +/- eps (the corner of the
 * budget; the paper's +/- 2 eps followed by projection lands there). Signs are redrawn a few times
 * when they would leave the window as it was, so a query is not spent on the same point.
 */
function windowLinf(row: Float32Array, x0: Float32Array, geo: Geometry, side: number, eps: number, rand: () => number): void {
  const r0 = Math.floor(rand() * (geo.h - side + 1));
  const s0 = Math.floor(rand() * (geo.w - side + 1));
  for (let attempt = 0; attempt < 10; attempt++) {
    const signs = Array.from({ length: geo.c }, () => sign(rand));
    let changed = false;
    for (let r = r0; r < r0 + side; r++) {
      for (let s = s0; s < s0 + side; s++) {
        for (let ch = 0; ch < geo.c; ch++) {
          const k = at(geo, r, s, ch);
          const v = clip01(x0[k]! + signs[ch]! * eps);
          if (v !== row[k]) changed = true;
          row[k] = v;
        }
      }
    }
    if (changed) return;
  }
}

/**
 * The centred pattern of an a x b window (Andriushchenko et al. 2020, eq. 2): nested rings whose
 * value sum_{k=0}^{M} 1 / (n + 1 - k)^2 grows towards the centre, M the ring's depth.
 */
function centredPattern(a: number, b: number): Float64Array {
  const n = Math.floor(Math.max(a, b) / 2);
  const out = new Float64Array(a * b);
  for (let r = 0; r < a; r++) {
    for (let s = 0; s < b; s++) {
      const ring = Math.floor(Math.max(Math.abs(r - (a - 1) / 2), Math.abs(s - (b - 1) / 2)));
      let v = 0;
      for (let k = 0; k <= n - ring; k++) v += 1 / (n + 1 - k) ** 2;
      out[r * b + s] = v;
    }
  }
  return out;
}

/**
 * The L2 update's shape for a side x side window: two centred patterns of opposite sign in its two
 * halves, split along a random axis, scaled to unit L2 norm.
 */
function splitPattern(side: number, rand: () => number): Float64Array {
  const top = Math.floor(side / 2);
  const upper = centredPattern(top, side);
  const lower = centredPattern(side - top, side);
  const out = new Float64Array(side * side);
  for (let r = 0; r < side; r++) for (let s = 0; s < side; s++) out[r * side + s] = r < top ? upper[r * side + s]! : -lower[(r - top) * side + s]!;
  const transpose = rand() < 0.5;
  const shaped = transpose ? out.map((_, k) => out[(k % side) * side + Math.floor(k / side)]!) : out;
  const norm = l2(shaped);
  return shaped.map((v) => v / norm);
}

/** L2 start: a grid of tiles of side w/5, each channel of a tile a split pattern of random sign, scaled to norm eps. */
function tilesL2(row: Float32Array, x0: Float32Array, geo: Geometry, eps: number, rand: () => number): void {
  const tile = Math.max(1, Math.floor(Math.min(geo.h, geo.w) / 5));
  const delta = new Float64Array(geo.size);
  const offR = Math.floor((geo.h - tile * Math.floor(geo.h / tile)) / 2);
  const offS = Math.floor((geo.w - tile * Math.floor(geo.w / tile)) / 2);
  for (let r0 = offR; r0 + tile <= geo.h; r0 += tile) {
    for (let s0 = offS; s0 + tile <= geo.w; s0 += tile) {
      const pattern = splitPattern(tile, rand);
      for (let ch = 0; ch < geo.c; ch++) {
        const sg = sign(rand);
        for (let r = 0; r < tile; r++) for (let s = 0; s < tile; s++) delta[at(geo, r0 + r, s0 + s, ch)] = sg * pattern[r * tile + s]!;
      }
    }
  }
  const norm = l2(delta) || 1;
  for (let k = 0; k < geo.size; k++) row[k] = clip01(x0[k]! + (delta[k]! / norm) * eps);
}

/**
 * L2 update (Andriushchenko et al. 2020, Algorithm 3): per channel, the mass of two random windows
 * W1 and W2 plus an equal share of the unused budget is put into W1, along the split pattern of
 * random sign added to W1's current (normalised) content; W2 is emptied. The perturbation's norm
 * stays at most eps (before clipping to [0, 1], which can only shrink it).
 */
function windowL2(row: Float32Array, x0: Float32Array, geo: Geometry, side: number, eps: number, rand: () => number): void {
  const nu = new Float64Array(geo.size);
  let used = 0;
  for (let k = 0; k < geo.size; k++) {
    nu[k] = row[k]! - x0[k]!;
    used += nu[k]! ** 2;
  }
  const unused = Math.max(eps * eps - used, 0);
  const r1 = Math.floor(rand() * (geo.h - side + 1));
  const s1 = Math.floor(rand() * (geo.w - side + 1));
  const r2 = Math.floor(rand() * (geo.h - side + 1));
  const s2 = Math.floor(rand() * (geo.w - side + 1));
  const inW1 = (r: number, s: number) => r >= r1 && r < r1 + side && s >= s1 && s < s1 + side;
  const inW2 = (r: number, s: number) => r >= r2 && r < r2 + side && s >= s2 && s < s2 + side;
  const pattern = splitPattern(side, rand);
  for (let ch = 0; ch < geo.c; ch++) {
    let w1 = 0;
    let union = 0;
    for (let r = 0; r < geo.h; r++) {
      for (let s = 0; s < geo.w; s++) {
        const v = nu[at(geo, r, s, ch)]! ** 2;
        if (inW1(r, s)) w1 += v;
        if (inW1(r, s) || inW2(r, s)) union += v;
      }
    }
    const available = Math.sqrt(union + unused / geo.c);
    const rho = sign(rand);
    const w1Norm = Math.sqrt(w1);
    const temp = new Float64Array(side * side);
    for (let r = 0; r < side; r++) {
      for (let s = 0; s < side; s++) {
        const cur = nu[at(geo, r1 + r, s1 + s, ch)]!;
        temp[r * side + s] = rho * pattern[r * side + s]! + (w1Norm > 0 ? cur / w1Norm : 0);
      }
    }
    const tempNorm = l2(temp) || 1;
    for (let r = r2; r < r2 + side; r++) for (let s = s2; s < s2 + side; s++) nu[at(geo, r, s, ch)] = 0;
    for (let r = 0; r < side; r++) for (let s = 0; s < side; s++) nu[at(geo, r1 + r, s1 + s, ch)] = (temp[r * side + s]! / tempNorm) * available;
  }
  for (let k = 0; k < geo.size; k++) row[k] = clip01(x0[k]! + nu[k]!);
}
