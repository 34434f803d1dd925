import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { writeShard } from '../report/shard.js';
import { syntheticReport } from '../test-support/syntheticReport.js';
import { main } from './main.js';

const root = mkdtempSync(join(tmpdir(), 'merge-cli-'));
afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(root, { recursive: true, force: true });
});

describe('robustness merge', () => {
  it('combines every shard into robustness.json, index.html and junit.xml in the report folder, and refuses a missing shard', async () => {
    // The report folder of this test, not the checkout's reports/.
    vi.stubEnv('ROBUSTNESS_REPORT_DIR', join(root, 'out'));
    vi.stubEnv('GITHUB_STEP_SUMMARY', '');
    const records = syntheticReport(root);
    // With an absolute report folder every shard file lands in <folder>/shards/.
    const first = writeShard(records.slice(0, 4), { index: 1, count: 3 }, root);
    const third = writeShard(records.slice(4), { index: 3, count: 3 }, root);
    await expect(main(['merge', first, third])).rejects.toThrow(/Shard 2 of 3 is missing/);
    expect(existsSync(join(root, 'out', 'robustness.json'))).toBe(false);
    writeShard([], { index: 2, count: 3 }, root);
    expect(await main(['merge', join(root, 'out', 'shards')])).toBe(0);
    expect(JSON.parse(readFileSync(join(root, 'out', 'robustness.json'), 'utf8')).records).toHaveLength(records.length);
    expect(readFileSync(join(root, 'out', 'junit.xml'), 'utf8')).toContain(`tests="${records.length}"`);
    expect(existsSync(join(root, 'out', 'index.html'))).toBe(true);
  });
});
