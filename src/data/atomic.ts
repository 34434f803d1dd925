import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** A sibling temp path: same folder, so the final rename is atomic on one filesystem. */
export function tempPathFor(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/**
 * Writes a file so that readers see either the old content or the whole new content, never a
 * half-written file: write beside it, then rename over it.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) writeFileSync(tmp, data);
    else writeFileSync(tmp, Buffer.concat(data as Uint8Array[]));
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
