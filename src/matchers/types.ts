// The matchers' types on Vitest's `expect`, kept apart from their code: a spec that imports only
// from 'vitest' sees them once this file is in its program (the setup entry, the plugin and the
// package root all pull it in).
import type { Arbitrary } from 'fast-check';
import type { Perturbation } from '../arbitraries/perturbation.js';
import type { AttackName, attacks } from '../attacks/registry.js';
import type { Attack } from '../attacks/types.js';
import type { Classifier } from '../models/classifier.js';
import type { HeatmapSnapshotOptions } from '../snapshots/heatmapSnapshot.js';
import type { InvariantOptions } from './toBeInvariantTo.js';
import type { MoreRobustOptions, RobustnessComparison } from './toBeMoreRobustThan.js';
import type { RobustnessCurve } from '../metrics/robustnessCurve.js';
import type { RobustnessCurveOptions } from './toHaveRobustnessCurve.js';
import type { AttributionChange, AttributionMeasurement, StableAttributionOptions } from './toHaveStableAttribution.js';
import type { AttackMeasurement, ResistAttackOptions } from './toResistAttack.js';
import type { DensityMeasurement } from './toHaveAverageDensityBelow.js';

/** What `toResistAttack` takes as its attack: a built-in attack's name or an {@link Attack} object. */
export type AttackRef = AttackName | Attack<any>;

type ParamsOf<T> = T extends Attack<infer P> ? P : never;

/** The parameters of the attack `A` (a built-in name or an Attack object). */
export type AttackParamsOf<A extends AttackRef> = A extends AttackName ? ParamsOf<(typeof attacks)[A]> : ParamsOf<A>;

/**
 * `toResistAttack`'s options for the attack `A`: `params` holds only that attack's own parameters
 * (a misspelt one is a compile error), without `eps`, which is the matcher's argument.
 */
export interface ResistAttackOptionsFor<A extends AttackRef> extends Omit<ResistAttackOptions, 'params'> {
  params?: Partial<Omit<AttackParamsOf<A>, 'eps'>>;
}

export interface RobustnessMatchers<R = unknown> {
  /** Robust accuracy (or success rate) of `samples` under an attack with Linf budget eps. Await it: it resolves to the measurement. */
  toResistAttack<A extends AttackRef>(model: Classifier, attack: A, eps: number, options?: ResistAttackOptionsFor<A>): Promise<AttackMeasurement>;
  /** Mean SSD between attribution maps before and after a change is at most `maxSSD`. Await it: it resolves to the measurement. */
  toHaveStableAttribution(model: Classifier, method: 'gradcam' | 'occlusion', change: AttributionChange, options: StableAttributionOptions): Promise<AttributionMeasurement>;
  /** Average density of a layer of the model over `samples` is below `maxDensity`. Await it: it resolves to the measurement. */
  toHaveAverageDensityBelow(samples: unknown, maxDensity: number, options?: { layer?: string }): Promise<DensityMeasurement>;
  /** A heatmap [H, W] or [1, H, W] matches its PNG under snapshots/<spec>/<name>.png. Await it. */
  toMatchHeatmapSnapshot(name?: string, options?: HeatmapSnapshotOptions): Promise<R>;
  /** No sample's prediction changes under perturbations drawn from the arbitrary (a fast-check property). Await it. */
  toBeInvariantTo(model: Classifier, perturbation: Arbitrary<Perturbation>, options?: InvariantOptions): Promise<R>;
  /** The candidate's robust accuracy beats the baseline's beyond a paired bootstrap interval, same samples and attack. Await it: it resolves to the comparison. */
  toBeMoreRobustThan(candidate: Classifier, baseline: Classifier, attack: AttackRef, eps: number, options?: MoreRobustOptions): Promise<RobustnessComparison>;
  /** Robust accuracy at each budget of `eps` is at least its `min`, and the curve is consistent (no sample broken at a smaller eps survives a larger one). Await it: it resolves to the curve. */
  toHaveRobustnessCurve(model: Classifier, attack: AttackRef, options: RobustnessCurveOptions): Promise<RobustnessCurve>;
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends RobustnessMatchers<T> {}
}
