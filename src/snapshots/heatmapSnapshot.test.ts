import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import '../setup.js';
import { fileSafe } from '../matchers/callCounter.js';
import { readResults } from '../record/record.js';
import { compareHeatmapSnapshot } from './heatmapSnapshot.js';

const root = mkdtempSync(join(tmpdir(), 'heatmap-snap-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ramp = (shift = 0) => tf.tidy(() => tf.linspace(0, 1, 64).add(shift).clipByValue(0, 1).reshape([8, 8]));

describe('compareHeatmapSnapshot', () => {
  it('writes a missing snapshot locally, refuses to in CI, matches it, and diffs a change', async () => {
    const where = (update: 'all' | 'new' | 'none') => ({ snapshotPath: join(root, 's', 'a.png'), diffPath: join(root, 'd', 'a.png'), update });
    const map = ramp();
    expect((await compareHeatmapSnapshot(map, where('none'))).status).toBe('missing');
    expect(existsSync(join(root, 's', 'a.png'))).toBe(false);
    expect((await compareHeatmapSnapshot(map, where('new'))).status).toBe('written');
    expect(PNG.sync.read(readFileSync(join(root, 's', 'a.png'))).width).toBe(8);
    expect((await compareHeatmapSnapshot(map, where('none'))).status).toBe('matched');

    const changed = ramp(0.5);
    const r = await compareHeatmapSnapshot(changed, where('none'));
    expect(r.status).toBe('mismatch');
    expect(r.diffPixels).toBeGreaterThan(0);
    const diff = PNG.sync.read(readFileSync(r.diffPath!));
    expect(diff.width).toBe(8 * 3 + 4);
    // Tolerances: a ratio above the change passes, and a later match removes the stale diff.
    expect((await compareHeatmapSnapshot(changed, where('none'), { maxDiffRatio: 1 })).status).toBe('matched');
    expect(existsSync(r.diffPath!)).toBe(false);
    expect((await compareHeatmapSnapshot(changed, where('all'))).status).toBe('updated');
    expect((await compareHeatmapSnapshot(changed, where('none'))).status).toBe('matched');
    tf.dispose([map, changed]);
  });

  it('names a corrupt snapshot and the fix', async () => {
    writeFileSync(join(root, 'bad.png'), 'not a png');
    await expect(compareHeatmapSnapshot(ramp(), { snapshotPath: join(root, 'bad.png'), diffPath: join(root, 'bad-diff.png'), update: 'none' })).rejects.toThrow(/bad\.png is not a readable PNG.*vitest -u/);
  });
});

describe('toMatchHeatmapSnapshot', () => {
  const snapDir = resolve('snapshots', 'src/snapshots/heatmapSnapshot.test.ts');
  afterAll(() => {
    rmSync(snapDir, { recursive: true, force: true });
    rmSync(resolve('reports', 'diffs', 'src/snapshots/heatmapSnapshot.test.ts'), { recursive: true, force: true });
  });

  it('compares with snapshots/<spec>/<name>.png, and fails with the diff path and pixel count', async () => {
    // Seed the snapshot directly, so the test behaves the same in CI, where the matcher may not write.
    const map = ramp();
    await compareHeatmapSnapshot(map, { snapshotPath: join(snapDir, 'ramp.png'), diffPath: join(root, 'x.png'), update: 'new' });
    const before = tf.memory().numTensors;
    await expect(map).toMatchHeatmapSnapshot('ramp');
    expect(tf.memory().numTensors).toBe(before);
    const moved = ramp(0.3);
    await expect(expect(moved).toMatchHeatmapSnapshot('ramp')).rejects.toThrow(
      /heatmap differs from snapshots\/src\/snapshots\/heatmapSnapshot\.test\.ts\/ramp\.png: \d+ of 64 pixels \([\d.]+%\) differ, allowed 0 pixels\. Expected \| actual \| diff: reports\/diffs\/.*ramp\.png/,
    );
    await expect(moved).toMatchHeatmapSnapshot('ramp', { maxDiffRatio: 1 });
    tf.dispose([map, moved]);
  });

  it('rejects .not and a map that is not a single heatmap', async () => {
    const map = ramp();
    await expect(expect(map).not.toMatchHeatmapSnapshot('ramp')).rejects.toThrow(/cannot be used with .not/);
    const batch = tf.zeros([2, 8, 8]);
    await expect(expect(batch).toMatchHeatmapSnapshot('batch')).rejects.toThrow(/must be one \[H, W\] map/);
    tf.dispose([map, batch]);
  });
});

describe('toMatchHeatmapSnapshot: stable names, clear errors', () => {
  const snapDir = resolve('snapshots', 'src/snapshots/heatmapSnapshot.test.ts');
  afterAll(() => rmSync(snapDir, { recursive: true, force: true }));

  let attempt = 0;
  let afterFirst: string[] = [];
  it('keeps an unnamed snapshot\'s name on a retry (the counter restarts per attempt)', { retry: 1 }, async () => {
    attempt++;
    const map = ramp();
    // Seeded directly, so the test behaves the same in CI, where the matcher may not write.
    if (attempt === 1) await compareHeatmapSnapshot(map, { snapshotPath: join(snapDir, `${fileSafe(expect.getState().currentTestName)}-1.png`), diffPath: join(root, 'retry.png'), update: 'new' });
    await expect(map).toMatchHeatmapSnapshot();
    map.dispose();
    if (attempt === 1) {
      afterFirst = readdirSync(snapDir).sort();
      throw new Error('the first attempt fails on purpose, so that Vitest retries');
    }
    // The retry compared with the first attempt's snapshot instead of writing a "-2" one.
    expect(readdirSync(snapDir).sort()).toEqual(afterFirst);
  });

  it('refuses a heatmap holding NaN, and one outside [0, 1]', async () => {
    const nan = tf.fill([8, 8], Number.NaN);
    await expect(expect(nan).toMatchHeatmapSnapshot('nan-map')).rejects.toThrow(/The heatmap holds 64 value\(s\) that are NaN or Infinity \(first at index 0\), so there is nothing to snapshot/);
    expect(existsSync(join(snapDir, 'nan-map.png'))).toBe(false);
    const big = tf.fill([8, 8], 3);
    await expect(expect(big).toMatchHeatmapSnapshot('big-map')).rejects.toThrow(/64 value\(s\) outside \[0, 1\]; scale it first/);
    tf.dispose([nan, big]);
  });

  it('refuses options given in place of the name, unknown options, and unbounded tolerances', async () => {
    const map = ramp();
    await expect(expect(map).toMatchHeatmapSnapshot({ maxDiffRatio: 0.1 } as never)).rejects.toThrow(/the name must be a non-empty string; got \{"maxDiffRatio":0\.1\}. To give options without a name, pass undefined first/);
    await expect(expect(map).toMatchHeatmapSnapshot('x', { maxDifPixels: 3 } as never)).rejects.toThrow(/unknown option 'maxDifPixels'. Its options are: threshold, maxDiffPixels, maxDiffRatio, colormap/);
    await expect(expect(map).toMatchHeatmapSnapshot('x', { maxDiffPixels: Number.POSITIVE_INFINITY })).rejects.toThrow(/maxDiffPixels must be a whole number >= 0/);
    await expect(expect(map).toMatchHeatmapSnapshot('x', { maxDiffRatio: 2 })).rejects.toThrow(/maxDiffRatio must be a number in \[0, 1\]/);
    map.dispose();
  });
});

describe('toMatchHeatmapSnapshot in the report', () => {
  const snapDir = resolve('snapshots', 'src/snapshots/heatmapSnapshot.test.ts');
  afterAll(() => {
    rmSync(snapDir, { recursive: true, force: true });
    rmSync(resolve('reports', 'heatmaps', 'src/snapshots/heatmapSnapshot.test.ts'), { recursive: true, force: true });
    rmSync(resolve('reports', 'diffs', 'src/snapshots/heatmapSnapshot.test.ts'), { recursive: true, force: true });
  });

  it('records images the report may embed (under reports/), and a ratio of 0 as a ratio', async () => {
    const map = ramp();
    await compareHeatmapSnapshot(map, { snapshotPath: join(snapDir, 'ratio.png'), diffPath: join(root, 'r.png'), update: 'new' });
    const moved = ramp(0.3);
    await expect(expect(moved).toMatchHeatmapSnapshot('ratio', { maxDiffRatio: 0 })).rejects.toThrow(/\d+ of 64 pixels \([\d.]+%\) differ, allowed ratio 0\. /);
    const mine = readResults().filter((r) => r.matcher === 'toMatchHeatmapSnapshot' && r.test.includes('a ratio of 0 as a ratio'));
    expect(mine).toHaveLength(1);
    expect(mine[0]!.artefacts.length).toBe(2);
    expect(mine[0]!.artefacts.every((a) => a.startsWith('reports/'))).toBe(true);
    expect(mine[0]!.threshold).toEqual({ op: '<=', value: 0 });
    tf.dispose([map, moved]);
  });
});
