import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import '../setup.js';
import { renderHtml } from '../report/html.js';
import { readResults } from '../record/record.js';
import { cifar10 } from './cifar10.js';
import { CIFAR10_CLASSES } from './classes.js';
import { EMBEDDED_SAMPLE_CAVEAT, EMBEDDED_SAMPLE_DIR, readEmbeddedSample } from './embeddedSample.js';
import { readImageFolder } from './imageFolder.js';

const root = mkdtempSync(join(tmpdir(), 'embedded-sample-'));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(resolve('reports/worst'), { recursive: true, force: true });
});

/** Runs `body` as on a machine with no CIFAR-10 and no network. */
async function offline<T>(body: () => Promise<T>): Promise<T> {
  const saved = { dir: process.env.CIFAR10_DIR, cache: process.env.ROBUSTNESS_CACHE, off: process.env.ROBUSTNESS_OFFLINE };
  delete process.env.CIFAR10_DIR;
  process.env.ROBUSTNESS_CACHE = mkdtempSync(join(root, 'cache-'));
  process.env.ROBUSTNESS_OFFLINE = '1';
  try {
    return await body();
  } finally {
    for (const [k, v] of [['CIFAR10_DIR', saved.dir], ['ROBUSTNESS_CACHE', saved.cache], ['ROBUSTNESS_OFFLINE', saved.off]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('the embedded CIFAR-10 sample', () => {
  it('ships 200 test images in the binary record format, 20 per class, under 1 MB', () => {
    expect(readdirSync(EMBEDDED_SAMPLE_DIR).sort()).toEqual(['batches.meta.txt', 'ids.txt', 'test_batch.bin']);
    const bytes = readdirSync(EMBEDDED_SAMPLE_DIR).reduce((n, f) => n + statSync(join(EMBEDDED_SAMPLE_DIR, f)).size, 0);
    expect(bytes).toBeLessThan(1 << 20);
    expect(statSync(join(EMBEDDED_SAMPLE_DIR, 'test_batch.bin')).size).toBe(200 * 3073);
    const ds = readEmbeddedSample();
    expect(ds.size).toBe(200);
    expect(ds.classCounts()).toEqual(new Array(10).fill(20));
    expect(ds.classNames).toEqual(CIFAR10_CLASSES);
    expect(ds.source).toBe(EMBEDDED_SAMPLE_CAVEAT);
    expect(EMBEDDED_SAMPLE_CAVEAT).toMatch(/embedded 200-image sample/);
    // Each id names a distinct test image of the class its label says.
    expect(new Set(ds.ids).size).toBe(200);
    ds.ids.forEach((id, i) => expect(id).toMatch(new RegExp(`^embedded:test/${ds.classNames[ds.labels[i]!]}/\\d{4}\\.jpg$`)));
  });

  it('is shipped with the package', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('assets');
    expect(resolve(EMBEDDED_SAMPLE_DIR)).toBe(resolve('assets/cifar10-sample'));
  });

  it('serves offline draws that fit in it, stratified and marked as the sample', async () => {
    await offline(async () => {
      const before = tf.memory().numTensors;
      const s = await cifar10.test({ count: 200, seed: 1 });
      expect(s.size).toBe(200);
      expect(s.source).toBe(EMBEDDED_SAMPLE_CAVEAT);
      const counts = new Array(10).fill(0);
      for (const l of await s.labels.data()) counts[l]++;
      expect(counts).toEqual(new Array(10).fill(20));
      const part = s.slice(0, 5);
      expect(part.source).toBe(EMBEDDED_SAMPLE_CAVEAT);
      const cats = await cifar10.test({ count: 20, seed: 3, classes: ['cat'] });
      expect(Array.from(await cats.labels.data())).toEqual(new Array(20).fill(3));
      for (const x of [s, part, cats]) x.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('refuses a request beyond it, saying how to get the full set', async () => {
    await offline(async () => {
      const how = /unset ROBUSTNESS_OFFLINE.*`npx robustness data cifar10`.*CIFAR10_DIR/;
      await expect(cifar10.test({ count: 201, seed: 1 })).rejects.toThrow(/embedded 200-image sample \(20 test images per class\) cannot serve 201 images: it holds 200/);
      await expect(cifar10.test({ count: 201, seed: 1 })).rejects.toThrow(how);
      await expect(cifar10.test({ count: 21, classes: ['cat'] })).rejects.toThrow(/cannot serve 21 images of cat: it holds 20/);
      await expect(cifar10.test({ seed: 1 })).rejects.toThrow(/cannot serve the whole test split/);
      await expect(cifar10.train({ count: 10 })).rejects.toThrow(/cannot serve the train split: it holds test images only/);
      await expect(cifar10.dataset('train')).rejects.toThrow(how);
    });
  });

  it('labels every check on it in the record and in the report', async () => {
    const samples = await cifar10.sample({ count: 10, seed: 2 });
    expect(samples.source).toBe(EMBEDDED_SAMPLE_CAVEAT);
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [32, 32, 3] }), tf.layers.dense({ units: 10 })] });
    try {
      await expect(samples).toResistAttack(model, 'fgsm', 1 / 255, { minAccuracy: 0 });
    } finally {
      samples.dispose();
      model.dispose();
    }
    const mine = readResults().filter((r) => r.test.endsWith('labels every check on it in the record and in the report'));
    expect(mine.at(-1)?.data).toBe(EMBEDDED_SAMPLE_CAVEAT);
    const html = renderHtml(mine.slice(-1), { generated: 'now', root: process.cwd() });
    expect(html).toMatch(/1 of 1 checks ran on the embedded 200-image sample of CIFAR-10/);
    expect(html).toContain(`<td class="sample">${EMBEDDED_SAMPLE_CAVEAT}</td>`);
  });
});

// The committed sample is what the committed script makes from the shared copy, byte for byte
// (the JPEG copy named by CIFAR10_DIR, else the one beside the checkout; skipped without either).
const shared = process.env.CIFAR10_DIR ? resolve(process.env.CIFAR10_DIR) : resolve('../shared/datasets/cifar10-jpeg');
describe.runIf(existsSync(join(shared, 'test')))('scripts/make-cifar10-sample.ts', () => {
  it('remakes the committed sample exactly from the JPEG copy', () => {
    const out = join(root, 'remade');
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/make-cifar10-sample.ts', '--from', shared, '--out', out], { stdio: 'pipe' });
    for (const f of ['test_batch.bin', 'batches.meta.txt', 'ids.txt']) expect(readFileSync(join(out, f)).equals(readFileSync(join(EMBEDDED_SAMPLE_DIR, f)))).toBe(true);
    // The images are the JPEG copy's own pixels under those ids.
    const copy = readImageFolder(shared, 'test', { progress: false, classNames: CIFAR10_CLASSES });
    const sample = readEmbeddedSample();
    const at = new Map(copy.ids.map((id, i) => [id, i]));
    for (const i of [0, 57, 199]) {
      const j = at.get(sample.ids[i]!.replace(/^embedded:/, ''))!;
      expect(Buffer.from(sample.pixels.subarray(i * 3072, (i + 1) * 3072)).equals(Buffer.from(copy.pixels.subarray(j * 3072, (j + 1) * 3072)))).toBe(true);
      expect(sample.labels[i]).toBe(copy.labels[j]);
    }
  });
});
