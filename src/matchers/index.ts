// The matchers `vitest-robustness/setup` registers with expect.extend; one file each.
import type { Attack } from '../attacks/types.js';
import type { Classifier } from '../models/classifier.js';
import type { AttributionChange, StableAttributionOptions } from './toHaveStableAttribution.js';
import type { ResistAttackOptions } from './toResistAttack.js';
import type { HeatmapSnapshotOptions } from '../snapshots/heatmapSnapshot.js';
import type { Arbitrary } from 'fast-check';
import type { Perturbation } from '../arbitraries/perturbation.js';
import type { InvariantOptions } from './toBeInvariantTo.js';

export { toResistAttack } from './toResistAttack.js';
export type { ResistAttackOptions } from './toResistAttack.js';
export { toHaveStableAttribution } from './toHaveStableAttribution.js';
export type { AttributionChange, StableAttributionOptions } from './toHaveStableAttribution.js';
export { toHaveAverageDensityBelow } from './toHaveAverageDensityBelow.js';
export { toMatchHeatmapSnapshot, configureToMatchHeatmapSnapshot } from './toMatchHeatmapSnapshot.js';
export { toBeInvariantTo } from './toBeInvariantTo.js';
export type { InvariantOptions } from './toBeInvariantTo.js';

interface RobustnessMatchers<R = unknown> {
  /** Robust accuracy (or success rate) of `samples` under an attack with Linf budget eps. Await it. */
  toResistAttack(model: Classifier, attack: string | Attack<any>, eps: number, options?: ResistAttackOptions): Promise<R>;
  /** Mean SSD between attribution maps before and after a change is at most `maxSSD`. Await it. */
  toHaveStableAttribution(model: Classifier, method: 'gradcam' | 'occlusion', change: AttributionChange, options: StableAttributionOptions): Promise<R>;
  /** Average density of a layer of the model over `samples` is below `maxDensity`. Await it. */
  toHaveAverageDensityBelow(samples: unknown, maxDensity: number, options?: { layer?: string }): Promise<R>;
  /** A heatmap [H, W] or [1, H, W] matches its PNG under snapshots/<spec>/<name>.png. Await it. */
  toMatchHeatmapSnapshot(name?: string, options?: HeatmapSnapshotOptions): Promise<R>;
  /** No sample's prediction changes under perturbations drawn from the arbitrary (a fast-check property). Await it. */
  toBeInvariantTo(model: Classifier, perturbation: Arbitrary<Perturbation>, options?: InvariantOptions): Promise<R>;
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends RobustnessMatchers<T> {}
}
