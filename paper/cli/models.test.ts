import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli.js';
import { modelsTable } from './models.js';

const root = mkdtempSync(join(tmpdir(), 'models-table-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('workbench models', () => {
  it('tabulates every model folder from its card, and says when none are trained yet', () => {
    expect(modelsTable(join(root, 'none'))).toMatch(/Data: none yet/);
    mkdirSync(join(root, 'resnet20-l1'));
    const card = {
      name: 'resnet20-l1',
      spec: { arch: 'resnet', width: 0.5, depth: 20, numClasses: 10, inputShape: [32, 32, 3], regularizer: { name: 'l1', l1: 0.001, l2: 0 }, seed: 1 },
      output: 'logits',
      activityL1: null,
      training: { epochs: 10, batchSize: 64, optimizer: 'adam', learningRate: 0.001, schedule: 'cosine', augmentation: 'x', seed: 1, trainImages: 45000, validationImages: 5000, seconds: 600, imagesPerSecond: 95, backend: 'wasm' },
      data: { name: 'cifar10', caveat: 'CIFAR-10, JPEG q75 copy' },
      cleanAccuracy: { value: 0.8123, n: 5000 },
      parameters: 69570,
      createdAt: '2026-11-25T00:00:00Z',
    };
    writeFileSync(join(root, 'resnet20-l1', 'card.json'), JSON.stringify(card));
    const table = modelsTable(root);
    expect(table).toContain('| resnet20-l1 | resnet-20 | 0.5 | l1 (l1 0.001, l2 0) | - | 69,570 | 10 | 45000 | 81.23% (n=5000) | 95 | 10 | wasm | 1 |');
    expect(table).toContain('Data: CIFAR-10, JPEG q75 copy');
    writeFileSync(join(root, 'resnet20-l1', 'card.json'), JSON.stringify({ ...card, cleanAccuracy: { value: 0.812, n: 5000 }, weights: { dtype: 'float16', float32CleanAccuracy: { value: 0.8123, n: 5000 } } }));
    expect(modelsTable(root)).toContain('| 81.20% (n=5000, float16 weights; 81.23% in float32) |');
    writeFileSync(join(root, 'resnet20-l1', 'card.json'), JSON.stringify({ ...card, training: { ...card.training, epochs: 18, continuedFrom: { model: 'resnet20-old', epochs: 10 } } }));
    expect(modelsTable(root)).toContain('| 69,570 | 18 (10 as resnet20-old, then 8) | 45000 |');
  });

  it('refuses a --dir that is not a folder, and writes no README.md into a folder it would make', async () => {
    const typo = join(root, 'fixtures', 'modles');
    await expect(main(['models', '--dir', typo, '--write'])).rejects.toThrow(/--dir .*modles is not a folder; give the folder that holds the model folders/);
    expect(existsSync(typo)).toBe(false);
  });
});
