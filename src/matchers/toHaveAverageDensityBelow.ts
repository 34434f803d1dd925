import * as tf from '@tensorflow/tfjs';
import { averageDensity, type DensityResult } from '../metrics/averageDensity.js';
import { isOnnxModel } from '../models/onnx/index.js';
import { bootstrapCI } from '../metrics/bootstrap.js';
import { checkOptions, checkSamples, fmt, type MatcherOutcome, type MatcherThis, record } from './shared.js';

/** What `await expect(model).toHaveAverageDensityBelow(...)` resolves to. */
export interface DensityMeasurement extends DensityResult {
  /** 95% percentile bootstrap interval of the density (2,000 resamples, seed 0). */
  interval: { lower: number; upper: number; level: number };
}

/**
 * `await expect(model).toHaveAverageDensityBelow(samples, 0.3, { layer: 'hidden' })`: the fraction
 * of the layer's units with activation > 0, averaged over the samples (the paper's Fig. 1),
 * is below maxDensity.
 */
export async function toHaveAverageDensityBelow(this: MatcherThis, received: unknown, samples: unknown, maxDensity: number, options: { layer?: string } = {}): Promise<MatcherOutcome> {
  const name = 'toHaveAverageDensityBelow';
  if (!(received instanceof tf.LayersModel) && !isOnnxModel(received)) throw new TypeError(`${name}: expect() must receive a tf.LayersModel or an imported ONNX model (density is read from one of its layers).`);
  const s = await checkSamples(samples, name);
  if (!(typeof maxDensity === 'number' && maxDensity > 0 && maxDensity <= 1)) throw new RangeError(`${name}: maxDensity must be a number in (0, 1]; got ${JSON.stringify(maxDensity)}.`);
  checkOptions(name, options, ['layer']);
  const r = await averageDensity(received, s, options);
  const ci = bootstrapCI(r.perSample, { seed: 0 });
  const describe = () => `average density of layer '${r.layer}' (${r.units} units) was ${fmt(r.density, 4)} (95% CI ${fmt(ci.lower, 4)}, ${fmt(ci.upper, 4)}) over n=${r.perSample.length} images; threshold < ${maxDensity}`;
  const message = () => (this.isNot ? `expected a density NOT below the threshold: ${describe()}` : `expected a density below the threshold: ${describe()}`);
  record(this, received, {
    matcher: name,
    data: s.source,
    method: 'averageDensity',
    params: { layer: r.layer, units: r.units },
    metric: 'density',
    value: r.density,
    interval: { lower: ci.lower, upper: ci.upper, level: 0.95 },
    threshold: { op: '<', value: maxDensity },
    n: r.perSample.length,
    pass: r.density < maxDensity,
    artefacts: [],
    message: message(),
  });
  return {
    pass: r.density < maxDensity,
    message,
    actual: r.density,
    expected: maxDensity,
    measurement: { ...r, interval: { lower: ci.lower, upper: ci.upper, level: 0.95 } } satisfies DensityMeasurement,
  };
}
