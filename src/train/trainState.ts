import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EpochRecord } from './train.js';

/** What train-state.json holds: where a resume starts. */
export interface TrainState {
  epochsDone: number;
  seconds: number;
  history: EpochRecord[];
}

/**
 * Reads and checks `<dir>/train-state.json`. A damaged one must stop a resume with the file's
 * name, not restart the count or crash on a missing field halfway into setting up.
 */
export function readTrainState(dir: string): TrainState {
  const path = join(dir, 'train-state.json');
  const fix = 'Restore it (it is rewritten with every checkpoint), or start the run again in a new folder.';
  let state: unknown;
  try {
    state = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is not valid JSON (${(err as Error).message}). ${fix}`);
  }
  const s = state as Partial<TrainState> | null;
  const problem =
    !s || typeof s !== 'object' || Array.isArray(s)
      ? 'it is not an object'
      : !Number.isInteger(s.epochsDone) || s.epochsDone! < 0
        ? `epochsDone is ${JSON.stringify(s.epochsDone)}, not a whole number`
        : typeof s.seconds !== 'number' || !(s.seconds >= 0)
          ? `seconds is ${JSON.stringify(s.seconds)}, not a number of seconds`
          : !Array.isArray(s.history) || !s.history.every((h) => h && typeof h === 'object' && Number.isInteger(h.epoch))
            ? 'history is not a list of epoch records'
            : s.history.length !== s.epochsDone && s.history.at(-1)?.epoch !== s.epochsDone
              ? `it says ${s.epochsDone} epochs are done but its history ends at epoch ${s.history.at(-1)?.epoch ?? 0}`
              : undefined;
  if (problem) throw new Error(`${path} is damaged: ${problem}. ${fix}`);
  return s as TrainState;
}
