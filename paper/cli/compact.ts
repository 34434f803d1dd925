import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { cifar10Dataset, evaluate, initBackend, loadModel, parseFlags, readCard, replaceDirAtomic, saveModel, trainingStatus, UsageError } from 'vitest-robustness';

export const usage = `usage: npm run workbench -- compact --model DIR [--data cifar10]

Stores a finished model's weights as float16: weights.bin halves, and the model still loads with
tfjs anywhere (its own weight decoder reads them). The clean test accuracy is measured again on the
stored weights and written to card.json, with the float32 figure kept beside it
(weights.float32CleanAccuracy). The folder is replaced whole, so an interrupted run leaves the
model as it was. Specs that measured the model before must be run again.

  --model DIR   a model folder written by npm run workbench -- train or adv-train (with card.json)
  --data cifar10  the test split to measure on (CIFAR10_DIR or the download cache)`;

export async function run(args: string[]): Promise<number> {
  const v = parseFlags('npm run workbench -- compact', { args, options: { model: { type: 'string' }, data: { type: 'string' } } }).values;
  if (!v.model) throw new UsageError('--model is required: the folder of the model to compact. See `npm run workbench -- compact --help`.');
  if ((v.data ?? 'cifar10') !== 'cifar10') throw new UsageError(`--data ${v.data} is not supported; use cifar10 (CIFAR10_DIR points at your copy).`);
  const dir = v.model;
  const status = trainingStatus(dir);
  const card = status.card;
  if (!card) throw new Error(`${resolve(dir)} has no card.json: compact works on models written by \`npm run workbench -- train\` or \`adv-train\`.`);
  if (!status.finished) throw new Error(`${card.name} ${status.why}; finish it with \`npm run workbench -- train --resume --out ${dir}\` before compacting.`);
  if (card.weights?.dtype === 'float16') throw new Error(`${card.name} already stores float16 weights; nothing to do.`);

  await initBackend();
  const test = cifar10Dataset('test');
  const model = await loadModel(dir);
  const staging = mkdtempSync(join(tmpdir(), 'compact-'));
  try {
    await saveModel(model, staging, undefined, {}, { weights: 'float16' });
    const half = await loadModel(staging);
    let accuracy: number;
    try {
      accuracy = (await evaluate(half, test)).accuracy;
    } finally {
      half.dispose();
    }
    // The training files are written again as they are; anything else in the folder (a user's
    // notes and subfolders) is carried over by replaceDirAtomic.
    const kept = Object.fromEntries(
      readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isFile() && !['model.json', 'weights.bin', 'card.json'].includes(e.name))
        .map((e) => [e.name, readFileSync(join(dir, e.name))]),
    );
    const before = statSync(join(dir, 'weights.bin')).size;
    const updated = {
      ...card,
      cleanAccuracy: { value: accuracy, n: test.size },
      weights: { dtype: 'float16' as const, ...(card.cleanAccuracy ? { float32CleanAccuracy: card.cleanAccuracy } : {}) },
    };
    replaceDirAtomic(dir, {
      ...kept,
      'model.json': readFileSync(join(staging, 'model.json')),
      'weights.bin': readFileSync(join(staging, 'weights.bin')),
      'card.json': `${JSON.stringify(updated, null, 2)}\n`,
    });
    const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
    console.log(
      `${basename(resolve(dir))}: weights.bin ${before} -> ${statSync(join(dir, 'weights.bin')).size} bytes (float16); clean test accuracy ${card.cleanAccuracy ? `${pct(card.cleanAccuracy.value)} -> ` : ''}${pct(accuracy)} on ${test.size} images`,
    );
    return 0;
  } finally {
    rmSync(staging, { recursive: true, force: true });
    model.dispose();
  }
}
