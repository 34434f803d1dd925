import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { colormapRgb, normalizeMaps, overlayHeatmap, resizeMaps, writeHeatmapPng } from './heatmap.js';

describe('heatmap utilities', () => {
  it('normalizeMaps puts each map in [0, 1] with its max at 1 (or all 0)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 12, maxLength: 12 }), fc.constantFrom('max' as const, 'minmax' as const), async (vals, mode) => {
        const maps = tf.tensor3d(vals, [3, 2, 2]);
        const out = normalizeMaps(maps, mode);
        const v = (await out.array()) as number[][][];
        tf.dispose([maps, out]);
        for (const m of v) {
          const flat = m.flat();
          expect(Math.min(...flat)).toBeGreaterThanOrEqual(0);
          const top = Math.max(...flat);
          expect(top === 0 || Math.abs(top - 1) < 1e-6).toBe(true);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('jet runs from dark blue to dark red; resizeMaps keeps a constant map constant', async () => {
    expect(colormapRgb(0)).toEqual([0, 0, 0.5]);
    expect(colormapRgb(1)).toEqual([0.5, 0, 0]);
    expect(colormapRgb(0.5, 'gray')).toEqual([0.5, 0.5, 0.5]);
    const m = tf.fill([1, 4, 4], 0.3) as tf.Tensor3D;
    const r = resizeMaps(m, [8, 6]);
    expect(r.shape).toEqual([1, 8, 6]);
    (await r.data()).forEach((v) => expect(v).toBeCloseTo(0.3, 6));
    tf.dispose([m, r]);
  });

  it('writes a PNG of the map (scaled) atomically, and overlays it on an image', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'heatmap-'));
    try {
      const map = tf.tensor2d([0, 0.5, 1, 0.25], [2, 2]);
      const path = join(dir, 'sub', 'cam.png');
      await writeHeatmapPng(path, map, { scale: 3 });
      const png = PNG.sync.read(readFileSync(path));
      expect([png.width, png.height]).toEqual([6, 6]);
      expect(Array.from(png.data.subarray(0, 4))).toEqual([0, 0, 128, 255]);
      expect(readdirSync(join(dir, 'sub'))).toEqual(['cam.png']);
      const img = tf.fill([2, 2, 3], 1) as tf.Tensor3D;
      const over = await overlayHeatmap(img, map, { alpha: 0.5 });
      expect(over.shape).toEqual([2, 2, 3]);
      expect(Array.from((await over.data()).subarray(0, 3))).toEqual([0.5, 0.5, 0.5 + 0.5 * (128 / 255)].map((v) => Math.fround(v)));
      await expect(overlayHeatmap(img, tf.zeros([3, 3]))).rejects.toThrow(/resize the map/);
      tf.dispose([map, img, over]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
