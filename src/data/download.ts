import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { tempPathFor } from './atomic.js';
import { cacheDir } from './cacheDir.js';
import { CIFAR_TEST_FILES, CIFAR_TRAIN_FILES, readCifarBinary } from './cifarBinary.js';
import { createProgress } from './progress.js';
import { readTar } from './tar.js';

/** The dataset authors' binary release, and its published MD5. */
export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';

export interface DownloadOptions {
  /** Cache folder. @defaultValue {@link cacheDir}() */
  cache?: string;
  /** @defaultValue {@link CIFAR10_URL} */
  url?: string;
  /** Expected MD5 of the archive. @defaultValue {@link CIFAR10_MD5} */
  md5?: string;
  /** Download again even when the batches are already there. @defaultValue false */
  force?: boolean;
  /** Show a progress bar on stderr. @defaultValue true */
  progress?: boolean;
}

/**
 * Downloads the CIFAR-10 binary release into `<cache>/cifar-10-batches-bin` and returns that
 * folder. The archive streams to a temp file, its MD5 is checked, and the batches are unpacked
 * into a temp folder that is renamed into place only when complete: a killed download leaves
 * nothing that looks like a dataset.
 */
export async function downloadCifar10(options: DownloadOptions = {}): Promise<string> {
  const cache = options.cache ?? cacheDir();
  const url = options.url ?? CIFAR10_URL;
  const md5 = options.md5 ?? CIFAR10_MD5;
  const target = join(cache, 'cifar-10-batches-bin');
  if (existsSync(target) && !options.force) return target;
  mkdirSync(cache, { recursive: true });

  const archive = tempPathFor(join(cache, 'cifar-10-binary.tar.gz'));
  const staging = tempPathFor(target);
  try {
    let res: Response;
    try {
      res = await fetch(url);
    } catch (err) {
      throw new Error(`Cannot reach ${url} (${(err as Error).cause ?? (err as Error).message}). Check the network, or download it by hand and point CIFAR10_DIR at the unpacked cifar-10-batches-bin folder.`);
    }
    if (!res.ok || !res.body) throw new Error(`Downloading ${url} failed: HTTP ${res.status} ${res.statusText}.`);
    const total = Number(res.headers.get('content-length')) || undefined;
    const progress = options.progress === false ? undefined : createProgress({ label: 'downloading CIFAR-10', total, unit: 'bytes' });
    const hash = createHash('md5');
    const out = createWriteStream(archive);
    let received = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        received += chunk.length;
        progress?.update(received);
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
    } catch (err) {
      throw new Error(`The download of ${url} broke off after ${received}${total ? ` of ${total}` : ''} bytes (${(err as Error).message}). Run \`npx robustness data cifar10\` again.`);
    } finally {
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
    if (existsSync(target)) rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    return target;
  } finally {
    rmSync(archive, { force: true });
    rmSync(staging, { recursive: true, force: true });
  }
}
