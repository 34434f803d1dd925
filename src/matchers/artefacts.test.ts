import { readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../setup.js';
import type { Samples } from '../data/samples.js';
import { bandsDataset } from '../test-support/synthetic.js';
import { fragileModel } from '../test-support/tinyModels.js';
import { fileSafe, nextCall } from './callCounter.js';

let samples: Samples;
beforeAll(() => {
  samples = bandsDataset({ count: 8, size: 8, seed: 11 }).toSamples();
});
afterAll(() => {
  samples.dispose();
  rmSync(resolve('reports/worst'), { recursive: true, force: true });
});

/** The folder a failing toResistAttack says it saved its worst examples in. */
async function savedIn(model: tf.LayersModel): Promise<string> {
  const err = await expect(samples).toResistAttack(model, 'pgd', 0.5, { maxSuccessRate: 0, params: { steps: 3 } }).then(
    () => undefined,
    (e: Error) => e,
  );
  const m = /saved in (\S+)\//.exec(String(err?.message));
  expect(m, String(err?.message)).not.toBeNull();
  return m![1]!;
}

describe('artefact paths are unique per spec, test, model and check', () => {
  const dirs: string[] = [];

  it('two models checked in one test save to two folders, each holding its own images', async () => {
    const a = fragileModel();
    const b = fragileModel();
    const [da, db] = [await savedIn(a), await savedIn(b)];
    expect(da).not.toBe(db);
    expect(readdirSync(resolve(da)).length).toBeGreaterThan(0);
    expect(readdirSync(resolve(db)).length).toBeGreaterThan(0);
    // The same model checked twice in one test: a second folder, not the first one overwritten.
    expect(await savedIn(a)).not.toBe(da);
    a.dispose();
    b.dispose();
  });

  it('eps 8/255', async () => {
    const m = fragileModel();
    dirs.push(await savedIn(m));
    m.dispose();
  });

  it('eps 8-255', async () => {
    const m = fragileModel();
    dirs.push(await savedIn(m));
    m.dispose();
    expect(dirs[0]).not.toBe(dirs[1]);
  });
});

describe('names derived from text', () => {
  it('fileSafe keeps clean names and tells apart names that differ only in punctuation', () => {
    expect(fileSafe('first-test-image-gradcam')).toBe('first-test-image-gradcam');
    expect(fileSafe('eps 8/255')).toMatch(/^eps-8-255-[0-9a-f]{8}$/);
    expect(fileSafe('eps 8/255')).not.toBe(fileSafe('eps 8-255'));
    expect(fileSafe('../../etc')).not.toMatch(/\.\.|\//);
  });

  it('nextCall counts per test attempt: a retry, a repeat or a new task starts again at 1', () => {
    const task = { result: { retryCount: 0, repeatCount: 0 } };
    const ctx = { isNot: false, task };
    expect([nextCall(ctx, 'x'), nextCall(ctx, 'x'), nextCall(ctx, 'y')]).toEqual([1, 2, 1]);
    task.result.retryCount = 1;
    expect([nextCall(ctx, 'x'), nextCall(ctx, 'x')]).toEqual([1, 2]);
    task.result.repeatCount = 1;
    expect(nextCall(ctx, 'x')).toBe(1);
    expect(nextCall({ isNot: false, task: { result: { retryCount: 1, repeatCount: 1 } } }, 'x')).toBe(1);
  });
});
