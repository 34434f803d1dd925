import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface CacheLockOptions {
  /**
   * A lock whose file has not been touched for this long is taken to be abandoned (its holder
   * touches it every `staleMs / 6`). Covers holders on another machine sharing the cache.
   * @defaultValue 60_000
   */
  staleMs?: number;
  /** How often a waiter looks again. @defaultValue 200 */
  pollMs?: number;
  /** Called once when the lock is held by another live process, before waiting for it. */
  onWait?: (holder: LockHolder | undefined) => void;
}

/** What the lock file says about its holder. */
export interface LockHolder {
  pid: number;
  host: string;
  token: string;
  since: string;
}

function readHolder(path: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Abandoned: its holder on this machine is gone, or nobody has touched it for staleMs. */
function isStale(path: string, holder: LockHolder | undefined, staleMs: number): boolean {
  if (holder && holder.host === hostname() && !alive(holder.pid)) return true;
  try {
    return Date.now() - statSync(path).mtimeMs > staleMs;
  } catch {
    return false;
  }
}

/**
 * Runs `fn` while holding a lock file at `path`, so that processes sharing a cache folder (Vitest
 * workers, two terminals) do one piece of work once. The file is created exclusively (`wx`); a
 * holder killed with SIGKILL leaves it behind, and the next process takes it over once the
 * holder's pid is gone (same machine) or the file has gone unrefreshed for `staleMs`.
 */
export async function withCacheLock<T>(path: string, fn: () => Promise<T>, options: CacheLockOptions = {}): Promise<T> {
  const staleMs = options.staleMs ?? 60_000;
  const pollMs = options.pollMs ?? 200;
  const me: LockHolder = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex'), since: new Date().toISOString() };
  let told = false;
  for (;;) {
    try {
      writeFileSync(path, JSON.stringify(me), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readHolder(path);
    if (isStale(path, holder, staleMs)) {
      // Renaming first means only one of several waiters breaks the lock; the others' renames
      // find nothing and they go round again.
      const aside = `${path}.${me.token}.stale`;
      try {
        renameSync(path, aside);
        const moved = readHolder(aside);
        // In the instant between reading the holder and the rename, another waiter may have
        // broken that lock and made a fresh one; put a fresh one back rather than steal it.
        if (holder && moved && moved.token !== holder.token) {
          try {
            linkSync(aside, path);
          } catch {
            // Someone made yet another lock meanwhile: theirs stands.
          }
        }
        rmSync(aside, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      continue;
    }
    if (!told) {
      told = true;
      options.onWait?.(holder);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  const beat = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // Broken by someone who judged it stale: the work still places atomically.
    }
  }, Math.max(50, Math.floor(staleMs / 6)));
  beat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(beat);
    if (readHolder(path)?.token === me.token) rmSync(path, { force: true });
  }
}
