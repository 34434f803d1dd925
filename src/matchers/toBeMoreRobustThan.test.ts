// toBeMoreRobustThan: a paired bootstrap decides, a tie fails, .not works, flags fail.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup.js';
import type { Samples } from '../data/samples.js';
import { bandsDataset } from '../test-support/synthetic.js';
import { runAttack } from '../attacks/registry.js';
import { readFileSync } from 'node:fs';
import { readResults } from '../record/record.js';
import { toBeMoreRobustThan, type RobustnessComparison } from './toBeMoreRobustThan.js';

// Two-class models on 8x8 band images: `blind` ignores its input (always class 0: robust on every
// class-0 image), `fragile` reads two pixel columns (any large enough step flips it). The blind
// model's zero gradient trips "the attack loss did not increase", so checks it must pass take
// { flags: 'warn' } (the flag itself is tested in src/attacks/lossFlag.test.ts).
function blind(units = 2): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), tf.layers.dense({ units })] });
  m.layers[1]!.setWeights([tf.zeros([192, units]), tf.tensor1d([1, ...new Array(units - 1).fill(0)])]);
  return m;
}
function fragile(swapped = false): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [8, 8, 3] }), tf.layers.dense({ units: 2 })] });
  const k = tf.buffer([192, 2]);
  // swapped: reads the bands the wrong way round, so it calls every image the other class.
  for (let y = 0; y < 8; y++) for (let c = 0; c < 3; c++) {
    k.set(1, (y * 8 + 2) * 3 + c, swapped ? 1 : 0);
    k.set(1, (y * 8 + 6) * 3 + c, swapped ? 0 : 1);
  }
  m.layers[1]!.setWeights([k.toTensor(), tf.zeros([2])]);
  return m;
}

let samples: Samples;
let calm: tf.LayersModel;
let twitchy: tf.LayersModel;
beforeAll(() => {
  samples = bandsDataset({ count: 40, size: 8, seed: 3 }).toSamples();
  calm = blind();
  twitchy = fragile();
});
afterAll(() => {
  samples.dispose();
  calm.dispose();
  twitchy.dispose();
});

describe('toBeMoreRobustThan', () => {
  const params = { steps: 5, seed: 1 };
  it('passes when the paired interval of the difference lies above 0, and resolves to the measurement', async () => {
    const out = await toBeMoreRobustThan.call({ isNot: false }, samples, calm, twitchy, 'pgd', 0.5, { params, flags: 'warn' });
    expect(out.pass).toBe(true);
    const m = out.actual as { n: number; candidate: { robustAccuracy: number }; baseline: { robustAccuracy: number }; difference: { estimate: number; lower: number }; perSample: number[] };
    // The same attack run here on each model gives the per-sample outcomes the matcher must pair.
    const labels = Array.from(await samples.labels.data());
    const correct = async (model: tf.LayersModel) => {
      const r = await runAttack('pgd', model, samples.images, samples.labels, { ...params, eps: 0.5, norm: 'linf' });
      r.adversarial.dispose();
      return labels.map((l, i): number => (r.predsAfter[i] === l ? 1 : 0));
    };
    const [c, b] = [await correct(calm), await correct(twitchy)];
    expect(m.perSample).toEqual(c.map((v, i) => v - b[i]!));
    expect(m.candidate.robustAccuracy).toBe(labels.filter((l) => l === 0).length / labels.length);
    expect(m.baseline.robustAccuracy).toBe(b.reduce((x, y) => x + y, 0) / labels.length);
    expect(m.difference.estimate).toBeCloseTo(m.candidate.robustAccuracy - m.baseline.robustAccuracy, 10);
    expect(m.difference.lower).toBeGreaterThan(0);
    await expect(samples).toBeMoreRobustThan(calm, twitchy, 'pgd', 0.5, { params, flags: 'warn' });
  });

  it('fails the other way round and on a tie, naming both accuracies and the interval; .not passes there', async () => {
    await expect(expect(samples).toBeMoreRobustThan(twitchy, calm, 'pgd', 0.5, { params, flags: 'warn' })).rejects.toThrow(
      /candidate .* 0\.\d+ \[.*\], baseline .* 0\.\d+ .*difference -0\.\d+ with paired bootstrap 95% interval \[-0\.\d+, -0\.\d+\]/,
    );
    const twin = fragile();
    await expect(expect(samples).toBeMoreRobustThan(twin, twitchy, 'pgd', 0.5, { params, flags: 'warn' })).rejects.toThrow(/difference 0\.000 .*interval \[0\.000, 0\.000\]/);
    await expect(samples).not.toBeMoreRobustThan(twin, twitchy, 'pgd', 0.5, { params, flags: 'warn' });
    twin.dispose();
  });

  it('fails on evaluation flags unless they are warnings, and refuses the same model twice', async () => {
    const calm4 = blind(4);
    const other4 = blind(4);
    await expect(expect(samples).toBeMoreRobustThan(calm4, other4, 'autoattack', 0.1, { params: { version: 'cheap' } })).rejects.toThrow(/evaluation flags .*candidate: the input gradient/);
    await expect(expect(samples).toBeMoreRobustThan(calm, calm, 'pgd', 0.5)).rejects.toThrow(/the same model/);
    await expect(expect(samples).toBeMoreRobustThan(calm, twitchy, 'pgd', 0.5, { confidence: 0.9 } as never)).rejects.toThrow(/unknown option 'confidence'/);
    calm4.dispose();
    other4.dispose();
  });
});

describe('toBeMoreRobustThan records its check', () => {
  const params = { steps: 5, seed: 1 };
  const mine = (test: string) => readResults().filter((r) => r.matcher === 'toBeMoreRobustThan' && r.test.includes(test));

  it('writes a record with both accuracies, the difference and a per-sample file that agree with the measurement', async () => {
    const before = tf.memory().numTensors;
    const m = (await expect(samples).toBeMoreRobustThan(calm, twitchy, 'pgd', 0.5, { params, flags: 'warn' })) as RobustnessComparison;
    expect(tf.memory().numTensors).toBe(before);
    const [r] = mine('writes a record with both accuracies');
    expect(r).toBeDefined();
    expect(r!.pass).toBe(true);
    expect(r!.metric).toBe('robustAccuracyDifference');
    expect(r!.value).toBe(m.difference.estimate);
    expect(r!.interval).toEqual({ lower: m.difference.lower, upper: m.difference.upper, level: 0.95 });
    expect(r!.threshold).toEqual({ op: '>', value: 0 });
    expect(r!.n).toBe(40);
    expect(r!.params).toMatchObject({ eps: 0.5, steps: 5, seed: 1, baseline: twitchy.name });
    expect(r!.model).toBe(calm.name);
    expect(r!.comparison!.candidate).toEqual(m.candidate);
    expect(r!.comparison!.baseline).toEqual(m.baseline);
    expect(r!.comparison!.onlyCandidate).toBe(m.perSample.filter((d) => d > 0).length);
    expect(r!.comparison!.onlyBaseline).toBe(m.perSample.filter((d) => d < 0).length);
    // The blind model trips the loss flag; under 'warn' it is recorded as a warning.
    expect(r!.flags?.[0]).toMatchObject({ name: expect.stringMatching(/^candidate: /), failing: false });
    expect(r!.samples).toBe(m.samples);

    // Independently: each model's clean and attacked predictions, sample by sample.
    const labels = Array.from(await samples.labels.data());
    const run = async (model: tf.LayersModel) => {
      const a = await runAttack('pgd', model, samples.images, samples.labels, { ...params, eps: 0.5, norm: 'linf' });
      const clean = tf.tidy(() => (model.predict(samples.images) as tf.Tensor).argMax(1));
      const after = tf.tidy(() => (model.predict(a.adversarial) as tf.Tensor).argMax(1));
      const out = { before: Array.from(await clean.data()), after: Array.from(await after.data()) };
      tf.dispose([a.adversarial, clean, after]);
      return out;
    };
    const [c, b] = [await run(calm), await run(twitchy)];
    const file = JSON.parse(readFileSync(r!.samples!, 'utf8'));
    expect(r!.samples).toMatch(/^reports\/samples\/.*pgd-0\.5-vs-.*\.json$/);
    expect(file).toMatchObject({ attack: 'pgd', eps: 0.5, candidate: calm.name, baseline: twitchy.name, n: 40 });
    expect(file.samples.map((s: { id: string }) => s.id)).toEqual(samples.ids);
    file.samples.forEach((s: { label: number; candidate: { before: number; after: number; robust: boolean }; baseline: { before: number; after: number; robust: boolean }; stayedCorrect: string }, i: number) => {
      expect(s.label).toBe(labels[i]);
      expect(s.candidate).toEqual({ before: c.before[i], after: c.after[i], robust: c.after[i] === labels[i] });
      expect(s.baseline).toEqual({ before: b.before[i], after: b.after[i], robust: b.after[i] === labels[i] });
      expect(s.stayedCorrect).toBe(({ '1,1': 'both', '1,0': 'candidate', '0,1': 'baseline', '0,0': 'neither' } as Record<string, string>)[`${+s.candidate.robust},${+s.baseline.robust}`]);
      expect(+s.candidate.robust - +s.baseline.robust).toBe(m.perSample[i]);
    });
    const robust = (p: number[]) => p.filter((v, i) => v === labels[i]).length / labels.length;
    expect(m.candidate.robustAccuracy).toBe(robust(c.after));
    expect(m.baseline.robustAccuracy).toBe(robust(b.after));
    expect(m.candidate.clean).toBe(robust(c.before));
    expect(m.baseline.clean).toBe(robust(b.before));
    // Per class: the samples of each class, both models.
    for (const k of r!.comparison!.perClass!) {
      const idx = labels.flatMap((l, i) => (l === k.label ? [i] : []));
      expect(k.n).toBe(idx.length);
      expect(k.candidate.robust).toBe(idx.filter((i) => c.after[i] === k.label).length / idx.length);
      expect(k.baseline.robust).toBe(idx.filter((i) => b.after[i] === k.label).length / idx.length);
    }
  });

  it('records .not as the assertion\'s verdict, and a flagged run as failed either way', async () => {
    const twin = fragile();
    await expect(samples).not.toBeMoreRobustThan(twin, twitchy, 'pgd', 0.5, { params, flags: 'warn' });
    const [r] = mine("records .not as the assertion's verdict");
    expect(r!.pass).toBe(true);
    expect(r!.value).toBe(0);
    // The blind candidate's loss flag fails the check by default, with or without .not (the
    // fragile pair leaves one sample at the edge of the box that trips it too, hence 'warn' above).
    await expect(expect(samples).not.toBeMoreRobustThan(calm, twitchy, 'pgd', 0.5, { params })).rejects.toThrow(/evaluation flags \(failing the check.*candidate: /);
    const flagged = mine("records .not as the assertion's verdict")[1]!;
    expect(flagged.pass).toBe(false);
    expect(flagged.flags?.every((f) => f.failing)).toBe(true);
    twin.dispose();
  });

  it('refuses a comparison of two models that classify no sample correctly, both ways round', async () => {
    const wrong1 = fragile(true);
    const wrong2 = fragile(true);
    // The fragile model calls every band image right; its mirror image calls every one wrong.
    const labels = Array.from(await samples.labels.data());
    const preds = tf.tidy(() => (wrong1.predict(samples.images) as tf.Tensor).argMax(1));
    expect(Array.from(await preds.data()).every((p, i) => p !== labels[i])).toBe(true);
    preds.dispose();
    const before = tf.memory().numTensors;
    await expect(expect(samples).toBeMoreRobustThan(wrong1, wrong2, 'pgd', 0.5, { params })).rejects.toThrow(/neither model classifies any of the 40 samples correctly/);
    await expect(expect(samples).not.toBeMoreRobustThan(wrong1, wrong2, 'pgd', 0.5, { params })).rejects.toThrow(/neither model classifies any/);
    expect(tf.memory().numTensors).toBe(before);
    const rs = mine('refuses a comparison of two models');
    expect(rs.map((r) => [r.pass, r.n, r.value === null || Number.isNaN(r.value)])).toEqual([
      [false, 40, true],
      [false, 40, true],
    ]);
    wrong1.dispose();
    wrong2.dispose();
  });

  it('refuses empty samples and models that are not classifiers', async () => {
    const empty = { ...samples, images: tf.zeros([0, 8, 8, 3]), labels: tf.tensor1d([], 'int32'), ids: [] };
    await expect(expect(empty).toBeMoreRobustThan(calm, twitchy, 'pgd', 0.5, { params })).rejects.toThrow(/toBeMoreRobustThan/);
    tf.dispose([empty.images, empty.labels]);
    await expect(expect(samples).toBeMoreRobustThan(calm, {} as never, 'pgd', 0.5, { params })).rejects.toThrow(/the model must be a tf.LayersModel/);
  });
});
