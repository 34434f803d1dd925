// Robustness curves: points equal the attack run at each budget, inversions are flagged, the
// matcher compares with per-budget minimums.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup.js';
import { pgd } from '../attacks/pgd.js';
import type { Attack } from '../attacks/types.js';
import type { Samples } from '../data/samples.js';
import { robustnessCurve } from '../metrics/robustnessCurve.js';
import { readResults } from '../record/record.js';
import { bandsDataset } from '../test-support/synthetic.js';

function blind(): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), tf.layers.dense({ units: 2 })] });
  m.layers[1]!.setWeights([tf.zeros([192, 2]), tf.tensor1d([1, 0])]);
  return m;
}
function fragile(): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), tf.layers.dense({ units: 2 })] });
  const k = tf.buffer([192, 2]);
  for (let y = 0; y < 8; y++) for (let c = 0; c < 3; c++) {
    k.set(1, (y * 8 + 2) * 3 + c, 0);
    k.set(1, (y * 8 + 6) * 3 + c, 1);
  }
  m.layers[1]!.setWeights([k.toTensor(), tf.zeros([2])]);
  return m;
}
// An attack that gives up above eps 0.5 (it runs PGD with a negligible budget there): built to
// produce a curve that rises again.
const lazy: Attack<any> = { name: 'lazy', defaults: pgd.defaults, run: (model, x, y, p) => pgd.run(model, x, y, { ...p, eps: (p?.eps ?? 0) > 0.5 ? 1e-6 : p!.eps, steps: 5 }) };

let samples: Samples;
let calm: tf.LayersModel;
let twitchy: tf.LayersModel;
let labels: number[];
beforeAll(async () => {
  samples = bandsDataset({ count: 24, size: 8, seed: 5 }).toSamples();
  labels = Array.from(await samples.labels.data());
  calm = blind();
  twitchy = fragile();
});
afterAll(() => {
  samples.dispose();
  calm.dispose();
  twitchy.dispose();
});

describe('robustnessCurve', () => {
  it('has at each budget the robust accuracy of the attack run there, and no inversion for a consistent attack', async () => {
    const eps = [0.05, 0.15, 0.3, 0.5];
    const before = tf.memory().numTensors;
    const curve = await robustnessCurve(twitchy, samples.images, samples.labels, 'pgd', eps, { steps: 5, seed: 2 });
    expect(tf.memory().numTensors).toBe(before);
    for (const [i, e] of eps.entries()) {
      const r = await pgd.run(twitchy, samples.images, samples.labels, { eps: e, steps: 5, seed: 2 });
      r.adversarial.dispose();
      expect(curve.correct[i]).toEqual(labels.map((l, k) => r.predsAfter[k] === l));
      expect(curve.points[i]!.robustAccuracy).toBe(curve.correct[i]!.filter(Boolean).length / labels.length);
    }
    expect(curve.inversions).toEqual([]);
    expect(curve.points.map((p) => p.robustAccuracy)).toEqual([...curve.points.map((p) => p.robustAccuracy)].sort((a, b) => b - a));
  });

  it('lists the samples an attack broke at a smaller budget but not at a larger one', async () => {
    const curve = await robustnessCurve(twitchy, samples.images, samples.labels, lazy, [0.3, 0.5, 0.7]);
    const brokenAt05 = curve.correct[1]!.flatMap((ok, k) => (ok ? [] : [k]));
    expect(brokenAt05.length).toBeGreaterThan(0);
    const inv = curve.inversions.find((v) => v.eps === 0.5 && v.largerEps === 0.7)!;
    expect(inv.samples).toEqual(brokenAt05.filter((k) => curve.correct[2]![k]));
  });

  it('refuses budgets that are not strictly increasing', async () => {
    await expect(robustnessCurve(calm, samples.images, samples.labels, 'pgd', [0.1, 0.1])).rejects.toThrow(/strictly increasing/);
    await expect(robustnessCurve(calm, samples.images, samples.labels, 'pgd', [])).rejects.toThrow(/at least one budget/);
  });
});

describe('toHaveRobustnessCurve', () => {
  it('passes when every point reaches its minimum, names the point below otherwise, and fails on an inconsistent curve', async () => {
    // The blind model answers class 0 whatever the input: its robust accuracy is the share of class 0 at every budget.
    const share = labels.filter((l) => l === 0).length / labels.length;
    // Its zero gradient trips "the attack loss did not increase" at each budget (failing by default); as warnings the minimums decide.
    await expect(expect(samples).toHaveRobustnessCurve(calm, 'pgd', { eps: [0.1, 0.3], min: [share, share] })).rejects.toThrow(/curve flags \(failing the check.*at eps 0\.1, the attack loss did not increase.*at eps 0\.3, the attack loss did not increase/);
    await expect(samples).toHaveRobustnessCurve(calm, 'pgd', { eps: [0.1, 0.3], min: [share, share], flags: 'warn' });
    await expect(expect(samples).toHaveRobustnessCurve(calm, 'pgd', { eps: [0.1, 0.3], min: [share, share + 0.01], flags: 'warn' })).rejects.toThrow(/eps 0\.3000: \d\.\d+ \[95% CI .*\] \(min [\d.]+, BELOW\)/);
    await expect(expect(samples).toHaveRobustnessCurve(twitchy, lazy, { eps: [0.5, 0.7], min: [0, 0] })).rejects.toThrow(/curve flags \(failing the check.*broken at eps 0\.5000 survived the attack at eps 0\.7000/);
    await expect(samples).toHaveRobustnessCurve(twitchy, lazy, { eps: [0.5, 0.7], min: [0, 0], flags: 'warn' });
  });

  it('refuses mismatched or out-of-range budgets and minimums', async () => {
    await expect(expect(samples).toHaveRobustnessCurve(calm, 'pgd', { eps: [0.1, 0.2], min: [0.5] })).rejects.toThrow(/same non-zero length/);
    await expect(expect(samples).toHaveRobustnessCurve(calm, 'pgd', { eps: [0.1, 0.2] })).rejects.toThrow(/or \{ eps, snapshot \}/);
    await expect(expect(samples).toHaveRobustnessCurve(calm, 'pgd', { eps: [], min: [] })).rejects.toThrow(/same non-zero length/);
    await expect(expect(samples).toHaveRobustnessCurve(calm, 'pgd', { eps: [2], min: [0.5] })).rejects.toThrow(/eps\[0\] must be a number in \(0, 1\] .* for the linf norm; got 2\./);
    await expect(expect(samples).toHaveRobustnessCurve(calm, 'pgd', { eps: [0.1], min: [1.5] })).rejects.toThrow(/min\[0\] must be in \[0, 1\]/);
    await expect(expect(samples).toHaveRobustnessCurve(calm, 'pgd', { eps: [0.1], min: [0.5], minimum: [0.5] } as never)).rejects.toThrow(/unknown option 'minimum'/);
  });
});

describe('toHaveRobustnessCurve records', () => {
  it('records the whole curve for the report: a point per budget with its interval, the minimums, and the verdict (a flagged curve fails under .not too)', async () => {
    const share = labels.filter((l) => l === 0).length / labels.length;
    await expect(samples).toHaveRobustnessCurve(calm, 'pgd', { eps: [0.1, 0.3], min: [share, share - 0.05], flags: 'warn' });
    await expect(expect(samples).not.toHaveRobustnessCurve(twitchy, lazy, { eps: [0.5, 0.7], min: [0, 0] })).rejects.toThrow(/curve flags/);
    const mine = readResults().filter((r) => r.matcher === 'toHaveRobustnessCurve' && r.test.includes('records the whole curve'));
    expect(mine).toHaveLength(2);
    const [ok, flagged] = mine as [(typeof mine)[0], (typeof mine)[0]];
    expect(ok.pass).toBe(true);
    expect(ok.metric).toBe('robustnessCurve');
    expect(ok.curve?.points.map((p) => p.eps)).toEqual([0.1, 0.3]);
    for (const p of ok.curve!.points) {
      expect(p.robustAccuracy).toBeCloseTo(share, 10);
      expect(p.lower).toBeLessThanOrEqual(p.robustAccuracy);
      expect(p.upper).toBeGreaterThanOrEqual(p.robustAccuracy);
    }
    expect(ok.curve?.min).toEqual([share, share - 0.05]);
    expect(ok.value).toBe(ok.curve!.points[1]!.robustAccuracy);
    expect(ok.threshold).toEqual({ op: '>=', value: share - 0.05 });
    expect(flagged.pass).toBe(false);
    expect(flagged.curve?.attack).toBe('lazy');
    // Flags are in the record whether they failed the check (the lazy attack's) or only warned (the constant model's).
    expect(ok.flags?.map((f) => [f.name, f.failing])).toEqual([['loss-not-increased', false], ['loss-not-increased', false]]);
    expect(flagged.flags?.map((f) => f.name)).toContain('broken-at-smaller-eps-only');
    expect(flagged.flags?.every((f) => f.failing)).toBe(true);
  });
});

describe('toHaveRobustnessCurve snapshots', () => {
  it('refuses a snapshot under .not and an empty snapshot name', async () => {
    await expect(expect(samples).not.toHaveRobustnessCurve(calm, 'pgd', { eps: [0.1], min: [0.9], snapshot: 'gate' })).rejects.toThrow(/cannot be used with \.not/);
    await expect(expect(samples).toHaveRobustnessCurve(calm, 'pgd', { eps: [0.1], min: [0], snapshot: '' })).rejects.toThrow(/snapshot must be a non-empty name/);
  });
});
