// CIFAR-10 fetched on first use: cifar10.test() / dataset() with no CIFAR10_DIR and an empty cache
// download the release once, from a server on 127.0.0.1 standing in for the authors' site.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standInArchive, standInMd5 } from '../test-support/cifarArchive.js';
import { cifar10, locateCifar10 } from './cifar10.js';
import { downloadCifar10 } from './download.js';
import { EMBEDDED_SAMPLE_CAVEAT } from './embeddedSample.js';

const root = mkdtempSync(join(tmpdir(), 'cifar-first-use-'));
const requests: Record<string, number> = {};
let release: () => void = () => {};
let held: Promise<void> = Promise.resolve();
const stalled: ServerResponse[] = [];
let base: string;
let server: Server;

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '';
    requests[path] = (requests[path] ?? 0) + 1;
    const half = standInArchive.length >> 1;
    if (path === '/cifar.tar.gz') {
      res.writeHead(200, { 'content-length': standInArchive.length }).end(standInArchive);
    } else if (path === '/held.tar.gz') {
      // Half now, the rest when the test says so: the download is certainly under way meanwhile.
      res.writeHead(200, { 'content-length': standInArchive.length });
      res.write(standInArchive.subarray(0, half));
      void held.then(() => res.end(standInArchive.subarray(half)));
    } else if (path === '/stall.tar.gz') {
      res.writeHead(200, { 'content-length': standInArchive.length });
      res.write(standInArchive.subarray(0, half));
      stalled.push(res);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  release();
  for (const res of stalled) res.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(root, { recursive: true, force: true });
});

/** Runs `body` with the environment of a fresh machine: no CIFAR10_DIR, this cache, this address. */
async function freshMachine<T>(env: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
  const keys = ['CIFAR10_DIR', 'ROBUSTNESS_OFFLINE', 'ROBUSTNESS_CACHE', 'ROBUSTNESS_CIFAR10_URL', 'ROBUSTNESS_CIFAR10_MD5', 'ROBUSTNESS_QUIET'];
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  for (const k of keys) delete process.env[k];
  process.env.ROBUSTNESS_QUIET = '1';
  Object.assign(process.env, env);
  try {
    return await body();
  } finally {
    for (const k of keys) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

// A second process, the way a Vitest worker is one: it asks for the test split and prints what it got.
const script = join(root, 'first-use.mts');
writeFileSync(
  script,
  `import { cifar10 } from ${JSON.stringify(fileURLToPath(new URL('./cifar10.ts', import.meta.url)))};
const ds = await cifar10.dataset('test');
console.log(JSON.stringify({ size: ds.size, source: ds.source, counts: ds.classCounts() }));
`,
);
function child(cache: string, url: string): { proc: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const env: NodeJS.ProcessEnv = { ...process.env, ROBUSTNESS_CACHE: cache, ROBUSTNESS_CIFAR10_URL: url, ROBUSTNESS_CIFAR10_MD5: standInMd5 };
  for (const k of ['CIFAR10_DIR', 'ROBUSTNESS_OFFLINE', 'ROBUSTNESS_QUIET']) delete env[k];
  const proc = spawn(process.execPath, ['--import', 'tsx', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, out: () => out, err: () => err, exit };
}
async function until(what: string, cond: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('CIFAR-10 on first use', () => {
  it('two processes at once download once: one fetches with a progress bar, the other waits, both read the whole folder', async () => {
    const cache = mkdtempSync(join(root, 'two-'));
    held = new Promise<void>((r) => (release = r));
    const url = `${base}/held.tar.gz`;
    const a = child(cache, url);
    const b = child(cache, url);
    try {
      // The one that got the lock is mid-download (held by the server) while the other says it waits.
      await until('a process waiting on the lock', () => /waiting for process \d+/.test(a.err() + b.err()));
      expect(existsSync(join(cache, 'cifar-10-batches-bin'))).toBe(false);
      release();
      expect(await a.exit).toBe(0);
      expect(await b.exit).toBe(0);
    } finally {
      a.proc.kill('SIGKILL');
      b.proc.kill('SIGKILL');
    }
    expect(requests['/held.tar.gz']).toBe(1);
    for (const p of [a, b]) expect(JSON.parse(p.out())).toEqual({ size: 3, source: 'CIFAR-10, official binary release', counts: [3, 0, 0, 0, 0, 0, 0, 0, 0, 0] });
    const downloader = /downloading CIFAR-10 +\[/.test(a.err()) ? a : b;
    const waiter = downloader === a ? b : a;
    expect(downloader.err()).toMatch(/downloading CIFAR-10 +\[#{24}\] 100% .* done in/);
    expect(waiter.err()).toMatch(/waiting for process \d+ on .*, which is downloading CIFAR-10 into/);
    expect(waiter.err()).not.toMatch(/downloading CIFAR-10 +\[/);
    expect(readdirSync(cache)).toEqual(['cifar-10-batches-bin']);
  });

  it('a process killed mid-download leaves nothing half-placed, and the next one takes over its lock', async () => {
    const cache = mkdtempSync(join(root, 'kill-'));
    const k = child(cache, `${base}/stall.tar.gz`);
    try {
      await until('half the archive on disk', () => readdirSync(cache).some((f) => f.startsWith('cifar-10-binary.tar.gz.') && statSync(join(cache, f)).size > 0));
    } finally {
      k.proc.kill('SIGKILL');
    }
    await k.exit;
    // What a kill leaves: its lock and its partial archive, but no dataset folder.
    expect(readdirSync(cache).sort()).toEqual([expect.stringMatching(/^cifar-10-batches-bin\.lock$/), expect.stringMatching(/^cifar-10-binary\.tar\.gz\.\d+\.[0-9a-f]+\.tmp$/)].sort());
    await freshMachine({ ROBUSTNESS_CACHE: cache, ROBUSTNESS_OFFLINE: '1' }, async () => {
      expect(() => locateCifar10()).toThrow(/CIFAR-10 not found/);
    });
    // The next run finds the holder dead, takes the lock, clears the leftovers and downloads.
    const dir = await downloadCifar10({ cache, url: `${base}/cifar.tar.gz`, md5: standInMd5, progress: false });
    expect(readdirSync(cache)).toEqual(['cifar-10-batches-bin']);
    expect(readdirSync(dir)).toContain('test_batch.bin');
  });

  it('in process: the first draw downloads into the cache, later draws read it without the network', async () => {
    const cache = mkdtempSync(join(root, 'once-'));
    const before = requests['/cifar.tar.gz'] ?? 0;
    await freshMachine({ ROBUSTNESS_CACHE: cache, ROBUSTNESS_CIFAR10_URL: `${base}/cifar.tar.gz`, ROBUSTNESS_CIFAR10_MD5: standInMd5 }, async () => {
      const s = await cifar10.test({ count: 3, seed: 1 });
      expect(s.source).toBe('CIFAR-10, official binary release');
      s.dispose();
      const train = await cifar10.dataset('train');
      expect(train.size).toBe(10);
    });
    expect((requests['/cifar.tar.gz'] ?? 0) - before).toBe(1);
    expect(readdirSync(cache)).toEqual(['cifar-10-batches-bin']);
  });

  it('refuses an archive whose MD5 is wrong: nothing lands in the cache, and the error says so', async () => {
    const cache = mkdtempSync(join(root, 'md5-'));
    await freshMachine({ ROBUSTNESS_CACHE: cache, ROBUSTNESS_CIFAR10_URL: `${base}/cifar.tar.gz`, ROBUSTNESS_CIFAR10_MD5: '0'.repeat(32) }, async () => {
      await expect(cifar10.test({ count: 500, seed: 1 })).rejects.toThrow(/first-use download failed: The archive from .* has MD5 [0-9a-f]{32}, expected 0{32}.*cannot serve 500 images/);
      // A draw the embedded sample can serve still runs, and says where its images came from.
      const s = await cifar10.test({ count: 10, seed: 1 });
      expect(s.source).toBe(EMBEDDED_SAMPLE_CAVEAT);
      s.dispose();
    });
    expect(readdirSync(cache)).toEqual([]);
  });

  it('ROBUSTNESS_OFFLINE=1 never touches the network', async () => {
    const cache = mkdtempSync(join(root, 'offline-'));
    const before = requests['/cifar.tar.gz'] ?? 0;
    await freshMachine({ ROBUSTNESS_CACHE: cache, ROBUSTNESS_OFFLINE: '1', ROBUSTNESS_CIFAR10_URL: `${base}/cifar.tar.gz`, ROBUSTNESS_CIFAR10_MD5: standInMd5 }, async () => {
      await expect(cifar10.dataset('test')).rejects.toThrow(/CIFAR-10 not found: no CIFAR10_DIR is set, and ROBUSTNESS_OFFLINE=1 forbids the download and nothing is in .*cannot serve the whole test split.*unset ROBUSTNESS_OFFLINE.*npx robustness data cifar10.*CIFAR10_DIR/);
    });
    expect(requests['/cifar.tar.gz'] ?? 0).toBe(before);
    expect(readdirSync(cache)).toEqual([]);
  });
});
