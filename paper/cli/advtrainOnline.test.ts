import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../cli.js';

const root = mkdtempSync(join(tmpdir(), 'otf-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('workbench adv-train --method fgsm-rs|pgd', () => {
  it('checks its arguments before loading any data', async () => {
    const from = 'fixtures/models/resnet20-base';
    const out = join(root, 'm');
    const run = (...extra: string[]) => main(['adv-train', '--from', from, '--out', out, ...extra]);
    await expect(run('--method', 'free')).rejects.toThrow(/--method must be paper, fgsm-rs or pgd; got 'free'/);
    await expect(main(['adv-train', '--method', 'pgd', '--out', out])).rejects.toThrow(/--from is required/);
    await expect(main(['adv-train', '--method=pgd', '--from', from])).rejects.toThrow(/--out is required/);
    await expect(run('--method', 'fgsm-rs', '--steps', '3')).rejects.toThrow(/--steps applies to --method pgd/);
    await expect(run('--method', 'pgd', '--eps', '8/0')).rejects.toThrow(/--eps must be/);
    await expect(run('--method', 'pgd', '--eps', '2')).rejects.toThrow(/--eps must be/);
    await expect(run('--method', 'pgd', '--clean-fraction', '1')).rejects.toThrow(/--clean-fraction 1 trains on clean images only/);
    await expect(run('--method', 'pgd', '--optimizer', 'rmsprop')).rejects.toThrow(/--optimizer must be adam or sgd/);
    await expect(run('--method', 'pgd', '--count', '10')).rejects.toThrow(/count/);
    await expect(main(['adv-train', '--method', 'pgd', '--from', '/nonexistent/m', '--out', out])).rejects.toThrow(/holds no card.json/);
    // A folder that holds files is never trained over, and --resume needs a run.
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    await expect(run('--method', 'fgsm-rs')).rejects.toThrow(/already holds files \(notes.txt\)/);
    await expect(run('--method', 'fgsm-rs', '--resume')).rejects.toThrow(/holds no training run to resume/);
  });

  it('documents the on-the-fly methods in adv-train --help', async () => {
    const { usage } = await import('./advtrain.js');
    expect(usage).toMatch(/--method paper {4}this recipe/);
    expect(usage).toMatch(/fgsm-rs {2}FGSM from a uniform random start/);
    expect(usage).toMatch(/--clean-fraction X/);
  });
});
