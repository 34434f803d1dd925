import { describe, expect, it } from 'vitest';
import { interruptedMessage } from 'vitest-robustness';
import { main } from '../cli.js';
import { resolveRecipe } from './train.js';

describe('workbench train', () => {
  it('names what is missing or wrong before touching any data', async () => {
    await expect(main(['train', '--arch', 'resnet'])).rejects.toThrow(/--out is required/);
    await expect(main(['train', '--arch', 'cnn1', '--out', '/tmp/x', '--epochs', 'ten'])).rejects.toThrow(/--epochs must be a whole number of at least 1; got 'ten'/);
    await expect(main(['train', '--arch', 'cnn1', '--out', '/tmp/x', '--optimizer', 'rmsprop'])).rejects.toThrow(/--optimizer must be adam or sgd/);
    await expect(main(['train', '--out', '/tmp/x', '--bogus'])).rejects.toThrow(/Unknown option '--bogus'.*npm run workbench -- train --help/);
    await expect(main(['train', '--arch', 'cnn1', '--out', '/tmp/x', '--workers', 'two'])).rejects.toThrow(/--workers must be a whole number/);
  });

  it('--from continues a model as built: it rejects architecture flags, needs --epochs, and checks the source first', async () => {
    await expect(main(['train', '--from', 'fixtures/models/resnet20-base', '--arch', 'vgg16', '--width', '2', '--out', '/tmp/x'])).rejects.toThrow(/drop --arch, --width/);
    await expect(main(['train', '--from', 'fixtures/models/resnet20-base', '--out', '/tmp/x'])).rejects.toThrow(/--from needs --epochs/);
    await expect(main(['train', '--from', '/nonexistent/model', '--epochs', '3', '--out', '/tmp/x'])).rejects.toThrow(/is not a trained model folder/);
  });
});

describe('the recipe of a resumed or continued run', () => {
  const card = { epochs: 10, batchSize: 32, optimizer: 'adam', learningRate: 5e-4, schedule: 'step', augmentation: 'none', seed: 7, trainImages: 1, validationImages: 0, seconds: 1, imagesPerSecond: 1, backend: 'wasm' };
  it('is the card\'s unless a flag says otherwise, and the defaults for a new run', () => {
    expect(resolveRecipe({}, card)).toEqual({ batchSize: 32, learningRate: 5e-4, seed: 7, optimizer: 'adam', schedule: 'step', augment: false });
    expect(resolveRecipe({ batch: 64, seed: 1, schedule: 'cosine' }, card)).toEqual({ batchSize: 64, learningRate: 5e-4, seed: 1, optimizer: 'adam', schedule: 'cosine', augment: false });
    expect(resolveRecipe({})).toEqual({ batchSize: 64, learningRate: undefined, seed: 0, optimizer: 'adam', schedule: 'cosine', augment: true });
    expect(resolveRecipe({ noAugment: true })).toMatchObject({ augment: false });
  });
  it('drops the card\'s learning rate when the optimizer changes', () => {
    expect(resolveRecipe({ optimizer: 'sgd' }, card)).toMatchObject({ optimizer: 'sgd', learningRate: undefined });
    expect(resolveRecipe({ optimizer: 'sgd', lr: 0.1 }, card)).toMatchObject({ optimizer: 'sgd', learningRate: 0.1 });
  });
});

describe('the message of an interrupted training', () => {
  it('points at --resume only when an epoch was kept', () => {
    expect(interruptedMessage(3, 'fixtures/models/x')).toBe('interrupted: 3 epoch(s) kept in fixtures/models/x; continue with --resume.');
    expect(interruptedMessage(0, 'fixtures/models/x')).toMatch(/nothing was saved in fixtures\/models\/x; run the same command again \(without --resume\)/);
    expect(interruptedMessage(0, 'out')).not.toMatch(/continue with --resume/);
  });
});
