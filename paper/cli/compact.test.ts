import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import jpeg from 'jpeg-js';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModel, CIFAR10_CLASSES, cifar10Dataset, evaluate, loadModel, readCard, saveModel, type ModelCard } from 'vitest-robustness';
import { main } from '../cli.js';

const root = mkdtempSync(join(tmpdir(), 'compact-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A CIFAR-10-shaped image folder: two 32x32 test images per class. */
function fakeCifar(dir: string): void {
  CIFAR10_CLASSES.forEach((name, c) => {
    mkdirSync(join(dir, 'test', name), { recursive: true });
    for (let k = 0; k < 2; k++) {
      const data = Buffer.alloc(32 * 32 * 4, 255);
      for (let i = 0; i < 32 * 32; i++) data[4 * i] = (c * 25 + k * 7 + i) % 256;
      writeFileSync(join(dir, 'test', name, `${k}.jpg`), jpeg.encode({ data, width: 32, height: 32 }, 95).data);
    }
  });
}

async function trainedModel(dir: string, extra: Record<string, string> = {}): Promise<tf.LayersModel> {
  const model = buildModel({ arch: 'cnn1', width: 0.1, seed: 4 });
  const card = {
    name: 'tiny',
    spec: { arch: 'cnn1', width: 0.1, numClasses: 10, inputShape: [32, 32, 3], regularizer: { name: 'base', l1: 0, l2: 0 }, seed: 4 },
    output: 'logits',
    activityL1: null,
    training: { epochs: 1, batchSize: 8, optimizer: 'adam', learningRate: 0.001, schedule: 'cosine', augmentation: 'none', seed: 4, trainImages: 10, validationImages: 0, seconds: 1, imagesPerSecond: 10, backend: 'wasm' },
    data: { name: 'cifar10', caveat: 'test images' },
    cleanAccuracy: { value: 0.5, n: 20 },
    parameters: model.countParams(),
    createdAt: '2026-11-25T00:00:00Z',
  } as unknown as ModelCard;
  await saveModel(model, dir, card, { 'history.json': '[{"epoch":1}]\n', ...extra });
  return model;
}

describe('workbench compact', () => {
  it('says what is wrong before touching the model', async () => {
    await expect(main(['compact'])).rejects.toThrow(/--model is required/);
    mkdirSync(join(root, 'bare'));
    await expect(main(['compact', '--model', join(root, 'bare')])).rejects.toThrow(/has no card.json/);
    const training = join(root, 'training');
    (await trainedModel(training, { 'optimizer.json': '{}' })).dispose();
    const before = readFileSync(join(training, 'weights.bin'));
    await expect(main(['compact', '--model', training])).rejects.toThrow(/still training.*npm run workbench -- train --resume/);
    expect(readFileSync(join(training, 'weights.bin'))).toEqual(before);
  });

  it('halves weights.bin, keeps the other files and subfolders, and records the accuracy measured on the float16 weights beside the float32 one', async () => {
    const data = join(root, 'cifar');
    fakeCifar(data);
    const dir = join(root, 'model');
    const model = await trainedModel(dir);
    // A user's subfolder and notes beside the model stay (compact used to drop subfolders).
    mkdirSync(join(dir, 'plots', 'curves'), { recursive: true });
    writeFileSync(join(dir, 'plots', 'curves', 'loss.svg'), '<svg/>');
    writeFileSync(join(dir, 'NOTES.md'), 'notes');
    const size = statSync(join(dir, 'weights.bin')).size;
    const saved = process.env.CIFAR10_DIR;
    process.env.CIFAR10_DIR = data;
    try {
      expect(await main(['compact', '--model', dir])).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.CIFAR10_DIR;
      else process.env.CIFAR10_DIR = saved;
    }
    expect(statSync(join(dir, 'weights.bin')).size * 2).toBe(size);
    expect(readFileSync(join(dir, 'history.json'), 'utf8')).toBe('[{"epoch":1}]\n');
    expect(readFileSync(join(dir, 'plots', 'curves', 'loss.svg'), 'utf8')).toBe('<svg/>');
    expect(readFileSync(join(dir, 'NOTES.md'), 'utf8')).toBe('notes');
    const card = readCard(dir)!;
    expect(card.weights).toEqual({ dtype: 'float16', float32CleanAccuracy: { value: 0.5, n: 20 } });
    expect(card.cleanAccuracy!.n).toBe(20);

    // The accuracy on the card is the float16 model's on those 20 images.
    const back = await loadModel(dir);
    expect(card.cleanAccuracy!.value).toBe((await evaluate(back, cifar10Dataset('test', data))).accuracy);
    // Float16 keeps 11 significant bits: outputs move by about 1e-3 of their size, not more.
    // float16 weights: the same predictions to about 1e-3 of their scale.
    const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 9);
    const [a, b] = [back.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor];
    const scale = b.abs().max().dataSync()[0]!;
    expect(a.sub(b).abs().max().dataSync()[0]! / scale).toBeLessThan(1e-2);
    tf.dispose([x, a, b]);
    model.dispose();
    back.dispose();

    await expect(main(['compact', '--model', dir])).rejects.toThrow(/already stores float16/);
  });
});
