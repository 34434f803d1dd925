import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Perturbation, perturbations } from './perturbation.js';

const ALL: [string, fc.Arbitrary<Perturbation>][] = [
  ['linf', perturbations.linf(0.1)],
  ['l2', perturbations.l2(1)],
  ['gaussianNoise', perturbations.gaussianNoise(0.1)],
  ['blur', perturbations.blur(1)],
  ['brightness', perturbations.brightness(0.3)],
  ['contrast', perturbations.contrast([0.5, 1.5])],
  ['translate', perturbations.translate(3)],
  ['occlude', perturbations.occlude(4)],
  ['compose', perturbations.compose(perturbations.blur(0.5), perturbations.brightness(0.1))],
];

describe('perturbation arbitraries', () => {
  it.each(ALL)('%s keeps shape and [0, 1], is deterministic, and leaks nothing', (_name, arb) => {
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    fc.assert(
      fc.property(arb, (p) => {
        const before = tf.memory().numTensors;
        const [a, b] = [p.apply(x), p.apply(x)];
        expect(a.shape).toEqual(x.shape);
        const [lo, hi] = tf.tidy(() => [a.min().dataSync()[0]!, a.max().dataSync()[0]!]);
        expect(lo).toBeGreaterThanOrEqual(0);
        expect(hi).toBeLessThanOrEqual(1);
        expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
        tf.dispose([a, b]);
        expect(tf.memory().numTensors).toBe(before);
      }),
      { numRuns: 15, seed: 7 },
    );
    x.dispose();
  });

  it.each(ALL)('%s shrinks to the identity', (_name, arb) => {
    const x = tf.randomUniform([1, 8, 8, 3], 0.1, 0.9, 'float32', 6) as tf.Tensor4D;
    // A property that fails for every value shrinks to the smallest one there is.
    const r = fc.check(fc.property(arb, () => false), { seed: 3 });
    const smallest = r.counterexample![0] as Perturbation;
    const y = smallest.apply(x);
    expect(tf.tidy(() => y.sub(x).abs().max().dataSync()[0])).toBeLessThan(1e-6);
    tf.dispose([x, y]);
  });

  it('describes itself and rejects bad bounds', () => {
    const p = fc.sample(perturbations.blur(0.5), { seed: 1, numRuns: 1 })[0]!;
    expect(String(p)).toMatch(/^blur\(sigma=[\d.]+\)$/);
    expect(() => perturbations.linf(2)).toThrow(/eps must be a number in \[0, 1\]/);
    expect(() => perturbations.contrast([1.2, 2])).toThrow(/0 <= lo <= 1 <= hi/);
    expect(() => perturbations.translate(1.5)).toThrow(/integer/);
    expect(() => perturbations.compose()).toThrow(/at least one/);
  });
});
