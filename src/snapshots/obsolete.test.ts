import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { obsoleteSnapshots } from './obsolete.js';

const root = mkdtempSync(join(tmpdir(), 'obsolete-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('obsolete heatmap snapshots', () => {
  it('lists snapshots of completely run specs that no test checked, and nothing of specs that ran in part', () => {
    for (const spec of ['specs/a.spec.ts', 'specs/b.spec.ts']) {
      mkdirSync(join(root, 'snapshots', spec), { recursive: true });
      for (const f of ['kept.png', 'gone.png', 'notes.txt']) writeFileSync(join(root, 'snapshots', spec, f), 'x');
    }
    const checked = ['snapshots/specs/a.spec.ts/kept.png', 'snapshots/specs/b.spec.ts/kept.png'];
    expect(obsoleteSnapshots([{ spec: 'specs/a.spec.ts', complete: true }, { spec: 'specs/b.spec.ts', complete: false }, { spec: 'specs/c.spec.ts', complete: true }], checked, root)).toEqual([
      join('snapshots', 'specs', 'a.spec.ts', 'gone.png'),
    ]);
  });
});
