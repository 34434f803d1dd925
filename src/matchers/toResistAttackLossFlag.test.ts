// toResistAttack on a model whose gradient points the wrong way: "the attack loss did not
// increase" fails the check (message, record, report), { flags: 'warn' } only reports it; every
// check's record points to its per-sample file and carries the per-class breakdown.
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup.js';
import { makeSamples, type Samples } from '../data/samples.js';
import { renderHtml } from '../report/html.js';
import { readResults } from '../record/record.js';

const D = 48;
const w = tf.randomNormal([D, 5], 0, 0.5, 'float32', 3);
const logitsOf = (x: tf.Tensor) => tf.matMul(tf.reshape(x, [x.shape[0]!, D]), w) as tf.Tensor2D;
const honest = { predict: (x: tf.Tensor4D) => logitsOf(x) };
// Identity forward, negated gradient backward: gradient attacks walk away from the boundary.
const reverse = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({ value: tf.clone(args[0] as tf.Tensor), gradFunc: (dy: tf.Tensor) => tf.neg(dy) }));
const misleading = { predict: (x: tf.Tensor4D) => tf.tidy(() => logitsOf(reverse(x) as tf.Tensor)) };

let samples: Samples;
beforeAll(() => {
  const x = tf.randomUniform([20, 4, 4, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const y = tf.tidy(() => tf.argMax(honest.predict(x), 1).toInt() as tf.Tensor1D);
  samples = makeSamples(x, y, { ids: Array.from({ length: 20 }, (_, i) => `r#${i}`), classNames: ['a', 'b', 'c', 'd', 'e'], source: 'random images' });
});
afterAll(() => samples.dispose());

describe('toResistAttack: the attack loss did not increase', () => {
  it('fails the check on a reversed-gradient model, with or without .not, and only warns with flags: warn', async () => {
    const params = { steps: 10, output: 'logits' as const };
    await expect(expect(samples).toResistAttack(misleading, 'pgd', 0.02, { minAccuracy: 0.5, params })).rejects.toThrow(
      /evaluation flags \(failing the check; \{ flags: 'warn' \} reports them only\): the attack loss did not increase: for \d+ of the 20 samples the attack left correct/,
    );
    await expect(expect(samples).not.toResistAttack(misleading, 'pgd', 0.02, { minAccuracy: 0.99, params })).rejects.toThrow(/the attack loss did not increase/);
    await expect(samples).toResistAttack(misleading, 'pgd', 0.02, { minAccuracy: 0.5, params, flags: 'warn' });
    // The same check on the model with its true gradient: no flag.
    await expect(samples).toResistAttack(honest, 'pgd', 0.02, { minAccuracy: 0, params });
    const mine = readResults().filter((r) => r.test.includes('reversed-gradient model'));
    expect(mine.map((r) => [r.pass, r.flags?.map((f) => [f.name, f.failing])])).toEqual([
      [false, [['loss-not-increased', true]]],
      [false, [['loss-not-increased', true]]],
      [true, [['loss-not-increased', false]]],
      [true, undefined],
    ]);
    // The report shows the flags: failing in red, warnings in amber.
    const html = renderHtml(mine, { generated: 'now', root: process.cwd() });
    expect(html).toContain('<li class="failing"><b>loss-not-increased</b> (failed the check): the attack loss did not increase');
    expect(html).toContain('<li class="warning"><b>loss-not-increased</b> (warning only)');
  });

  it('records where its per-sample outcomes are, and a per-class breakdown the report shows', async () => {
    await expect(samples).toResistAttack(honest, 'fgsm', 0.02, { minAccuracy: 0, params: { output: 'logits' } });
    const [r] = readResults().filter((x) => x.test.includes('records where its per-sample outcomes are'));
    expect(r!.samples).toMatch(/^reports\/samples\/.*fgsm-0\.02\.json$/);
    expect(existsSync(r!.samples!)).toBe(true);
    const file = JSON.parse(readFileSync(r!.samples!, 'utf8'));
    expect(file.samples).toHaveLength(20);
    // The record's breakdown is the file's, with class names; its counts add up to n.
    expect(r!.perClass!.map(({ class: _c, ...rest }) => rest)).toEqual(file.perClass);
    expect(r!.perClass!.reduce((s, c) => s + c.n, 0)).toBe(20);
    for (const c of r!.perClass!) {
      const mine = file.samples.filter((s: { label: number }) => s.label === c.label);
      expect(c.robust).toBe(mine.filter((s: { robust: boolean }) => s.robust).length / mine.length);
      expect(c.class).toBe(['a', 'b', 'c', 'd', 'e'][c.label]);
    }
    const html = renderHtml([r!], { generated: 'now', root: process.cwd() });
    expect(html).toContain('<table class="per-class">');
    expect(html).toContain(`per-sample outcomes: <code>${r!.samples}</code>`);
  });
});
