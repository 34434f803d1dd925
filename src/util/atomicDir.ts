import { cpSync, existsSync, fsyncSync, mkdirSync, openSync, closeSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { processAlive, staleTemps, tempPathFor, writeFileDurable } from './atomic.js';

/*
 * Node has no atomic exchange of two folders (Linux's renameat2 RENAME_EXCHANGE is not exposed),
 * so replacing a folder takes two renames: the old folder aside to `<dir>.<pid>.<hex>.old`, then
 * the complete new one in. A kill between them leaves no `<dir>`, but the old folder is whole
 * under its .old name, and every later start (a write, a load, a card read) puts it back before
 * doing anything else: see recoverDir. The new folder is complete before the first rename, so
 * the folder is always one version or the other, never a mix.
 */

export interface ReplaceDirOptions {
  /**
   * An entry that marks a folder as one of ours (model.json for a model folder). A folder that
   * exists, holds anything, and lacks it is refused: a mistyped path (`--out .`, a project, a
   * photo folder) must never be swapped away.
   */
  marker: string;
  /** How the refusal names what the folder should be, e.g. 'a model folder (model.json)'. */
  what: string;
  /**
   * Entries of the old folder not to carry into the new one (files this writer retires, such as
   * an optimizer state). Every other entry the new files do not replace is copied over as it is,
   * subfolders included.
   */
  drop?: readonly string[];
  /** Which writers count as running; tests pass their own to stand in for a killed process. */
  alive?: (pid: number) => boolean;
}

/** fsync a folder, so the renames inside it survive a power cut, not only a kill. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse to open or sync a folder; the renames are still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Finishes or undoes a replacement of `dir` that a killed process left half done: when `dir` is
 * missing and an old copy was moved aside, it goes back (the newest, should there be several);
 * then every temp folder and old copy of a process that is gone is removed. Leftovers of a live
 * process are left alone (it may be in the middle of its own replacement).
 *
 * @returns true when it put a moved-aside folder back.
 */
export function recoverDir(dir: string, alive: (pid: number) => boolean = processAlive): boolean {
  const target = resolve(dir);
  const stale = staleTemps(target, alive);
  let restored = false;
  if (!existsSync(target)) {
    const olds = stale.filter((t) => t.kind === 'old').sort((a, b) => statSync(b.path).mtimeMs - statSync(a.path).mtimeMs);
    if (olds.length) {
      renameSync(olds[0]!.path, target);
      syncDir(dirname(target));
      restored = true;
    }
  }
  for (const t of stale) rmSync(t.path, { recursive: true, force: true });
  return restored;
}

/** Throws unless `target` is absent, empty, or holds `marker`. */
export function checkReplaceable(target: string, marker: string, what: string): void {
  if (!existsSync(target)) return;
  if (!statSync(target).isDirectory()) throw new Error(`${target} is a file, not ${what}. Choose a folder path.`);
  const entries = readdirSync(target);
  if (entries.length > 0 && !entries.includes(marker)) {
    const shown = entries.slice(0, 5).join(', ') + (entries.length > 5 ? `, … (${entries.length} entries)` : '');
    throw new Error(`${target} holds other files (${shown}) and is not ${what}; nothing was written, so as not to replace them. Choose an empty or new folder.`);
  }
}

/** One step of a folder replacement (see {@link replaceDirSteps}). */
export interface ReplaceStep {
  name: string;
  run(): void;
}

/**
 * The steps that replace `dir` with a folder holding `files` (and the old folder's other
 * entries), in order, and the two temp paths they use. {@link replaceDir} runs them; they are
 * separate so that a test can stop after any one, as a kill would, and check that
 * {@link recoverDir} leaves a whole folder.
 */
export function replaceDirSteps(dir: string, files: Record<string, string | Uint8Array>, options: Pick<ReplaceDirOptions, 'drop'> = {}): { steps: ReplaceStep[]; staging: string; old: string } {
  const target = resolve(dir);
  const staging = tempPathFor(target);
  const old = tempPathFor(target, 'old');
  const drop = new Set(options.drop ?? []);
  const steps: ReplaceStep[] = [
    {
      name: 'write the new files into a temp folder',
      run: () => {
        mkdirSync(dirname(target), { recursive: true });
        mkdirSync(staging);
        for (const [name, data] of Object.entries(files)) writeFileDurable(join(staging, name), data);
      },
    },
    {
      name: "copy the old folder's other entries into it",
      run: () => {
        if (existsSync(target)) {
          for (const name of readdirSync(target)) {
            if (Object.hasOwn(files, name) || drop.has(name)) continue;
            cpSync(join(target, name), join(staging, name), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
          }
        }
        syncDir(staging);
      },
    },
    { name: 'move the old folder aside', run: () => void (existsSync(target) && renameSync(target, old)) },
    {
      name: 'move the new folder in',
      run: () => {
        renameSync(staging, target);
        syncDir(dirname(target));
      },
    },
    { name: 'remove the old folder', run: () => rmSync(old, { recursive: true, force: true }) },
  ];
  return { steps, staging, old };
}

/**
 * Replaces folder `dir` with one holding `files`, whole: readers see the old folder or the new
 * one, never a mix, and a kill at any point leaves one of them (put back by the next start, see
 * {@link recoverDir}). Entries of the old folder that `files` does not name are kept (copied),
 * except those in `options.drop`. A non-empty folder without `options.marker` is refused.
 */
export function replaceDir(dir: string, files: Record<string, string | Uint8Array>, options: ReplaceDirOptions): void {
  const target = resolve(dir);
  recoverDir(target, options.alive);
  checkReplaceable(target, options.marker, options.what);
  const { steps, staging, old } = replaceDirSteps(target, files, options);
  try {
    for (const step of steps) step.run();
  } catch (err) {
    // A failed write (disk full, permissions) undoes itself: the old folder back, the temp gone.
    if (!existsSync(target) && existsSync(old)) renameSync(old, target);
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}
