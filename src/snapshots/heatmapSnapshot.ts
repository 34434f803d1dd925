import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import pixelmatch from 'pixelmatch';
import { PNG } from 'pngjs';
import { type ColormapName, heatmapToPng, type MapData } from '../attribution/heatmap.js';
import { writeFileAtomic } from '../util/atomic.js';

/** How a mismatch is judged; per-call options override the common ones. */
export interface HeatmapSnapshotOptions {
  /** pixelmatch's per-pixel colour threshold, 0 (exact) to 1. @defaultValue 0.1 */
  threshold?: number;
  /** Differing pixels allowed. @defaultValue 0 */
  maxDiffPixels?: number;
  /** Differing fraction of pixels allowed; when set, it is used instead of maxDiffPixels. */
  maxDiffRatio?: number;
  /** Colour map the map is stored in. @defaultValue 'jet' */
  colormap?: ColormapName;
}

const OPTION_KEYS = ['threshold', 'maxDiffPixels', 'maxDiffRatio', 'colormap'] as const;

/**
 * Throws on an unknown option or a value out of range: a misspelt tolerance would be ignored, and
 * an infinite one would pass any heatmap.
 */
export function checkHeatmapOptions(who: string, options: unknown): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new TypeError(`${who}: options must be an object { ${OPTION_KEYS.join(', ')} }; got ${options === null ? 'null' : typeof options}.`);
  const o = options as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !(OPTION_KEYS as readonly string[]).includes(k));
  if (unknown.length) throw new TypeError(`${who}: unknown option ${unknown.map((k) => `'${k}'`).join(', ')}. Its options are: ${OPTION_KEYS.join(', ')}.`);
  const fraction = (k: string) => {
    if (o[k] !== undefined && !(typeof o[k] === 'number' && o[k] >= 0 && o[k] <= 1)) throw new RangeError(`${who}: ${k} must be a number in [0, 1]; got ${JSON.stringify(o[k])}.`);
  };
  fraction('threshold');
  fraction('maxDiffRatio');
  if (o.maxDiffPixels !== undefined && !(typeof o.maxDiffPixels === 'number' && Number.isInteger(o.maxDiffPixels) && o.maxDiffPixels >= 0)) {
    throw new RangeError(`${who}: maxDiffPixels must be a whole number >= 0 (a finite count of pixels); got ${JSON.stringify(o.maxDiffPixels)}. Use maxDiffRatio for a fraction.`);
  }
  if (o.colormap !== undefined && !['jet', 'hot', 'gray'].includes(o.colormap as string)) throw new RangeError(`${who}: colormap must be 'jet', 'hot' or 'gray'; got ${JSON.stringify(o.colormap)}.`);
}

/**
 * Throws unless every value of the map is a number in [0, 1]: NaN would be drawn as one colour
 * (and match itself forever), values outside [0, 1] are clipped by the colour map.
 */
async function checkMapValues(map: tf.Tensor | MapData): Promise<void> {
  const data = map instanceof tf.Tensor ? await map.data() : map?.data;
  if (!(data instanceof Float32Array || Array.isArray(data) || ArrayBuffer.isView(data))) {
    throw new TypeError(`A heatmap snapshot needs a tf.Tensor [H, W] (or [1, H, W]) or { data, width, height }; got ${map === null ? 'null' : typeof map}.`);
  }
  const values = data as ArrayLike<number>;
  let bad = 0;
  let outside = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      bad++;
      if (first < 0) first = i;
    } else if (v < 0 || v > 1) outside++;
  }
  if (bad) throw new RangeError(`The heatmap holds ${bad} value(s) that are NaN or Infinity (first at index ${first}), so there is nothing to snapshot. The attribution that made it failed: check the model's outputs and the map's normalisation.`);
  if (outside) throw new RangeError(`The heatmap holds ${outside} value(s) outside [0, 1]; scale it first (normalizeMaps(maps, 'max'), as gradcam and occlusion do).`);
}

/** Vitest's snapshot update mode: `-u` is 'all', a local run 'new', CI (CI=true) 'none'. */
export type SnapshotUpdateMode = 'all' | 'new' | 'none';

export interface SnapshotOutcome {
  status: 'written' | 'updated' | 'matched' | 'mismatch' | 'missing';
  snapshotPath: string;
  /** The composite expected | actual | diff PNG, written on mismatch only. */
  diffPath?: string;
  diffPixels: number;
  totalPixels: number;
  /** Set when the sizes differ. */
  sizeNote?: string;
}

function readPng(path: string): PNG {
  try {
    return PNG.sync.read(readFileSync(path));
  } catch (err) {
    throw new Error(`The heatmap snapshot ${path} is not a readable PNG (${(err as Error).message}). Delete it and run \`vitest -u\` to write it again.`);
  }
}

function composite(expected: PNG, actual: PNG, diff: PNG): Buffer {
  const h = Math.max(expected.height, actual.height);
  const gap = 2;
  const w = expected.width + actual.width + diff.width + 2 * gap;
  const out = new PNG({ width: w, height: h });
  out.data.fill(255);
  let x0 = 0;
  for (const img of [expected, actual, diff]) {
    for (let y = 0; y < img.height; y++) img.data.copy(out.data, (y * w + x0) * 4, y * img.width * 4, (y + 1) * img.width * 4);
    x0 += img.width + gap;
  }
  return PNG.sync.write(out);
}

/**
 * Compares a heatmap [H, W] (values in [0, 1]) with its PNG snapshot, writing or rewriting the
 * snapshot as the update mode allows, and a composite diff (expected | actual | diff) on a
 * mismatch. A stale diff from an earlier run is removed first. Writes are atomic.
 */
export async function compareHeatmapSnapshot(
  map: tf.Tensor | MapData,
  where: { snapshotPath: string; diffPath: string; update: SnapshotUpdateMode },
  options: HeatmapSnapshotOptions = {},
): Promise<SnapshotOutcome> {
  const { snapshotPath, diffPath, update } = where;
  checkHeatmapOptions('compareHeatmapSnapshot', options);
  await checkMapValues(map);
  rmSync(diffPath, { force: true });
  const bytes = await heatmapToPng(map, { colormap: options.colormap ?? 'jet' });
  const actual = PNG.sync.read(bytes);
  const totalPixels = actual.width * actual.height;
  if (!existsSync(snapshotPath)) {
    if (update === 'none') return { status: 'missing', snapshotPath, diffPixels: totalPixels, totalPixels };
    writeFileAtomic(snapshotPath, bytes);
    return { status: 'written', snapshotPath, diffPixels: 0, totalPixels };
  }
  const expected = readPng(snapshotPath);
  let diffPixels: number;
  let sizeNote: string | undefined;
  let diff: PNG;
  if (expected.width !== actual.width || expected.height !== actual.height) {
    sizeNote = `the snapshot is ${expected.width}x${expected.height}, the heatmap ${actual.width}x${actual.height}`;
    diffPixels = totalPixels;
    diff = new PNG({ width: actual.width, height: actual.height });
    diff.data.fill(255);
  } else {
    diff = new PNG({ width: actual.width, height: actual.height });
    diffPixels = pixelmatch(expected.data, actual.data, diff.data, actual.width, actual.height, { threshold: options.threshold ?? 0.1 });
  }
  const ok = sizeNote === undefined && (options.maxDiffRatio !== undefined ? diffPixels / totalPixels <= options.maxDiffRatio : diffPixels <= (options.maxDiffPixels ?? 0));
  if (ok) return { status: 'matched', snapshotPath, diffPixels, totalPixels };
  if (update === 'all') {
    writeFileAtomic(snapshotPath, bytes);
    return { status: 'updated', snapshotPath, diffPixels, totalPixels, sizeNote };
  }
  writeFileAtomic(diffPath, composite(expected, actual, diff));
  return { status: 'mismatch', snapshotPath, diffPath, diffPixels, totalPixels, sizeNote };
}
