import { mulberry32 } from '../util/random.js';

/** A point estimate with a confidence interval. */
export interface Interval {
  estimate: number;
  lower: number;
  upper: number;
  level: number;
}

/** Options of {@link bootstrapCI}. */
export interface BootstrapOptions {
  /** Seed of the resampling. @defaultValue 0 */
  seed?: number;
  /** Confidence level. @defaultValue 0.95 */
  level?: number;
  /** Resamples drawn. @defaultValue 2000 */
  resamples?: number;
  /** The statistic. @defaultValue the mean */
  statistic?: (values: Float64Array) => number;
}

const mean = (v: Float64Array) => v.reduce((a, b) => a + b, 0) / v.length;

function checkLevel(level: number, what: string): void {
  if (!(level > 0 && level < 1)) throw new RangeError(`${what}: level must lie in (0, 1), e.g. 0.95; got ${level}.`);
}

/**
 * Seeded percentile bootstrap confidence interval of a statistic (default: the mean).
 * @example `bootstrapCI(Array.from(await ssd(a, b)), { seed: 1 })` gives `{ estimate, lower, upper, level }`
 */
export function bootstrapCI(values: ArrayLike<number>, options: BootstrapOptions = {}): Interval & { resamples: number; seed: number } {
  const seed = options.seed ?? 0;
  const level = options.level ?? 0.95;
  const resamples = options.resamples ?? 2000;
  const statistic = options.statistic ?? mean;
  checkLevel(level, 'bootstrapCI');
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`bootstrapCI: resamples must be a positive integer; got ${resamples}.`);
  const v = Float64Array.from(Array.from(values));
  if (v.length === 0) throw new Error('bootstrapCI: no values.');
  if (v.some((x) => !Number.isFinite(x))) throw new Error('bootstrapCI: values must be finite numbers; filter out NaN first.');
  const rand = mulberry32(seed);
  const stats = new Float64Array(resamples);
  const draw = new Float64Array(v.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < v.length; i++) draw[i] = v[Math.floor(rand() * v.length)]!;
    stats[r] = statistic(draw);
  }
  stats.sort();
  const q = (p: number) => {
    const pos = (resamples - 1) * p;
    const lo = Math.floor(pos);
    return stats[lo]! + (stats[Math.ceil(pos)]! - stats[lo]!) * (pos - lo);
  };
  const alpha = (1 - level) / 2;
  return { estimate: statistic(v), lower: q(alpha), upper: q(1 - alpha), level, resamples, seed };
}

/** erf by its Taylor series (alternating terms stay small enough for |x| <= 6). */
function erf(x: number): number {
  if (x < 0) return -erf(-x);
  if (x > 6) return 1;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return Math.min(1, (2 / Math.sqrt(Math.PI)) * sum);
}

/** Standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * (1 + erf(x / Math.SQRT2));
}

/** Standard normal quantile (bisection on the CDF; p in (0, 1)). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must lie in (0, 1); got ${p}.`);
  let lo = -9;
  let hi = 9;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Wilson score interval for a proportion (successes out of n): better than the bootstrap for
 * accuracies near 0 or 1 and small n.
 * @param level - @defaultValue 0.95
 * @example `wilsonInterval(61, 200)` for a robust accuracy of 61/200
 */
export function wilsonInterval(successes: number, n: number, level = 0.95): Interval {
  checkLevel(level, 'wilsonInterval');
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`wilsonInterval: n must be a positive integer; got ${n}.`);
  if (!Number.isInteger(successes) || successes < 0 || successes > n) throw new RangeError(`wilsonInterval: successes must be an integer in [0, ${n}]; got ${successes}.`);
  const z = normalQuantile(1 - (1 - level) / 2);
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { estimate: p, lower: Math.max(0, centre - half), upper: Math.min(1, centre + half), level };
}
