import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { encodeCifarBinary } from '../data/cifarBinary.js';
import { main } from './main.js';

const root = mkdtempSync(join(tmpdir(), 'cli-data-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('robustness data', () => {
  it('decodes both splits of a CIFAR-10 folder and prints their counts', async () => {
    const labels = Array.from({ length: 20 }, (_, i) => i % 10);
    const batch = encodeCifarBinary(new Uint8Array(20 * 3072), labels);
    for (const f of ['test_batch.bin', 'data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin']) writeFileSync(join(root, f), batch);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await main(['data', 'decode', '--dir', root])).toBe(0);
      const out = log.mock.calls.map((c) => String(c[0])).join('\n');
      expect(out).toMatch(/test: 20 images, 2\/2\/2\/2\/2\/2\/2\/2\/2\/2 per class/);
      expect(out).toMatch(/train: 100 images/);
    } finally {
      log.mockRestore();
    }
  });

  it('rejects unknown flags and commands with a pointer to help', async () => {
    await expect(main(['data', '--bogus'])).rejects.toThrow(/Unknown option '--bogus'.*robustness data --help/);
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main(['frobnicate'])).toBe(2);
      expect(String(err.mock.calls[0]?.[0])).toMatch(/unknown command 'frobnicate'. Known: .*\bdata\b/);
    } finally {
      err.mockRestore();
    }
  });
});
