import { existsSync } from 'node:fs';
import { join } from 'node:path';
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
