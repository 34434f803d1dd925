import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { restoreOptimizer, serializeOptimizer } from './optimizerState.js';

/** Adam after two steps on variables named `names` (shapes [2], [3], [1, 2]), trained in that order. */
async function trained(names: readonly string[]) {
  const vars = names.map((n, i) => tf.tidy(() => tf.variable(tf.fill([[2], [3], [1, 2]][i]!, i + 1), true, n)));
  const opt = tf.train.adam(0.1);
  for (let step = 0; step < 2; step++) {
    tf.dispose(opt.minimize(() => vars.map((v, i) => v.square().sum().mul(i + 1)).reduce((s, t) => s.add(t)) as tf.Scalar, true, vars)!);
  }
  return { vars, opt };
}

const moments = async (opt: tf.Optimizer) => {
  const w = await opt.getWeights();
  const out = Object.fromEntries(await Promise.all(w.filter((x) => x.name !== 'iter').map(async (x) => [x.name, Array.from(await x.tensor.data())] as const)));
  w.filter((x) => x.name === 'iter').forEach((x) => x.tensor.dispose());
  return out;
};

describe('optimizer checkpoints', () => {
  it('restores Adam slots by variable name when the variables come in another order and with engine suffixes', async () => {
    const before = tf.memory().numTensors;
    const a = await trained(['opt_test/a', 'opt_test/b', 'opt_test/c']);
    const { json, bin } = await serializeOptimizer(a.opt, new Map([['opt_test/a', 'a'], ['opt_test/b', 'b'], ['opt_test/c', 'c']]));
    expect((JSON.parse(json) as { weights: { name: string }[] }).weights.map((w) => w.name)).toEqual(['iter', 'a/m', 'b/m', 'c/m', 'a/v', 'b/v', 'c/v']);
    const original = await moments(a.opt);

    // A second model in the same process: its engine names differ, and it trains c, a, b.
    const b = ['opt_test2/c', 'opt_test2/a', 'opt_test2/b'].map((n, i) => tf.tidy(() => tf.variable(tf.fill([[1, 2], [2], [3]][i]!, 0), true, n)));
    const opt = tf.train.adam(0.1);
    await restoreOptimizer(opt, json, bin, ['c', 'a', 'b']);
    const restored = await moments(opt);
    expect(Object.keys(restored)).toEqual(['c/m', 'a/m', 'b/m', 'c/v', 'a/v', 'b/v']);
    for (const name of Object.keys(restored)) expect(restored[name]).toEqual(original[`opt_test/${name}`]);
    // ... and training goes on with matching shapes (positional slots would be mis-shaped here).
    tf.dispose(opt.minimize(() => b.map((v) => v.square().sum()).reduce((s, t) => s.add(t)) as tf.Scalar, true, b)!);

    a.opt.dispose();
    opt.dispose();
    tf.dispose([...a.vars, ...b]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the problem when the checkpoint belongs to another model', async () => {
    const a = await trained(['opt_test3/a', 'opt_test3/b', 'opt_test3/c']);
    const { json, bin } = await serializeOptimizer(a.opt);
    const opt = tf.train.adam(0.1);
    await expect(restoreOptimizer(opt, json, bin, ['opt_test3/a', 'opt_test3/zzz', 'opt_test3/c'])).rejects.toThrow(/no 'm' slot for opt_test3\/zzz.*another model/);
    a.opt.dispose();
    opt.dispose();
    tf.dispose(a.vars);
  });
});
