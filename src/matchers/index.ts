// The matchers `vitest-robustness/setup` registers with expect.extend; one file each. Their types on
// Vitest's `expect` are in types.ts.

export { toResistAttack } from './toResistAttack.js';
export type { AttackMeasurement, ResistAttackOptions } from './toResistAttack.js';
export { toHaveStableAttribution } from './toHaveStableAttribution.js';
export type { AttributionChange, AttributionMeasurement, StableAttributionOptions } from './toHaveStableAttribution.js';
export { toHaveAverageDensityBelow } from './toHaveAverageDensityBelow.js';
export type { DensityMeasurement } from './toHaveAverageDensityBelow.js';
export { toMatchHeatmapSnapshot, configureToMatchHeatmapSnapshot } from './toMatchHeatmapSnapshot.js';
export { toBeInvariantTo } from './toBeInvariantTo.js';
export type { InvariantOptions } from './toBeInvariantTo.js';
export type { AttackParamsOf, AttackRef, ResistAttackOptionsFor, RobustnessMatchers } from './types.js';
export { toBeMoreRobustThan } from './toBeMoreRobustThan.js';
export type { MoreRobustOptions, RobustnessComparison } from './toBeMoreRobustThan.js';
export { toHaveRobustnessCurve } from './toHaveRobustnessCurve.js';
export type { RobustnessCurveOptions } from './toHaveRobustnessCurve.js';
