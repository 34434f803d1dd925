import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/*
 * Temp names carry the writer's process id: `<path>.<pid>.<8 hex>.tmp` (a file or folder being
 * written) and `<path>.<pid>.<8 hex>.old` (a model folder swapped out, see atomicDir.ts). A kill
 * leaves them behind; the next write of the same path removes those whose process is gone.
 * Those of a live process (this one included: Vitest's threads share its id) are never touched.
 */

/** A sibling temp path: same folder, so the final rename is atomic on one filesystem. */
export function tempPathFor(path: string, kind: 'tmp' | 'old' = 'tmp'): string {
  return `${path}.${process.pid}.${randomBytes(4).toString('hex')}.${kind}`;
}

/** True while a process with this id exists (EPERM: it exists but belongs to another user). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface TempEntry {
  path: string;
  pid: number;
  kind: 'tmp' | 'old';
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The temp siblings of `path` (see {@link tempPathFor}) whose writer is no longer running. */
export function staleTemps(path: string, alive: (pid: number) => boolean = processAlive): TempEntry[] {
  const dir = dirname(path);
  if (!existsSync(dir)) return [];
  const pattern = new RegExp(`^${escape(basename(path))}\\.(\\d+)\\.[0-9a-f]{8}\\.(tmp|old)$`);
  const out: TempEntry[] = [];
  for (const name of readdirSync(dir)) {
    const m = pattern.exec(name);
    if (m && !alive(Number(m[1]))) out.push({ path: join(dir, name), pid: Number(m[1]), kind: m[2] as 'tmp' | 'old' });
  }
  return out;
}

/** Removes the temp files and folders a killed writer of `path` left beside it. */
export function removeStaleTemps(path: string, alive?: (pid: number) => boolean): void {
  for (const t of staleTemps(path, alive)) rmSync(t.path, { recursive: true, force: true });
}

/**
 * Removes every `.tmp` a killed writer left in `dir`, whatever it was writing: a snapshot that
 * matched is never written again, so its temp would otherwise stay for good. `.old` folders are
 * left alone: one may be the only copy of a model a kill left moved aside (see atomicDir.ts).
 */
export function sweepStaleTemps(dir: string, alive: (pid: number) => boolean = processAlive): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const m = /\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name);
    if (m && !alive(Number(m[1]))) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/** Writes a file and flushes it to the disk, so a rename that publishes it never publishes a hole. */
export function writeFileDurable(path: string, data: string | Uint8Array | readonly Uint8Array[]): void {
  const fd = openSync(path, 'w');
  try {
    const parts = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
    for (const part of parts) {
      for (let off = 0; off < part.length; ) off += writeSync(fd, part, off, part.length - off);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a file so that readers see either the old content or the whole new content, never a
 * half-written file: write beside it, then rename over it. Temp files killed earlier writers left
 * in the same folder are removed first.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[]): void {
  mkdirSync(dirname(path), { recursive: true });
  sweepStaleTemps(dirname(path));
  const tmp = tempPathFor(path);
  try {
    writeFileDurable(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
