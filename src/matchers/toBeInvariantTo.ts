import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describePerturbation, type Perturbation } from '../arbitraries/perturbation.js';
import { imageToPng } from '../attribution/heatmap.js';
import { writeFileAtomic } from '../util/atomic.js';
import { type Classifier, predictClasses } from '../models/classifier.js';
import { artefactDir, checkOptions, checkModel, checkSamples, classCalls, className, join, type MatcherOutcome, type MatcherThis, record, refuse, rel } from './shared.js';

export interface InvariantOptions {
  /** Generated cases (sample, perturbation). @defaultValue 100 */
  numRuns?: number;
  /** fast-check seed; the failure message gives the seed and path that replay it. @defaultValue random */
  seed?: number;
  /** Replay path from an earlier failure. */
  path?: string;
}

/**
 * `await expect(samples).toBeInvariantTo(model, perturbations.blur(0.5))`: a fast-check property
 * that no sample's predicted class changes under a perturbation drawn from the arbitrary. On
 * failure the message gives the shrunk smallest counterexample (which sample, which classes,
 * which perturbation), the seed and path to replay it, and where the image pair was saved.
 */
export async function toBeInvariantTo(this: MatcherThis, received: unknown, model: Classifier, perturbation: fc.Arbitrary<Perturbation>, options: InvariantOptions = {}): Promise<MatcherOutcome> {
  const name = 'toBeInvariantTo';
  const samples = await checkSamples(received, name);
  checkModel(name, model);
  if (!(perturbation instanceof fc.Arbitrary)) throw new TypeError(`${name}: the perturbation must be a fast-check arbitrary, e.g. perturbations.blur(0.5); got ${typeof perturbation}.`);
  checkOptions(name, options, ['numRuns', 'seed', 'path']);
  // Zero runs would check nothing and report invariance 1.
  if (options.numRuns !== undefined && !(Number.isInteger(options.numRuns) && options.numRuns >= 1)) throw new RangeError(`${name}: numRuns must be a whole number >= 1 (cases to try; 100 by default); got ${String(options.numRuns)}.`);
  if (options.seed !== undefined && !Number.isInteger(options.seed)) throw new TypeError(`${name}: seed must be an integer; got ${String(options.seed)}.`);
  if (options.path !== undefined && (typeof options.path !== 'string' || !/^\d+(:\d+)*$/.test(options.path))) throw new TypeError(`${name}: path must be a replay path such as '3:0:1', as printed by a failure; got ${JSON.stringify(options.path)}.`);
  const before = await predictClasses(model, samples.images);
  const n = samples.size;
  // Cases whose perturbation changed the image at all: a perturbation that never does (blur(0),
  // contrast([1, 1])) would make any model look invariant.
  let changed = 0;
  const predictOne = async (i: number, p: Perturbation): Promise<number> => {
    const x = samples.images.slice([i, 0, 0, 0], [1, -1, -1, -1]);
    const y = p.apply(x);
    const differs = tf.tidy(() => tf.any(tf.notEqual(x, y)));
    try {
      if ((await differs.data())[0]) changed++;
      return (await predictClasses(model, y))[0]!;
    } finally {
      tf.dispose([x, y, differs]);
    }
  };
  const property = fc.asyncProperty(fc.integer({ min: 0, max: n - 1 }), perturbation, async (i, p) => (await predictOne(i, p)) === before[i]);
  const result = await fc.check(property, { numRuns: options.numRuns ?? 100, seed: options.seed, path: options.path });
  const cls = (k: number) => samples.classNames[k] ?? String(k);
  // An exception inside the property (a bad model, a shape error) is an error, not a verdict.
  if (result.failed && result.errorInstance instanceof Error && !/returning false/.test(result.errorInstance.message)) throw result.errorInstance;
  const drawn = describePerturbation(perturbation);
  const nothingTested = { matcher: name, data: samples.source, method: drawn, params: { numRuns: result.numRuns, seed: result.seed }, metric: 'invariance', threshold: { op: '>=' as const, value: 1 }, n: 0, artefacts: [] };
  if (!result.failed && result.numRuns < 1) {
    refuse(this, model, nothingTested,
      `${name}: no case was run (${result.numSkips} skipped), so nothing was checked. Check the perturbation's filters and numRuns.`);
  }
  if (!result.failed && changed === 0) {
    refuse(this, model, nothingTested,
      `${name}: none of the ${result.numRuns} perturbed images differed from its original, so invariance was not tested. The perturbation ${drawn} changes nothing; give it a range above zero.`);
  }
  if (!result.failed || !result.counterexample) {
    const message = () => `expected some sample's prediction to change under ${drawn} — none did in ${result.numRuns} cases (seed ${result.seed})`;
    record(this, model, { matcher: name, data: samples.source, method: drawn, params: { numRuns: result.numRuns, seed: result.seed }, metric: 'invariance', value: 1, threshold: { op: '>=', value: 1 }, n: result.numRuns, pass: true, artefacts: [], message: message() });
    return { pass: true, message };
  }
  const [i, p] = result.counterexample as [number, Perturbation];
  const after = await predictOne(i, p);
  const { dir, shown } = artefactDir('invariance', this, model);
  const file = `${String(samples.ids[i] ?? i).replace(/[^a-zA-Z0-9._-]+/g, '_')}.png`;
  const pair = tf.tidy(() => {
    const x = samples.images.slice([i, 0, 0, 0], [1, -1, -1, -1]);
    return tf.concat([x.squeeze([0]), p.apply(x).squeeze([0])], 1);
  });
  const pairBatch = tf.tidy(() => {
    const x = samples.images.slice([i, 0, 0, 0], [1, -1, -1, -1]);
    return tf.concat([x, p.apply(x)], 0) as tf.Tensor4D;
  });
  let calls;
  try {
    writeFileAtomic(join(dir, file), await imageToPng(pair, 4));
    calls = await classCalls(model, pairBatch, samples);
  } finally {
    tf.dispose([pair, pairBatch]);
  }
  const one = samples.labels.slice([i], [1]);
  const label = ((await one.data()) as Int32Array)[0]!;
  one.dispose();
  const message = () =>
    `expected predictions to be invariant, but ${p} flips sample ${i} (${samples.ids[i]}) from '${cls(before[i]!)}' to '${cls(after)}' ` +
    `(smallest counterexample after ${result.numShrinks} shrinks, ${result.numRuns} runs). Replay with { seed: ${result.seed}, path: '${result.counterexamplePath}' }. ` +
    `Original | perturbed saved as ${shown}/${file}`;
  record(this, model, {
    matcher: name,
    data: samples.source,
    method: drawn,
    params: { counterexample: p.toString(), seed: result.seed, path: result.counterexamplePath, sample: samples.ids[i] },
    metric: 'invariance',
    value: 0,
    threshold: { op: '>=', value: 1 },
    n: result.numRuns,
    pass: false,
    artefacts: [rel(join(dir, file))],
    images: [{ file: rel(join(dir, file)), kind: 'invariance', panels: ['original', `perturbed: ${p}`], sample: samples.ids[i], trueClass: className(samples, label), before: calls[0], after: calls[1] }],
    message: message(),
  });
  return { pass: false, message, actual: p.toString(), expected: 'no change of class' };
}
