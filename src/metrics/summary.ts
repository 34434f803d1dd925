/** Summary statistics of per-sample values (e.g. perturbation norms). */
export interface Summary {
  count: number;
  mean: number;
  std: number;
  min: number;
  median: number;
  p95: number;
  max: number;
}

/** Linear-interpolated quantile q in [0, 1] of sorted values. */
function quantileSorted(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Count, mean, standard deviation (n - 1), min, median, 95th percentile and max of a list of
 * values; `mask` keeps only some samples (e.g. the successful ones, for the norms of working
 * perturbations).
 * @example `summarize(result.l2, result.success)`
 */
export function summarize(values: ArrayLike<number>, mask?: readonly boolean[]): Summary {
  const kept: number[] = [];
  for (let i = 0; i < values.length; i++) if (!mask || mask[i]) kept.push(values[i]!);
  const n = kept.length;
  if (n === 0) return { count: 0, mean: NaN, std: NaN, min: NaN, median: NaN, p95: NaN, max: NaN };
  const sorted = Float64Array.from(kept).sort();
  const mean = kept.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(kept.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { count: n, mean, std, min: sorted[0]!, median: quantileSorted(sorted, 0.5), p95: quantileSorted(sorted, 0.95), max: sorted[n - 1]! };
}

/** Summaries of an attack's Linf and L2 perturbation norms (all samples, or those in `mask`). */
export function perturbationSummary(result: { linf: Float32Array; l2: Float32Array }, mask?: readonly boolean[]): { linf: Summary; l2: Summary } {
  return { linf: summarize(result.linf, mask), l2: summarize(result.l2, mask) };
}
