// Sharded runs end to end: cheap spec files run by Vitest unsharded, in 2 and in 3 shards; the
// merged shards hold the same checks as the single run, and the gate judges the merged file.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkGate, parseThresholds } from './gate.js';
import type { RobustnessRecord } from '../record/record.js';
import { mergeShards, readShard, shardFiles, shardPath } from './shard.js';
import { writeReport } from './write.js';

const repo = process.cwd();
// Inside the checkout (ignored by git) so the specs resolve vitest and tfjs from its node_modules.
const base = resolve(repo, '.scratch', `shards-${process.pid}`);
afterAll(() => rmSync(base, { recursive: true, force: true }));

const src = (p: string) => JSON.stringify(resolve(repo, 'src', p));

const config = `import { defineConfig } from 'vitest/config';
export default defineConfig({ test: {
  include: ['specs/**/*.spec.ts'],
  setupFiles: [${src('test-support/setup-env.ts')}, ${src('setup.ts')}],
  reporters: [${src('reporter.ts')}],
  env: { ROBUSTNESS_OFFLINE: '1' },
  testTimeout: 60_000,
} });
`;

// Each spec builds a tiny band-reading model and checks it three ways; seeds fix every value.
const spec = (k: number) => `import * as tf from '@tensorflow/tfjs';
import { afterAll, expect, it } from 'vitest';
import { perturbations } from ${src('arbitraries/perturbation.ts')};
import { bandsDataset } from ${src('test-support/synthetic.ts')};
const samples = bandsDataset({ count: 16, size: 8, seed: ${k} }).toSamples();
const model = tf.sequential({ name: 'bands-${k}', layers: [tf.layers.flatten({ inputShape: [8, 8, 3], name: 'flat' }), tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.randomNormal({ seed: ${k} }) })] });
afterAll(() => { samples.dispose(); model.dispose(); });
it('resists FGSM at eps 4/255 (spec ${k})', async () => {
  await expect(samples).toResistAttack(model, 'fgsm', 4 / 255, { minAccuracy: 0 });
});
it('keeps its class under brightness noise (spec ${k})', async () => {
  // Only that every split gives the same verdict matters here, not which.
  try { await expect(samples).toBeInvariantTo(model, perturbations.brightness(0.01), { numRuns: 10, seed: ${k} }); } catch {}
});
`;

function project(name: string): string {
  const root = join(base, name);
  mkdirSync(join(root, 'specs'), { recursive: true });
  writeFileSync(join(root, 'vitest.config.ts'), config);
  for (const k of [1, 2, 3]) writeFileSync(join(root, 'specs', `part${k}.spec.ts`), spec(k));
  return root;
}

function vitest(root: string, shard?: string): void {
  execFileSync(process.execPath, [resolve(repo, 'node_modules/vitest/vitest.mjs'), 'run', '--root', root, ...(shard ? [`--shard=${shard}`] : [])], { cwd: root, stdio: 'pipe', env: { ...process.env, CI: 'true', GITHUB_STEP_SUMMARY: '' } });
}

/** What identifies a check and its outcome (not when it ran). */
const key = (r: RobustnessRecord) => JSON.stringify([r.spec, r.test, r.model, r.method, r.metric, r.value, r.n, r.pass]);

describe('sharded runs', () => {
  it('2 and 3 shards merge to the same checks as one unsharded run, and the gate runs on the merged file', () => {
    const single = project('single');
    vitest(single);
    const expected = (JSON.parse(readFileSync(join(single, 'reports', 'robustness.json'), 'utf8')) as { records: RobustnessRecord[] }).records.map(key).sort();
    expect(expected).toHaveLength(6);
    for (const count of [2, 3]) {
      const root = project(`split-${count}`);
      for (let i = 1; i <= count; i++) vitest(root, `${i}/${count}`);
      const files = shardFiles([join(root, 'reports', 'shards')]);
      expect(files).toEqual(Array.from({ length: count }, (_, i) => shardPath({ index: i + 1, count }, root)));
      const records = mergeShards(files.map((path) => ({ path, data: readShard(path) })));
      expect(records.map(key).sort()).toEqual(expected);
      // A shard never writes the run's report itself.
      expect(() => readFileSync(join(root, 'reports', 'robustness.json'))).toThrow();
      const { json } = writeReport(records, root);
      const merged = (JSON.parse(readFileSync(json, 'utf8')) as { records: RobustnessRecord[] }).records;
      const rules = parseThresholds({ rules: [{ model: '*', metric: 'robustAccuracy', min: 0 }] });
      expect(checkGate(merged, rules)).toEqual([]);
    }
  }, 300_000);

  it('refuses a set with a shard missing, given twice, or from another split', () => {
    const rec = [] as RobustnessRecord[];
    const f = (index: number, count: number, path = `s${index}of${count}`) => ({ path, data: { generated: '', shard: { index, count }, records: rec } });
    expect(() => mergeShards([f(1, 3), f(3, 3)])).toThrow(/Shard 2 of 3 is missing/);
    expect(() => mergeShards([f(1, 2), f(1, 2, 'copy'), f(2, 2)])).toThrow(/Shard 1 of 2 is given twice/);
    expect(() => mergeShards([f(1, 2), f(2, 3)])).toThrow(/split 2 and 3 ways/);
    expect(() => mergeShards([])).toThrow(/No shard files/);
    expect(mergeShards([f(2, 2), f(1, 2)])).toEqual([]);
  });
});
