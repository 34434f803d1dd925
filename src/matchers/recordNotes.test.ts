// What the matchers leave for the report: the message, labelled images with the model's call
// before and after, the perturbation's name, and the model of a heatmap snapshot.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup.js';
import { perturbations } from '../arbitraries/perturbation.js';
import { gradcam } from '../attribution/gradcam.js';
import { modelOf } from '../attribution/provenance.js';
import type { Samples } from '../data/samples.js';
import { readResults } from '../record/record.js';
import { compareHeatmapSnapshot } from '../snapshots/heatmapSnapshot.js';
import { bandsDataset } from '../test-support/synthetic.js';

const spec = relative(process.cwd(), import.meta.filename ?? new URL(import.meta.url).pathname);
const mine = (test: RegExp) => readResults().filter((r) => r.spec === spec && test.test(r.test));

// A small conv net that reads the left and right bands of 8x8 images (two classes).
function bands(): tf.LayersModel {
  const m = tf.sequential({ name: 'bands-cnn', layers: [tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 2, kernelSize: 3, padding: 'same', name: 'conv' }), tf.layers.flatten(), tf.layers.dense({ units: 2 })] });
  const k = tf.buffer([128, 2]);
  for (let y = 0; y < 8; y++) {
    k.set(1, (y * 8 + 2) * 2, 0);
    k.set(1, (y * 8 + 6) * 2 + 1, 1);
  }
  m.layers[0]!.setWeights([tf.ones([3, 3, 3, 2]).div(27), tf.zeros([2])]);
  m.layers[2]!.setWeights([k.toTensor(), tf.zeros([2])]);
  return m;
}

let samples: Samples;
let model: tf.LayersModel;
const snapshot = resolve('snapshots', spec, 'record-notes-map.png');
beforeAll(() => {
  samples = bandsDataset({ count: 12, size: 8, seed: 5 }).toSamples();
  model = bands();
});
afterAll(() => {
  samples.dispose();
  model.dispose();
  rmSync(resolve('snapshots', spec), { recursive: true, force: true });
  // This file's images only (other test files save theirs beside them).
  for (const d of ['worst', 'attribution', 'invariance']) {
    const dir = resolve('reports', d);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (/records-for-the-report|recordNotes/.test(f)) rmSync(resolve(dir, f), { recursive: true, force: true });
  }
});

describe('records for the report', () => {
  it('toResistAttack notes each saved example: sample, true class, call and confidence before and after', async () => {
    const before = tf.memory().numTensors;
    await expect(expect(samples).toResistAttack(model, 'pgd', 0.5, { maxSuccessRate: 0.01, params: { steps: 5 } })).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
    const [r] = mine(/toResistAttack notes/);
    expect(r!.message).toMatch(/attack success rate under pgd/);
    expect(r!.images!.length).toBe(r!.artefacts.length);
    expect(r!.images!.length).toBeGreaterThan(0);
    for (const note of r!.images!) {
      expect(note.panels).toEqual(['original', 'adversarial', 'perturbation x10 (grey = 0)']);
      expect(note.trueClass).toBe(note.before!.class);
      expect(note.after!.class).not.toBe(note.before!.class);
      expect(note.before!.confidence).toBeGreaterThan(0.5);
      expect(note.before!.confidence).toBeLessThanOrEqual(1);
    }
  });

  it('toBeInvariantTo names its perturbation, pass or fail', async () => {
    const before = tf.memory().numTensors;
    await expect(samples).toBeInvariantTo(model, perturbations.brightness(0.01), { numRuns: 5, seed: 1 });
    await expect(samples).not.toBeInvariantTo(model, perturbations.occlude(8), { numRuns: 50, seed: 1 });
    expect(tf.memory().numTensors).toBe(before);
    const rs = mine(/toBeInvariantTo names/);
    expect(rs.map((r) => r.method)).toEqual(['brightness(0.01)', 'occlude(8)']);
    const failed = rs[1]!;
    expect(failed.images![0]!.panels[0]).toBe('original');
    expect(failed.images![0]!.before!.class).not.toBe(failed.images![0]!.after!.class);
  });

  it('a heatmap snapshot of a Grad-CAM map names the model the map came from', async () => {
    const map = await gradcam(model, samples.images.slice([0, 0, 0, 0], [1, -1, -1, -1]));
    try {
      expect(modelOf(map)).toBe(model);
      // Seeded directly, so the test behaves the same in CI, where the matcher may not write.
      await compareHeatmapSnapshot(map, { snapshotPath: snapshot, diffPath: resolve('reports', 'diffs', spec, 'seed.png'), update: 'new' });
      await expect(map).toMatchHeatmapSnapshot('record-notes-map');
    } finally {
      map.dispose();
    }
    expect(existsSync(snapshot)).toBe(true);
    const [r] = mine(/snapshot of a Grad-CAM map/);
    expect(r!.model).toBe('bands-cnn');
    expect(r!.images![0]!.kind).toBe('snapshot');
  });
});

describe("heatmap snapshots in Vitest's snapshot summary", () => {
  it('counts written, matched and failed snapshots in the test file\'s SnapshotState, as Vitest counts its own', async () => {
    const state = expect.getState().snapshotState as unknown as Record<'added' | 'matched' | 'unmatched' | 'updated', { total(): number }>;
    const totals = () => ({ added: state.added.total(), matched: state.matched.total(), unmatched: state.unmatched.total(), updated: state.updated.total() });
    const before = totals();
    const a = tf.tidy(() => tf.linspace(0, 1, 64).reshape([8, 8]));
    const b = tf.tidy(() => tf.linspace(1, 0, 64).reshape([8, 8]));
    // Under CI=true Vitest's update mode is 'none' and a missing snapshot is never written; the
    // first call is made in 'new' mode (the public snapshotUpdateState the matcher reads, shadowed
    // on this instance only), so the test counts the same locally and in CI.
    const shadow = state as unknown as { snapshotUpdateState?: string };
    Object.defineProperty(shadow, 'snapshotUpdateState', { value: 'new', configurable: true });
    try {
      try {
        await expect(a).toMatchHeatmapSnapshot('record-notes-counted');
      } finally {
        delete shadow.snapshotUpdateState;
      }
      await expect(a).toMatchHeatmapSnapshot('record-notes-counted');
      await expect(expect(b).toMatchHeatmapSnapshot('record-notes-counted')).rejects.toThrow(/heatmap differs/);
    } finally {
      tf.dispose([a, b]);
    }
    expect(totals()).toEqual({ added: before.added + 1, matched: before.matched + 1, unmatched: before.unmatched + 1, updated: before.updated });
  });
});
