import { describe, expect, it } from 'vitest';
import { main } from '../cli.js';

describe('workbench adv-train', () => {
  it('checks its arguments before loading any data', async () => {
    await expect(main(['adv-train', '--out', '/tmp/x'])).rejects.toThrow(/--from is required/);
    await expect(main(['adv-train', '--from', '/tmp/x'])).rejects.toThrow(/--out is required/);
    await expect(main(['adv-train', '--from', '/tmp/x', '--out', '/tmp/x/'])).rejects.toThrow(/--out must differ from --from/);
    await expect(main(['adv-train', '--from', '/nonexistent/m', '--out', '/tmp/y'])).rejects.toThrow(/holds no card.json/);
    await expect(main(['adv-train', '--from', 'fixtures/models/resnet20-base', '--out', '/tmp/y', '--attacks', 'fgsm,bim'])).rejects.toThrow(/unknown attack 'bim'/);
    await expect(main(['adv-train', '--from', 'fixtures/models/resnet20-base', '--out', '/tmp/y', '--count', 'many'])).rejects.toThrow(/--count must be a whole number of at least 1; got 'many'/);
  });
});
