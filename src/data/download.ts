import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { tempPathFor } from '../util/atomic.js';
import { cacheDir } from './cacheDir.js';
import { withCacheLock } from './cacheLock.js';
import { CIFAR_TEST_FILES, CIFAR_TRAIN_FILES, readCifarBinary } from './cifarBinary.js';
import { createProgress } from '../util/progress.js';
import { readTar } from './tar.js';

/** The dataset authors' binary release, and its published MD5. */
export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';

export interface DownloadOptions {
  /** Cache folder. @defaultValue {@link cacheDir}() */
  cache?: string;
  /** @defaultValue `ROBUSTNESS_CIFAR10_URL` (a mirror), else {@link CIFAR10_URL} */
  url?: string;
  /** Expected MD5 of the archive. @defaultValue `ROBUSTNESS_CIFAR10_MD5`, else {@link CIFAR10_MD5} */
  md5?: string;
  /** Give up when the server sends nothing for this long. @defaultValue 60_000 */
  idleMs?: number;
  /** Download again even when the batches are already there. @defaultValue false */
  force?: boolean;
  /** Show a progress bar on stderr. @defaultValue true */
  progress?: boolean;
}

const ARCHIVE = 'cifar-10-binary.tar.gz';
const FOLDER = 'cifar-10-batches-bin';

/** The archive's address and checksum: the options, else the environment (a mirror), else the authors' site. */
export function cifar10Remote(options: Pick<DownloadOptions, 'url' | 'md5'> = {}, env: NodeJS.ProcessEnv = process.env): { url: string; md5: string } {
  return { url: options.url ?? (env.ROBUSTNESS_CIFAR10_URL || CIFAR10_URL), md5: (options.md5 ?? (env.ROBUSTNESS_CIFAR10_MD5 || CIFAR10_MD5)).toLowerCase() };
}

/**
 * Downloads the CIFAR-10 binary release into `<cache>/cifar-10-batches-bin` and returns that
 * folder. The archive streams to a temp file, its MD5 is checked, and the batches are unpacked
 * into a temp folder that is renamed into place only when complete: a killed download leaves
 * nothing that looks like a dataset. A lock file in the cache makes processes that start at once
 * (Vitest workers) download once: the others wait for it and then read the finished folder.
 */
export async function downloadCifar10(options: DownloadOptions = {}): Promise<string> {
  const cache = options.cache ?? cacheDir();
  const target = join(cache, FOLDER);
  if (existsSync(target) && !options.force) return target;
  mkdirSync(cache, { recursive: true });
  return withCacheLock(
    join(cache, `${FOLDER}.lock`),
    async () => {
      // Whoever held the lock before us may have finished the job.
      if (existsSync(target) && !options.force) return target;
      removeLeftovers(cache);
      return fetchAndPlace(cache, options);
    },
    {
      onWait: (holder) => {
        if (options.progress !== false && !process.env.ROBUSTNESS_QUIET) {
          process.stderr.write(`[vitest-robustness] waiting for ${holder ? `process ${holder.pid} on ${holder.host}` : 'another process'}, which is downloading CIFAR-10 into ${cache}\n`);
        }
      },
    },
  );
}

/** Temp files of a download that was killed; only called under the lock, so none is live. */
function removeLeftovers(cache: string): void {
  for (const name of readdirSync(cache)) {
    if ((name.startsWith(`${ARCHIVE}.`) || name.startsWith(`${FOLDER}.`)) && name.endsWith('.tmp')) rmSync(join(cache, name), { recursive: true, force: true });
  }
}

async function fetchAndPlace(cache: string, options: DownloadOptions): Promise<string> {
  const { url, md5 } = cifar10Remote(options);
  const target = join(cache, FOLDER);
  const archive = tempPathFor(join(cache, ARCHIVE));
  const staging = tempPathFor(target);
  const idleMs = options.idleMs ?? 60_000;
  const abort = new AbortController();
  let idle = setTimeout(() => abort.abort(new Error(`no response for ${idleMs / 1000} s`)), idleMs);
  const stillAlive = () => {
    clearTimeout(idle);
    idle = setTimeout(() => abort.abort(new Error(`no data for ${idleMs / 1000} s`)), idleMs);
  };
  try {
    let res: Response;
    try {
      res = await fetch(url, { signal: abort.signal });
    } catch (err) {
      const why = abort.signal.aborted ? (abort.signal.reason as Error).message : String((err as Error).cause ?? (err as Error).message);
      throw new Error(`Cannot reach ${url} (${why}). Check the network, or download it by hand and point CIFAR10_DIR at the unpacked cifar-10-batches-bin folder.`);
    }
    if (!res.ok || !res.body) throw new Error(`Downloading ${url} failed: HTTP ${res.status} ${res.statusText}.`);
    stillAlive();
    const total = Number(res.headers.get('content-length')) || undefined;
    const progress = options.progress === false ? undefined : createProgress({ label: 'downloading CIFAR-10', total, unit: 'bytes' });
    const hash = createHash('md5');
    const out = createWriteStream(archive);
    let received = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        stillAlive();
        hash.update(chunk);
        received += chunk.length;
        progress?.update(received);
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
    } catch (err) {
      const why = abort.signal.aborted ? (abort.signal.reason as Error).message : (err as Error).message;
      throw new Error(`The download of ${url} broke off after ${received}${total ? ` of ${total}` : ''} bytes (${why}). Run \`npx robustness data cifar10\` again.`);
    } finally {
      clearTimeout(idle);
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    }
    progress?.done();
    const got = hash.digest('hex');
    if (got !== md5) {
      throw new Error(`The archive from ${url} has MD5 ${got}, expected ${md5}: the download is damaged or not CIFAR-10. Run \`npx robustness data cifar10 --force\` to try again.`);
    }

    const entries = readTar(gunzipSync(readFileSync(archive)), url);
    mkdirSync(staging, { recursive: true });
    const wanted = new Set<string>([...CIFAR_TRAIN_FILES, ...CIFAR_TEST_FILES, 'batches.meta.txt']);
    for (const e of entries) {
      const base = e.name.split('/').pop()!;
      if (wanted.has(base)) {
        writeFileSync(join(staging, base), e.data);
        wanted.delete(base);
      }
    }
    wanted.delete('batches.meta.txt');
    if (wanted.size) throw new Error(`The archive from ${url} lacks ${[...wanted].join(', ')}; it is not the CIFAR-10 binary release.`);
    // Both splits must parse before the folder is published.
    readCifarBinary(staging, 'test');
    readCifarBinary(staging, 'train');
    // A forced download swaps the folders by renames, so a reader never finds it half-deleted.
    const old = existsSync(target) ? tempPathFor(target) : undefined;
    if (old) renameSync(target, old);
    renameSync(staging, target);
    if (old) rmSync(old, { recursive: true, force: true });
    return target;
  } finally {
    clearTimeout(idle);
    rmSync(archive, { force: true });
    rmSync(staging, { recursive: true, force: true });
  }
}
