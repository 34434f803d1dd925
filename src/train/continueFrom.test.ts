import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModel } from '../models/build.js';
import type { ModelCard } from '../models/card.js';
import { loadModel, readCard, saveModel } from '../models/io.js';
import { bandsDataset } from '../test-support/synthetic.js';
import { continueFrom } from './continueFrom.js';
import { learningRateAt } from './schedule.js';
import { type EpochRecord, train } from './train.js';

const root = mkdtempSync(join(tmpdir(), 'continue-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const data = bandsDataset({ count: 48, seed: 4 });
const spec = { arch: 'cnn1', width: 0.1, seed: 3 } as const;
const cardBase = (name: string) => ({ name, spec: { ...spec, regularizer: { name: 'base', l1: 0, l2: 0 } } as unknown as ModelCard['spec'], output: 'logits' as const, data: { name: 'bands', caveat: 'synthetic' } });
const files = (dir: string) => Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));

/** Trains `epochs` epochs into dir and finishes it as the CLI does: a clean accuracy, no optimizer state. */
async function finishedModel(dir: string, epochs: number): Promise<void> {
  const model = buildModel(spec);
  await train(model, data, { epochs, batchSize: 16, progress: false, seed: 2, out: dir, card: cardBase('src') });
  const card = readCard(dir)!;
  card.cleanAccuracy = { value: 0.5, n: 48 };
  const keep = Object.fromEntries(['history.json', 'train-state.json'].map((f) => [f, readFileSync(join(dir, f))]));
  await saveModel(model, dir, card, keep);
  model.dispose();
}

describe('continueFrom', () => {
  it('trains a copy further: the source is untouched, the history extends it, the schedule is the longer run\'s', async () => {
    const src = join(root, 'src');
    await finishedModel(src, 3);
    const before = files(src);
    const out = join(root, 'longer');
    const copy = continueFrom(src, out, 6);
    expect(copy.training.continuedFrom).toEqual({ model: 'src', epochs: 3, cleanAccuracy: { value: 0.5, n: 48 } });
    expect(copy.name).toBe('longer');
    expect(copy.cleanAccuracy).toBeUndefined();

    const model = await loadModel(out);
    const tensors = tf.memory().numTensors;
    const r = await train(model, data, { epochs: 6, batchSize: 16, progress: false, seed: 2, out, resume: true, card: { ...cardBase('longer'), training: { continuedFrom: copy.training.continuedFrom } } });
    expect(tf.memory().numTensors).toBe(tensors);
    model.dispose();

    expect(files(src)).toEqual(before);
    const source = JSON.parse(readFileSync(join(src, 'history.json'), 'utf8')) as EpochRecord[];
    expect(r.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.history.slice(0, 3)).toEqual(source);
    // Epoch 4 of a cosine decay over 6 epochs (a restart above where the 3-epoch run ended).
    expect(r.history[3]!.learningRate).toBeCloseTo(learningRateAt('cosine', 1e-3, 3, 6), 12);
    expect(r.history[3]!.learningRate).toBeGreaterThan(source[2]!.learningRate);
    expect(readCard(out)!.training.continuedFrom).toEqual(copy.training.continuedFrom);
    expect(readCard(out)!.training.epochs).toBe(6);
  });

  it('refuses, before writing anything, what it cannot continue', async () => {
    const src = join(root, 'src2');
    await finishedModel(src, 1);
    expect(() => continueFrom(src, src, 3)).toThrow(/same folder.*--resume with more --epochs/);
    expect(() => continueFrom(src, join(root, 'x1'), 1)).toThrow(/--epochs 1 is not more than the 1 epochs src has trained/);
    expect(() => continueFrom(join(root, 'missing'), join(root, 'x2'), 3)).toThrow(/is not a trained model folder/);
    const busy = join(root, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'notes.txt'), 'mine');
    expect(() => continueFrom(src, busy, 3)).toThrow(/already holds files.*--resume/);
    expect(readdirSync(busy)).toEqual(['notes.txt']);

    const unfinished = join(root, 'unfinished');
    const model = buildModel(spec);
    await train(model, data, { epochs: 1, batchSize: 16, progress: false, out: unfinished, card: cardBase('unfinished') });
    model.dispose();
    expect(() => continueFrom(unfinished, join(root, 'x3'), 3)).toThrow(/is still training.*resume: true/);
    for (const x of ['x1', 'x2', 'x3']) expect(existsSync(join(root, x))).toBe(false);
  });
});
