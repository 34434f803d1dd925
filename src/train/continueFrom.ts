import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { ModelCard } from '../models/card.js';
import { replaceDirAtomic, trainingStatus } from '../models/io.js';
import type { EpochRecord } from './train.js';
import { readTrainState } from './trainState.js';

/** What a model continued from another records on its card: the source's name, epochs and clean accuracy. */
export type ContinuedFrom = NonNullable<ModelCard['training']['continuedFrom']>;

/**
 * Starts `out` as a copy of the finished model in `from` (its weights, history and training
 * state byte for byte, and its card naming the source), so that `train` with `resume: true`
 * and more `epochs` trains it further while `from` stays as it is. The new epochs follow the
 * schedule of the longer run: a cosine decay over 18 epochs continued from epoch 10 restarts at
 * the learning rate that run has at epoch 11. Adam's moments start fresh (a finished model keeps
 * none). Every check runs before anything is written; `out` appears whole or not at all.
 *
 * @returns the card written to `out`.
 * @example
 * continueFrom('fixtures/models/resnet20-base', 'models/resnet20-base-e18', 18);
 * await train(await loadModel('models/resnet20-base-e18'), data, { epochs: 18, out: 'models/resnet20-base-e18', resume: true });
 */
export function continueFrom(from: string, out: string, epochs: number): ModelCard {
  const { card, state, statePath } = checkContinueFrom(from, out, epochs);
  const { cleanAccuracy, weights: _weights, ...rest } = card;
  const copy: ModelCard = {
    ...rest,
    name: basename(resolve(out)),
    training: { ...card.training, continuedFrom: { model: card.name, epochs: state.epochsDone, cleanAccuracy } },
    createdAt: new Date().toISOString(),
  };
  const files: Record<string, string | Uint8Array> = { 'card.json': `${JSON.stringify(copy, null, 2)}\n`, 'train-state.json': readFileSync(statePath, 'utf8') };
  for (const f of ['model.json', 'weights.bin', 'history.json']) if (existsSync(join(from, f))) files[f] = readFileSync(join(from, f));
  replaceDirAtomic(out, files);
  return copy;
}

/** The checks {@link continueFrom} makes before it writes anything; throws what is wrong and how to fix it. */
export function checkContinueFrom(from: string, out: string, epochs: number): { card: ModelCard; state: { epochsDone: number; seconds: number; history: EpochRecord[] }; statePath: string } {
  if (resolve(from) === resolve(out)) throw new Error(`--from and --out are the same folder (${from}); to train a model further in place, use --resume with more --epochs.`);
  const status = trainingStatus(from);
  const card = status.card;
  if (!existsSync(join(from, 'model.json')) || !card) throw new Error(`${from} is not a trained model folder (model.json and card.json, as train() writes them).`);
  if (!status.finished) throw new Error(`${from} ${status.why}: finish it first (train() into that folder again with resume: true), then continue from it.`);
  const statePath = join(from, 'train-state.json');
  if (!existsSync(statePath)) throw new Error(`${from} has no train-state.json, so its epochs cannot be continued (it was not made by train(), or by an older version).`);
  const state = readTrainState(from);
  if (!Number.isInteger(epochs) || epochs <= state.epochsDone) {
    throw new Error(`--epochs ${epochs} is not more than the ${state.epochsDone} epochs ${card.name} has trained; ask for the total you want, e.g. --epochs ${state.epochsDone * 2}.`);
  }
  if (existsSync(out) && readdirSync(out).length > 0) {
    throw new Error(`${out} already holds files. To go on with a continuation that was interrupted, add --resume; otherwise choose a new folder.`);
  }
  return { card, state, statePath };
}
