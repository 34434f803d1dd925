import type { Attack } from '../attacks/types.js';
import type { Classifier } from '../models/classifier.js';
import { robustnessCurve, type RobustnessCurve } from '../metrics/robustnessCurve.js';
import { relative, resolve } from 'node:path';
import { compareCurveSnapshot, type CurveSnapshotOutcome } from '../snapshots/curveSnapshot.js';
import { snapshotDir } from '../snapshots/snapshotDir.js';
import { fileSafe } from './callCounter.js';
import { checkEps } from '../data/inputs.js';
import { checkedLabels, checkOptions, checkSamples, imageSize, fmt, type MatcherOutcome, record } from './shared.js';
import { type SnapshotThis, updateMode } from './toMatchHeatmapSnapshot.js';
import { writeCurveOutcomes } from './perSample.js';

export interface RobustnessCurveOptions {
  /** Budgets, strictly increasing (e.g. `[1, 2, 4, 8].map((e) => e / 255)`). */
  eps: number[];
  /** Least robust accuracy at each budget, one per entry of `eps`; may be left out when `snapshot` is given. */
  min?: number[];
  /** The attack's own parameters (seed, version, steps...), the same at every budget. */
  params?: Record<string, unknown>;
  /**
   * What the curve's flags do: fail the check, or only appear in its message and record. They are: a
   * sample broken at a smaller eps but not at a larger one; robust accuracy not falling as eps grows
   * (a larger budget's point above a smaller one's beyond both intervals); the attack loss did not
   * increase at a budget (built-in loss-maximising attacks); the attack's own flags (autoattack's).
   * @defaultValue 'fail'
   */
  flags?: 'fail' | 'warn';
  /**
   * Attack at each budget only the samples still correct at the smaller ones (see `CurveOptions.reuse`
   * of `robustnessCurve`: the curve then falls by construction, and the two eps flags cannot fire).
   * @defaultValue false
   */
  reuse?: boolean;
  /**
   * Name of a curve snapshot, snapshots/<spec>/<name>.curve.json (under the plugin's snapshotDir when set): the first run stores the curve,
   * later runs (a new model release) fail where the curve falls below it beyond the intervals.
   * `vitest -u` rewrites it; in CI (CI=true or --ci) a missing one fails instead of being written.
   */
  snapshot?: string;
}

/**
 * `await expect(samples).toHaveRobustnessCurve(model, 'autoattack', { eps: [1, 2, 4, 8].map((e) => e / 255), min: [0.5, 0.4, 0.2, 0.1] })`:
 * robust accuracy at every budget is at least its minimum. The curve is also checked for
 * consistency: a sample broken at a smaller budget is broken at every larger one (its adversarial
 * image lies in the larger ball too), so an attack that misses it there makes the check fail,
 * as do the attack's own evaluation flags, unless `flags: 'warn'`. Resolves to the curve.
 */
export async function toHaveRobustnessCurve(this: SnapshotThis, received: unknown, model: Classifier, attack: string | Attack<any>, options: RobustnessCurveOptions): Promise<MatcherOutcome> {
  const name = 'toHaveRobustnessCurve';
  const samples = await checkSamples(received, name);
  checkOptions(name, options ?? {}, ['eps', 'min', 'params', 'flags', 'snapshot', 'reuse']);
  const eps = options?.eps;
  // Without minimums the check is the snapshot (and the curve's consistency); with neither it would check nothing.
  const min = options?.min ?? (options?.snapshot !== undefined && Array.isArray(eps) ? eps.map(() => 0) : undefined);
  if (!Array.isArray(eps) || !Array.isArray(min) || eps.length === 0 || eps.length !== min.length) {
    throw new Error(`${name}: give { eps, min } as arrays of the same non-zero length, one least robust accuracy per budget (or { eps, snapshot } to compare with a stored curve); got ${Array.isArray(eps) ? eps.length : 'no'} budgets and ${Array.isArray(min) ? min.length : 'no'} minimums.`);
  }
  const budgetNorm = options.params?.norm === 'l2' ? 'l2' : 'linf';
  for (const [i, e] of eps.entries()) checkEps(e, budgetNorm, imageSize(samples), name, false, `eps[${i}]`);
  for (const [i, m] of min.entries()) if (!(typeof m === 'number' && m >= 0 && m <= 1)) throw new RangeError(`${name}: min[${i}] must be in [0, 1]; got ${String(m)}.`);
  if (options.flags !== undefined && options.flags !== 'fail' && options.flags !== 'warn') throw new Error(`${name}: flags must be 'fail' or 'warn'; got ${JSON.stringify(options.flags)}.`);
  await checkedLabels(model, samples, name);
  const curve: RobustnessCurve = await robustnessCurve(model, samples.images, samples.labels, attack, eps, options.params, { reuse: options.reuse });
  const below = curve.points.map((p, i) => (p.robustAccuracy < min[i]! ? i : -1)).filter((i) => i >= 0);
  const flagList = [
    ...curve.inversions.map((v) => ({ name: 'broken-at-smaller-eps-only', message: `${v.samples.length} sample(s) broken at eps ${fmt(v.eps, 4)} survived the attack at eps ${fmt(v.largerEps, 4)} (e.g. sample ${v.samples[0]}): the attack missed adversarial examples inside its budget; use a stronger attack or more restarts` })),
    ...curve.flags,
  ];
  const flags = flagList.map((f) => f.message);
  const flagged = flags.length > 0 && options.flags !== 'warn';
  let snap: CurveSnapshotOutcome | undefined;
  if (options.snapshot !== undefined) {
    if (typeof options.snapshot !== 'string' || !options.snapshot) throw new TypeError(`${name}: snapshot must be a non-empty name; got ${JSON.stringify(options.snapshot)}.`);
    if (this.isNot) throw new Error(`${name}: a curve snapshot cannot be used with .not; a snapshot can only be matched or updated.`);
    const spec = this.testPath ? relative(process.cwd(), this.testPath) : 'unknown-spec';
    snap = compareCurveSnapshot(curve, { snapshotPath: resolve(snapshotDir(), spec, `${fileSafe(options.snapshot, 'curve')}.curve.json`), update: updateMode(this) });
  }
  const snapFails = snap !== undefined && (snap.status === 'regressed' || snap.status === 'missing' || snap.status === 'budgets-differ');
  const pass = flagged ? this.isNot : below.length === 0 && !snapFails;
  const describe = () =>
    `robust accuracy under ${curve.attack} on n=${curve.n}: ` +
    curve.points.map((p, i) => `eps ${fmt(p.eps, 4)}: ${fmt(p.robustAccuracy)} [95% CI ${fmt(p.lower)}, ${fmt(p.upper)}] (min ${min[i]}${below.includes(i) ? ', BELOW' : ''})`).join('; ') +
    (flags.length ? `; curve flags${flagged ? " (failing the check; { flags: 'warn' } reports them only)" : ''}: ${flags.join(' | ')}` : '') +
    (snap ? `; ${snapshotText(snap)}` : '') +
    `; per-sample outcomes in ${perSample}`;
  const message = () => (this.isNot ? `expected the curve NOT to stay above its minimums: ${describe()}` : `expected the curve to stay above its minimums: ${describe()}`);
  const last = curve.points[curve.points.length - 1]!;
  const perSample = writeCurveOutcomes(this, model, curve, Int32Array.from(await samples.labels.data()), samples.ids);
  // The row's value is the largest budget's point (the curve's hardest); the whole curve goes to the plot.
  record(this, model, {
    matcher: name,
    data: samples.source,
    method: curve.attack,
    params: { ...(options.params ?? {}), eps: [...eps], ...(curve.reused ? { reuse: true } : {}), ...(flags.length ? { flags } : {}) },
    metric: 'robustnessCurve',
    value: last.robustAccuracy,
    interval: { lower: last.lower, upper: last.upper, level: 0.95 },
    threshold: { op: '>=', value: min[min.length - 1]! },
    n: curve.n,
    pass: flagged ? false : pass,
    artefacts: [],
    message: message(),
    ...(flagList.length ? { flags: flagList.map((f) => ({ name: f.name, message: f.message, failing: flagged })) } : {}),
    samples: perSample,
    curve: {
      attack: curve.attack,
      points: curve.points.map(({ eps: e, robustAccuracy, lower, upper }) => ({ eps: e, robustAccuracy, lower, upper })),
      ...(options.min ? { min: [...options.min] } : {}),
      ...(snap ? { snapshot: { path: relative(process.cwd(), snap.snapshotPath), status: snap.status, ...(snap.stored?.points ? { points: snap.stored.points } : {}) } } : {}),
    },
  }, flagged);
  return {
    pass,
    message,
    actual: curve,
    expected: min,
  };
}

function snapshotText(s: CurveSnapshotOutcome): string {
  const at = relative(process.cwd(), s.snapshotPath);
  switch (s.status) {
    case 'missing':
      return `curve snapshot ${at} is missing, and snapshots are not written in CI (CI=true or --ci); run the spec locally (or with -u) and commit it`;
    case 'budgets-differ':
      return `curve snapshot ${at} holds other budgets or another attack (${s.stored?.attack} at ${s.stored?.points?.map((p) => fmt(p.eps, 4)).join(', ')}); run vitest -u if the change is intended`;
    case 'regressed':
      return `the curve fell below snapshot ${at} beyond the intervals at ${s.regressions.map((r) => `eps ${fmt(r.eps, 4)} (now ${fmt(r.now.robustAccuracy)} [${fmt(r.now.lower)}, ${fmt(r.now.upper)}], stored ${fmt(r.stored.robustAccuracy)} [${fmt(r.stored.lower)}, ${fmt(r.stored.upper)}])`).join(', ')}`;
    default:
      return `curve snapshot ${at} ${s.status}`;
  }
}
