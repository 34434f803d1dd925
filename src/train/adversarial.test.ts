import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageDataset } from '../data/dataset.js';
import { buildModel } from '../models/build.js';
import { readCard } from '../models/io.js';
import { bandsDataset } from '../test-support/synthetic.js';
import { adversarialSet, adversarialTraining, type AdversarialAttackSpec } from './adversarial.js';

const FGSM: AdversarialAttackSpec = { attack: 'fgsm', params: { norm: 'linf', eps: 8 / 255 } };
const PGD: AdversarialAttackSpec = { attack: 'pgd', params: { norm: 'linf', eps: 8 / 255, steps: 10, stepSize: 2 / 255, randomStart: true } };
import { train } from './train.js';

const root = mkdtempSync(join(tmpdir(), 'adv-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tiny = () => buildModel({ arch: 'cnn1', width: 0.1, seed: 3 });
const per = 32 * 32 * 3;

async function trained(): Promise<tf.LayersModel> {
  const model = tiny();
  await train(model, bandsDataset({ count: 64, seed: 1 }), { epochs: 2, batchSize: 16, augment: false, progress: false, seed: 1 });
  return model;
}

describe('ImageDataset.concat', () => {
  it('keeps every part in order and refuses parts that do not fit together', () => {
    const a = bandsDataset({ count: 3, seed: 1 });
    const b = bandsDataset({ count: 2, seed: 2 });
    const c = ImageDataset.concat([a, b]);
    expect(c.size).toBe(5);
    expect(Array.from(c.labels)).toEqual([...Array.from(a.labels), ...Array.from(b.labels)]);
    expect(c.ids).toEqual([...a.ids, ...b.ids]);
    expect(c.pixels.subarray(3 * per)).toEqual(b.pixels);
    expect(() => ImageDataset.concat([a, bandsDataset({ count: 2, size: 16 })])).toThrow(/16x16x3 cannot join images of 32x32x3/);
    expect(() => ImageDataset.concat([a, bandsDataset({ count: 2, classes: 3 })])).toThrow(/class names differ/);
    expect(() => ImageDataset.concat([])).toThrow(/at least one/);
  });
});

describe('adversarialSet', () => {
  it('attacks the same stratified images with every attack, keeps true labels, stays in the budget, and is deterministic', async () => {
    const model = await trained();
    const data = bandsDataset({ count: 40, seed: 5 });
    const attacks = [FGSM, PGD];
    const before = tf.memory().numTensors;
    const set = await adversarialSet(model, data, { attacks, count: 10, seed: 2, batchSize: 4 });
    expect(tf.memory().numTensors).toBe(before);
    expect(set.dataset.size).toBe(20);
    expect(set.stats.map((s) => s.attack)).toEqual(['fgsm', 'pgd']);
    for (const [a, name] of ['fgsm', 'pgd'].entries()) {
      for (let j = 0; j < 10; j++) {
        const src = set.sourceIndices[j]!;
        const k = a * 10 + j;
        expect(set.dataset.labels[k]).toBe(data.labels[src]);
        expect(set.dataset.ids[k]).toBe(`${data.ids[src]}~${name}`);
        const adv = set.dataset.pixels.subarray(k * per, (k + 1) * per);
        const clean = data.pixels.subarray(src * per, (src + 1) * per);
        let maxDiff = 0;
        for (let p = 0; p < per; p++) maxDiff = Math.max(maxDiff, Math.abs(adv[p]! - clean[p]!));
        // 8/255 in 8-bit levels, plus rounding.
        expect(maxDiff).toBeLessThanOrEqual(8);
        if (name === 'fgsm') expect(maxDiff).toBe(8);
      }
    }
    const again = await adversarialSet(model, data, { attacks, count: 10, seed: 2, batchSize: 4 });
    expect(again.dataset.pixels).toEqual(set.dataset.pixels);
    model.dispose();
  });

  it('names bad counts and empty recipes', async () => {
    const model = tiny();
    const data = bandsDataset({ count: 8 });
    await expect(adversarialSet(model, data, { attacks: [FGSM], count: 9 })).rejects.toThrow(/count 9 exceeds the 8 images/);
    await expect(adversarialSet(model, data, { attacks: [FGSM], count: 0 })).rejects.toThrow(/count must be a positive integer/);
    await expect(adversarialSet(model, data, { attacks: [], count: 2 })).rejects.toThrow(/at least one attack/);
    await expect(adversarialSet(model, data, { attacks: [{ attack: 'bim' as 'fgsm' }], count: 2 })).rejects.toThrow(/Unknown attack "bim"/);
    model.dispose();
  });
});

describe('adversarialTraining', () => {
  it('retrains on clean plus adversarial images, from the source model, and records the recipe in the card', async () => {
    const model = await trained();
    const data = bandsDataset({ count: 48, seed: 6 });
    const out = join(root, 'adv');
    const before = tf.memory().numTensors;
    const r = await adversarialTraining(model, data, {
      attacks: [FGSM],
      count: 12,
      clean: 20,
      epochs: 2,
      batchSize: 16,
      learningRate: 1e-3,
      seed: 1,
      progress: false,
      out,
      card: { name: 'adv', spec: { arch: 'cnn1', width: 0.1, depth: null, numClasses: 10, inputShape: [32, 32, 3], regularizer: { name: 'base', l1: 0, l2: 0 }, seed: 3 } as never, output: 'logits', data: { name: 'synthetic', caveat: 'bands' } },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.trainImages).toBe(32);
    expect(r.history).toHaveLength(2);
    expect(r.adversarial[0]!.images).toBe(12);
    const card = readCard(out)!;
    expect(card.training.trainImages).toBe(32);
    expect(card.training.augmentation).toBe('none');
    expect(card.training.adversarial).toMatchObject({ attackedImages: 12, cleanImages: 20, seed: 1, attacks: [{ attack: 'fgsm', images: 12 }] });
    expect(JSON.parse(readFileSync(join(out, 'history.json'), 'utf8'))).toHaveLength(2);
    await expect(adversarialTraining(model, data, { attacks: [FGSM], count: 4, clean: 49, epochs: 1, progress: false })).rejects.toThrow(/clean must be an integer from 0 to 48/);
    model.dispose();
  });
});
