// Public names of src/metrics, re-exported by src/index.ts.
export { accuracy, robustAccuracy, attackSuccessRate } from './accuracy.js';
export type { AttackOutcome, SuccessRateOptions } from './accuracy.js';
export { summarize, perturbationSummary } from './summary.js';
export type { Summary } from './summary.js';
export { ssd } from './ssd.js';
export { averageDensity } from './averageDensity.js';
export type { AverageDensityOptions, DensityResult } from './averageDensity.js';
export { bootstrapCI, wilsonInterval, normalCdf, normalQuantile } from './bootstrap.js';
export type { BootstrapOptions, Interval } from './bootstrap.js';
export { robustnessCurve } from './robustnessCurve.js';
export type { CurvePoint, RobustnessCurve } from './robustnessCurve.js';
