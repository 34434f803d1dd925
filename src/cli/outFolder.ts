import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { recoverModelDir } from '../models/io.js';
import { UsageError } from './args.js';

/**
 * Checks the --out folder of a training command against --resume, before anything is loaded:
 * a fresh run needs a new or empty folder (so a trained model, or anyone's files, are never
 * trained over), and --resume needs a run to resume. A half-done swap a kill left is put back
 * first. Returns whether there is a run to resume.
 */
export function checkOutFolder(command: string, out: string, resume: boolean): boolean {
  recoverModelDir(out);
  const started = existsSync(join(out, 'train-state.json'));
  if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`--out ${out} is a file; give a folder for the model.`);
  if (resume && !started) {
    throw new UsageError(`--resume: ${out} holds no training run to resume (no train-state.json). Drop --resume to start one there${existsSync(out) && readdirSync(out).length ? ', in a new or empty folder' : ''}.`);
  }
  if (!resume && existsSync(out) && readdirSync(out).length > 0) {
    throw new UsageError(
      started
        ? `--out ${out} already holds a training run; add --resume to continue it, or choose a new folder (a fresh run would replace that model).`
        : `--out ${out} already holds files (${readdirSync(out).slice(0, 5).join(', ')}); choose a new or empty folder for the model. Nothing was written.`,
    );
  }
  return started;
}

/**
 * The value a resumed run uses for a setting that decides its data: the card's, and a flag that
 * says otherwise is refused, since the later epochs would train on other images than the earlier
 * ones while the card still describes the first.
 */
export function sameAsCard<T>(command: string, flag: string, given: T | undefined, onCard: T, out: string, show: (v: T) => string = String): T {
  if (given !== undefined && JSON.stringify(given) !== JSON.stringify(onCard)) {
    throw new UsageError(`--${flag} ${show(given)} conflicts with the run in ${out}, which used ${show(onCard)}; a resumed run keeps its recipe. Drop --${flag}, or start a new run in another folder.`);
  }
  return onCard;
}
