// The AutoAttack-style ensemble against its own attacks run by hand, stage after stage.
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUTOATTACK_VERSIONS, autoattack } from './autoattack.js';
import { getAttack } from './registry.js';

const SHAPE: [number, number, number] = [4, 4, 3];
const D = 48;

function linearModel(k: number, seed: number): tf.LayersModel {
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: SHAPE }), tf.layers.dense({ units: k })] });
  const w = tf.randomNormal([D, k], 0, 0.3, 'float32', seed);
  const b = tf.randomNormal([k], 0, 0.5, 'float32', seed + 1);
  model.layers[1]!.setWeights([w, b]);
  tf.dispose([w, b]);
  return model;
}

/** Runs the version's attacks by hand, each on the samples every earlier one left correct. */
async function byHand(model: tf.LayersModel, x: tf.Tensor4D, y: tf.Tensor1D, labels: Int32Array, params: { eps: number; seed: number; version: 'standard' | 'cheap' }) {
  const clean = tf.tidy(() => (model.predict(x) as tf.Tensor).argMax(1));
  const pred = await clean.data();
  clean.dispose();
  const brokenBy: (string | null)[] = Array.from(labels, (l, i) => (pred[i] === l ? null : 'clean'));
  for (const stage of AUTOATTACK_VERSIONS[params.version]) {
    const rows = brokenBy.flatMap((b, i) => (b === null ? [i] : []));
    if (!rows.length) break;
    const idx = tf.tensor1d(rows, 'int32');
    const [xs, ys] = [tf.gather(x, idx) as tf.Tensor4D, tf.gather(y, idx) as tf.Tensor1D];
    const r = await stage.attack.run(model, xs, ys, { ...stage.params, eps: params.eps, norm: 'linf', seed: params.seed });
    rows.forEach((row, k) => {
      if (r.predsAfter[k] !== labels[row]) brokenBy[row] = stage.label;
    });
    tf.dispose([idx, xs, ys, r.adversarial]);
  }
  return brokenBy;
}

describe('autoattack', () => {
  it("each sample's verdict is the union of its attacks' run one after another, and replays from the seed", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0.01, max: 0.08, noNaN: true }), async (seed, eps) => {
        const model = linearModel(5, seed);
        const x = tf.randomUniform([8, ...SHAPE], 0, 1, 'float32', seed + 2) as tf.Tensor4D;
        // Labels: the model's own predictions, two of them replaced, so 'clean' breaks appear too.
        const own = tf.tidy(() => (model.predict(x) as tf.Tensor).argMax(1));
        const labels = Int32Array.from(await own.data());
        own.dispose();
        labels[0] = (labels[0]! + 1) % 5;
        labels[5] = (labels[5]! + 2) % 5;
        const y = tf.tensor1d(labels, 'int32');
        const before = tf.memory().numTensors;
        const r = await autoattack.run(model, x, y, { eps, seed, version: 'cheap' });
        expect(tf.memory().numTensors).toBe(before + 1);
        const again = await autoattack.run(model, x, y, { eps, seed, version: 'cheap' });
        const expected = await byHand(model, x, y, labels, { eps, seed, version: 'cheap' });
        expect(r.brokenBy).toEqual(expected);
        expect(again.brokenBy).toEqual(r.brokenBy);
        expect(again.queries).toEqual(r.queries);
        expect(Array.from(await again.adversarial.data())).toEqual(Array.from(await r.adversarial.data()));
        // Robust means every attack failed; the returned images show each break.
        const robust = r.brokenBy.filter((b) => b === null).length;
        expect(Array.from(r.predsAfter).filter((p, i) => p === labels[i]).length).toBe(robust);
        expect(r.brokenBy[0]).toBe('clean');
        expect(r.linf[0]).toBe(0);
        for (const v of r.linf) expect(v).toBeLessThanOrEqual(eps + 1e-6);
        expect(r.stages.reduce((s, st) => s + st.broken, 0)).toBe(r.brokenBy.filter((b) => b !== null && b !== 'clean').length);
        tf.dispose([x, y, r.adversarial, again.adversarial]);
        model.dispose();
      }),
      { numRuns: 4 },
    );
  });

  it('is in the registry and documents both budgets', () => {
    expect(getAttack('autoattack')).toBe(autoattack);
    expect(AUTOATTACK_VERSIONS.standard.map((s) => [s.label, s.params])).toEqual([
      ['apgd-ce', { loss: 'ce', steps: 100, restarts: 1 }],
      ['apgd-t', { steps: 100, restarts: 1, targetClasses: 9 }],
      ['square', { queries: 5000, pInit: 0.8 }],
    ]);
    expect(AUTOATTACK_VERSIONS.cheap.map((s) => s.label)).toEqual(['apgd-ce', 'apgd-t', 'square']);
  });

  it('rejects a target, unknown parameters, an unknown version and too few classes', async () => {
    const model = linearModel(5, 1);
    const small = linearModel(3, 1);
    const x = tf.fill([2, ...SHAPE], 0.5) as tf.Tensor4D;
    const y = tf.tensor1d([0, 1], 'int32');
    const before = tf.memory().numTensors;
    await expect(autoattack.run(model, x, y, { target: 1 })).rejects.toThrow(/untargeted/);
    await expect(autoattack.run(model, x, y, { steps: 10 } as never)).rejects.toThrow(/unknown parameter 'steps'.*fixed by 'version'/);
    await expect(autoattack.run(model, x, y, { version: 'plus' as never })).rejects.toThrow(/'standard' or 'cheap'/);
    await expect(autoattack.run(small, x, y)).rejects.toThrow(/at least 4 classes/);
    await expect(autoattack.run(model, x, y, { eps: 0 })).rejects.toThrow(/eps/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, y]);
    model.dispose();
    small.dispose();
  });
});
