import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIFAR10_CLASSES, readCard } from 'vitest-robustness';
import { main } from '../cli.js';

// A CIFAR-10-shaped image folder small enough to train on in a test: 6 training and 2 test
// images per class, each class a different colour.
const root = mkdtempSync(join(tmpdir(), 'cli-resume-'));
const saved = { dir: process.env.CIFAR10_DIR, cache: process.env.ROBUSTNESS_CACHE, quiet: process.env.ROBUSTNESS_QUIET };
beforeAll(() => {
  const data = join(root, 'cifar');
  for (const [split, per] of [['train', 6], ['test', 2]] as const) {
    CIFAR10_CLASSES.forEach((name, c) => {
      mkdirSync(join(data, split, name), { recursive: true });
      for (let k = 0; k < per; k++) {
        const png = new PNG({ width: 32, height: 32 });
        for (let i = 0; i < 32 * 32 * 4; i++) png.data[i] = i % 4 === 3 ? 255 : (c * 25 + (i % 4) * 60 + k * 3 + (i >> 6)) % 256;
        writeFileSync(join(data, split, name, `${k}.png`), PNG.sync.write(png));
      }
    });
  }
  process.env.CIFAR10_DIR = data;
  process.env.ROBUSTNESS_CACHE = join(root, 'cache');
  process.env.ROBUSTNESS_QUIET = '1';
});
afterAll(() => {
  for (const [k, v] of [['CIFAR10_DIR', saved.dir], ['ROBUSTNESS_CACHE', saved.cache], ['ROBUSTNESS_QUIET', saved.quiet]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(root, { recursive: true, force: true });
});

/** The error a command rejects with. */
async function refusal(args: string[]): Promise<Error & { exitCode?: number }> {
  return main(args).then(
    () => expect.unreachable(`robustness ${args.join(' ')} should have refused`),
    (err: Error) => err,
  );
}

const tiny = ['--arch', 'cnn1', '--width', '0.1', '--batch', '10', '--quiet'];
const history = (dir: string) => (JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8')) as unknown[]).length;

describe('workbench train and adv-train: --out and --resume', () => {
  const model = join(root, 'model');

  it('a resumed run trains on the images on its card, not on every image, without repeating --train-count and --val', async () => {
    expect(await main(['train', ...tiny, '--epochs', '1', '--train-count', '20', '--val', '10', '--out', model])).toBe(0);
    expect(readCard(model)!.training).toMatchObject({ epochs: 1, trainImages: 20, validationImages: 10 });
    expect(await main(['train', ...tiny, '--epochs', '2', '--resume', '--out', model])).toBe(0);
    expect(readCard(model)!.training).toMatchObject({ epochs: 2, trainImages: 20, validationImages: 10 });
    expect(history(model)).toBe(2);
  });

  it('a resumed run refuses a flag that changes its data or its model, and leaves the model as it was', async () => {
    const before = readFileSync(join(model, 'weights.bin'));
    const cases: [string[], RegExp][] = [
      [['--train-count', '30'], /--train-count 30 conflicts with the run in .*model, which used 20; a resumed run keeps its recipe\. Drop --train-count, or start a new run in another folder\./],
      [['--val', '0'], /--val 0 conflicts with the run in .*model, which used 10/],
      [['--seed', '5'], /--seed 5 conflicts with the run in .*model, which used 0/],
      [['--arch', 'vgg16'], /--arch vgg16 conflicts with the run in .*model, which used cnn1/],
      [['--reg', 'l1'], /--reg l1 conflicts with the run in .*model, which used base/],
    ];
    for (const [flags, message] of cases) {
      const err = await refusal(['train', '--epochs', '3', '--resume', '--out', model, '--quiet', ...flags]);
      expect(err.message).toMatch(message);
      expect(err.exitCode).toBe(2);
    }
    expect(readFileSync(join(model, 'weights.bin'))).toEqual(before);
    expect(history(model)).toBe(2);
  });

  it('a fresh run never trains over a model or anyone\'s files; --resume needs a run to resume', async () => {
    const err = await refusal(['train', ...tiny, '--epochs', '1', '--out', model]);
    expect(err.message).toMatch(/--out .*model already holds a training run; add --resume to continue it, or choose a new folder/);
    expect(history(model)).toBe(2);

    const project = join(root, 'project');
    mkdirSync(join(project, 'src'), { recursive: true });
    writeFileSync(join(project, 'package.json'), '{}');
    writeFileSync(join(project, 'src', 'index.ts'), 'code');
    expect((await refusal(['train', ...tiny, '--epochs', '1', '--out', project])).message).toMatch(/--out .*project already holds files \(package\.json, src\); choose a new or empty folder/);
    expect((await refusal(['train', ...tiny, '--epochs', '1', '--resume', '--out', project])).message).toMatch(/--resume: .*project holds no training run to resume/);
    expect(readdirSync(project).sort()).toEqual(['package.json', 'src']);
    expect(readFileSync(join(project, 'src', 'index.ts'), 'utf8')).toBe('code');

    const empty = join(root, 'nothing-yet');
    expect((await refusal(['train', ...tiny, '--epochs', '1', '--resume', '--out', empty])).message).toMatch(/holds no training run to resume \(no train-state\.json\)\. Drop --resume to start one there\./);
    expect(existsSync(empty)).toBe(false);
  });

  it('--train-count and --val that leave nothing to train on are refused with the counts', async () => {
    expect((await refusal(['train', ...tiny, '--epochs', '1', '--val', '60', '--out', join(root, 'v')])).message).toMatch(/--val 60 holds out every one of the 60 training images, leaving none to train on/);
    expect((await refusal(['train', ...tiny, '--epochs', '1', '--val', '10', '--train-count', '51', '--out', join(root, 'v')])).message).toMatch(/--train-count 51 exceeds the 50 training images left after holding out --val 10; use at most 50/);
    expect(existsSync(join(root, 'v'))).toBe(false);
  });

  it('adv-train --resume makes the same adversarial images as before: the card\'s counts, attacks and seed; a flag that changes them is refused', async () => {
    const adv = join(root, 'adv');
    const common = ['--from', model, '--out', adv, '--batch', '10', '--quiet'];
    expect(await main(['adv-train', ...common, '--epochs', '1', '--count', '10', '--clean', '10', '--val', '10', '--attacks', 'fgsm', '--seed', '3'])).toBe(0);
    expect(await main(['adv-train', ...common, '--epochs', '2', '--resume'])).toBe(0);
    const card = readCard(adv)!;
    expect(card.training).toMatchObject({ epochs: 2, validationImages: 10, trainImages: 20 });
    expect(card.training.adversarial).toMatchObject({ attackedImages: 10, cleanImages: 10, seed: 3 });
    expect((card.training.adversarial!.attacks as { attack: string }[]).map((a) => a.attack)).toEqual(['fgsm']);
    for (const [flags, message] of [
      [['--count', '20'], /--count 20 conflicts with the run in .*adv, which used 10/],
      [['--attacks', 'pgd'], /--attacks pgd conflicts with the run in .*adv, which used fgsm/],
      [['--seed', '1'], /--seed 1 conflicts/],
    ] as [string[], RegExp][]) {
      expect((await refusal(['adv-train', ...common, '--epochs', '3', '--resume', ...flags])).message).toMatch(message);
    }
    expect((await refusal(['adv-train', ...common, '--epochs', '1'])).message).toMatch(/already holds a training run; add --resume/);
    expect((await refusal(['train', '--epochs', '3', '--resume', '--out', adv, '--quiet'])).message).toMatch(/was made by npm run workbench -- adv-train; resume it with npm run workbench -- adv-train --resume/);
    expect(history(adv)).toBe(2);
  });

  it('a damaged train-state.json stops a resume or a continuation, naming the file; adv-train refuses a model still training', async () => {
    const copy = join(root, 'damaged');
    cpSync(model, copy, { recursive: true });
    for (const [text, message] of [
      ['{"epochsDone": 2', /train-state\.json is not valid JSON \(.*\)\. Restore it \(it is rewritten with every checkpoint\), or start the run again in a new folder\./],
      ['{"epochsDone": "2", "seconds": 1, "history": []}', /train-state\.json is damaged: epochsDone is "2", not a whole number/],
      ['{"epochsDone": 5, "seconds": 1, "history": [{"epoch": 1}]}', /train-state\.json is damaged: it says 5 epochs are done but its history ends at epoch 1/],
    ] as [string, RegExp][]) {
      writeFileSync(join(copy, 'train-state.json'), text);
      expect((await refusal(['train', '--epochs', '3', '--resume', '--out', copy, '--quiet'])).message).toMatch(message);
      expect((await refusal(['train', '--epochs', '3', '--from', copy, '--out', join(root, 'continued'), '--quiet'])).message).toMatch(message);
    }
    expect(existsSync(join(root, 'continued'))).toBe(false);
    const unfinished = join(root, 'unfinished');
    cpSync(model, unfinished, { recursive: true });
    writeFileSync(join(unfinished, 'optimizer.json'), '{}');
    expect((await refusal(['adv-train', '--from', unfinished, '--out', join(root, 'adv2'), '--quiet'])).message).toMatch(/unfinished is still training .*finish it with npm run workbench -- train --resume --out .*unfinished, then train from it/);
    expect(existsSync(join(root, 'adv2'))).toBe(false);
  });
});
