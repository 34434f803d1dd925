import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { CIFAR10_CLASSES } from '../data/classes.js';
import { describe, expect, it, vi } from 'vitest';
import { main } from './main.js';

describe('robustness eval: argument checks', () => {
  it('refuses a bad budget list or --version before loading anything', async () => {
    await expect(main(['eval', '--model', 'x', '--eps', '2/255,2'])).rejects.toThrow(/--eps must be a number in \(0, 1\].*got '2'/);
    await expect(main(['eval', '--model', 'x', '--eps', '2/255,x'])).rejects.toThrow(/--eps must be .*got 'x'/);
    await expect(main(['eval', '--model', 'x', '--attack', 'pgd', '--version', 'cheap'])).rejects.toThrow(/--version applies to --attack autoattack only/);
    await expect(main(['eval', '--model', 'x', '--attack', 'autoattack', '--version', 'plus'])).rejects.toThrow(/'standard' or 'cheap'/);
  });
});

describe('robustness eval', () => {
  it('checks its arguments before loading anything', async () => {
    await expect(main(['eval'])).rejects.toThrow(/--model is required/);
    await expect(main(['eval', '--model', 'x', '--eps', '2'])).rejects.toThrow(/--eps must be a number in \(0, 1\]/);
    await expect(main(['eval', '--model', 'x', '--attack', 'bim'])).rejects.toThrow(/Unknown attack "bim"/);
    await expect(main(['eval', '--model', '/nonexistent/model'])).rejects.toThrow(/model.json is missing/);
  });
});

describe('robustness eval: --n', () => {
  it('above the test images there are names the flag', async () => {
    // 2 test images per class: 20 in all.
    const data = mkdtempSync(join(tmpdir(), 'eval-n-'));
    const saved = process.env.CIFAR10_DIR;
    try {
      CIFAR10_CLASSES.forEach((name, c) => {
        mkdirSync(join(data, 'test', name), { recursive: true });
        for (let k = 0; k < 2; k++) {
          const png = new PNG({ width: 32, height: 32 });
          png.data.fill(c * 20 + k);
          writeFileSync(join(data, 'test', name, `${k}.png`), PNG.sync.write(png));
        }
      });
      process.env.CIFAR10_DIR = data;
      const err = await main(['eval', '--model', 'fixtures/models/cnn1-act0', '--n', '21', '--attack', 'fgsm']).then(
        () => expect.unreachable('eval --n 21 ran'),
        (e: Error & { exitCode?: number }) => e,
      );
      expect(err.message).toMatch(/^--n 21: Asked for 21 images but the chosen classes hold only 20; lower --n/);
      expect(err.exitCode).toBe(2);
    } finally {
      if (saved === undefined) delete process.env.CIFAR10_DIR;
      else process.env.CIFAR10_DIR = saved;
      rmSync(data, { recursive: true, force: true });
    }
  });
});

const shared = process.env.CIFAR10_DIR;
describe.runIf(shared && existsSync(join(shared, 'test')))('robustness eval on the fixture ResNet-20', () => {
  it('prints one row per budget of a k/255 list, and for autoattack which attack broke how many', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      expect(await main(['eval', '--model', 'fixtures/models/resnet20-base', '--attack', 'autoattack', '--version', 'cheap', '--eps', '8/255,16/255', '--n', '10'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const text = lines.join('\n');
    expect(text).toMatch(/^resnet20-base: autoattack \(.*version cheap.*\), n=10 \(CIFAR-10/m);
    expect(text).toMatch(/^\| accuracy \| value \| 95% CI \| broken by \|$/m);
    const row = (label: string) => new RegExp(`^\\| ${label} \\| ([\\d.]+)% \\| [\\d.]+–[\\d.]+% \\|(.*)\\|$`, 'm').exec(text);
    const clean = row('clean');
    const small = row('eps 8/255 \\(0.03137\\)');
    const large = row('eps 16/255 \\(0.06275\\)');
    expect(clean && small && large).toBeTruthy();
    expect(Number(small![1])).toBeLessThanOrEqual(Number(clean![1]));
    expect(small![2]).toMatch(/apgd-ce \d+ of \d+/);
    // Quiet on the fixture: no evaluation flag (they would be listed below the table).
    expect(text).not.toMatch(/evaluation flags/);
  });
});
