import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { standInArchive, standInMd5, standInMembers } from '../test-support/cifarArchive.js';
import { readCifarBinary } from './cifarBinary.js';
import { downloadCifar10 } from './download.js';
import { readTar, writeTar } from './tar.js';

const members = standInMembers;
const archive = standInArchive;
const md5 = standInMd5;

let server: Server;
let base: string;
const root = mkdtempSync(join(tmpdir(), 'cifar-dl-'));

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/cifar.tar.gz') {
      res.writeHead(200, { 'content-length': archive.length });
      res.end(archive);
    } else if (req.url === '/cut.tar.gz') {
      res.writeHead(200, { 'content-length': archive.length });
      res.write(archive.subarray(0, 100), () => res.destroy());
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(root, { recursive: true, force: true });
});

describe('CIFAR-10 downloader', () => {
  it('downloads, checks the MD5, unpacks the batches and publishes the folder', async () => {
    const cache = mkdtempSync(join(root, 'ok-'));
    const dir = await downloadCifar10({ cache, url: `${base}/cifar.tar.gz`, md5, progress: false });
    expect(dir).toBe(join(cache, 'cifar-10-batches-bin'));
    expect(readdirSync(dir).sort()).toEqual(['batches.meta.txt', 'data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']);
    expect(readCifarBinary(dir, 'train').size).toBe(10);
    expect(readdirSync(cache)).toEqual(['cifar-10-batches-bin']);
    // Present already: no second download (an unreachable URL would otherwise fail).
    await expect(downloadCifar10({ cache, url: `${base}/missing`, progress: false })).resolves.toBe(dir);
  });

  it('rejects a wrong checksum and leaves nothing that looks complete', async () => {
    const cache = mkdtempSync(join(root, 'md5-'));
    await expect(downloadCifar10({ cache, url: `${base}/cifar.tar.gz`, md5: '0'.repeat(32), progress: false })).rejects.toThrow(/MD5 [0-9a-f]{32}, expected 0{32}.*--force/);
    expect(readdirSync(cache)).toEqual([]);
  });

  it('rejects a cut-off download and an HTTP error, cleaning up', async () => {
    const cache = mkdtempSync(join(root, 'cut-'));
    await expect(downloadCifar10({ cache, url: `${base}/cut.tar.gz`, md5, progress: false })).rejects.toThrow(/broke off after 100 of \d+ bytes/);
    await expect(downloadCifar10({ cache, url: `${base}/nope`, progress: false })).rejects.toThrow(/HTTP 404/);
    expect(existsSync(join(cache, 'cifar-10-batches-bin'))).toBe(false);
    expect(readdirSync(cache)).toEqual([]);
  });
});

describe('tar reader', () => {
  it('round-trips members and detects a damaged header', () => {
    const tar = writeTar(members);
    expect(readTar(tar).map((e) => e.name)).toEqual(members.map((m) => m.name));
    const bad = Uint8Array.from(tar);
    bad[10] ^= 0xff;
    expect(() => readTar(bad, 'x.tar')).toThrow(/x\.tar is corrupt: tar header at byte 0/);
    expect(() => readTar(tar.subarray(0, 700), 'x.tar')).toThrow(/truncated/);
  });
});
