// A report's worth of records and images made from synthetic pictures (shapes on gradients, never
// a dataset image): the report tests and the committed screenshots of reports/ use it.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PNG } from 'pngjs';
import { colormapRgb } from '../attribution/heatmap.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { RobustnessRecord } from '../record/record.js';

const S = 32;
type Img = Float32Array; // S x S x 3 in [0, 1]

function picture(seed: number): Img {
  const img = new Float32Array(S * S * 3);
  const [cx, cy, r] = [10 + (seed * 7) % 12, 10 + (seed * 5) % 12, 6 + (seed % 4)];
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
      const o = 3 * (y * S + x);
      img[o] = inside ? 0.9 : 0.2 + (0.5 * x) / S;
      img[o + 1] = inside ? 0.3 + 0.1 * (seed % 3) : 0.4 + (0.3 * y) / S;
      img[o + 2] = inside ? 0.2 : 0.7 - (0.3 * x) / S;
    }
  return img;
}

/** A map peaked on the shape of `picture(seed)`, shifted by `shift` pixels. */
function blob(seed: number, shift: number): Float32Array {
  const m = new Float32Array(S * S);
  const [cx, cy] = [10 + (seed * 7) % 12 + shift, 10 + (seed * 5) % 12];
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) m[y * S + x] = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 40);
  return m;
}

const noise = (img: Img, eps: number, seed: number) => img.map((v, i) => Math.min(1, Math.max(0, v + (((i * 2654435761 + seed) >>> 0) % 2 ? eps : -eps))));
const overlay = (img: Img, map: Float32Array) => img.map((v, i) => 0.5 * v + 0.5 * colormapRgb(map[Math.floor(i / 3)]!, 'jet')[i % 3]!);
const mapRgb = (map: Float32Array) => Float32Array.from({ length: S * S * 3 }, (_, i) => colormapRgb(map[Math.floor(i / 3)]!, 'jet')[i % 3]!);

function writeStrip(path: string, panels: Img[], scale: number): void {
  const w = S * panels.length * scale;
  const png = new PNG({ width: w, height: S * scale });
  for (let y = 0; y < S * scale; y++)
    for (let x = 0; x < w; x++) {
      const p = panels[Math.floor(x / (S * scale))]!;
      const src = 3 * (Math.floor(y / scale) * S + (Math.floor(x / scale) % S));
      const o = 4 * (y * w + x);
      for (let c = 0; c < 3; c++) png.data[o + c] = Math.round(255 * p[src + c]!);
      png.data[o + 3] = 255;
    }
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, PNG.sync.write(png));
}

const CARD = (name: string, arch: string, acc: number) => ({ name, spec: { arch }, cleanAccuracy: { value: acc, n: 10000 }, training: { epochs: 30, seed: 1 } });

/**
 * Writes the images under <root>/reports/ and <root>/snapshots/ and returns the records of a run
 * that checked three models: attacks with labelled worst examples, attribution overlays, an
 * invariance counterexample, densities, a failed heatmap snapshot and a robustness curve, with some failures.
 */
export function syntheticReport(root: string): RobustnessRecord[] {
  const base = { spec: 'specs/release.spec.ts', backend: 'wasm', data: 'synthetic shapes (64 images)', time: '2026-12-02T10:00:00Z' };
  const models = [
    { name: 'shapes-resnet', arch: 'resnet20', acc: 0.91, robust: 0.42, ssd: 12.4 },
    { name: 'shapes-mobilenet', arch: 'mobilenet', acc: 0.87, robust: 0.18, ssd: 31.0 },
    { name: 'shapes-vgg', arch: 'vgg16', acc: 0.89, robust: 0.33, ssd: 22.7 },
  ];
  const classes = ['circle', 'square', 'triangle', 'star'];
  const records: RobustnessRecord[] = [];
  for (const [m, model] of models.entries()) {
    const card = CARD(model.name, model.arch, model.acc);
    const common = { ...base, model: model.name, card };
    const worst = [0, 1].map((k) => {
      const seed = 3 * m + k;
      const file = `reports/worst/release/pgd/${model.name}-1/shape-${seed}.png`;
      const x = picture(seed);
      const adv = noise(x, 8 / 255, seed);
      writeStrip(join(root, file), [x, adv, adv.map((v, i) => Math.min(1, Math.max(0, (v - x[i]!) * 10 + 0.5)))], 4);
      return { file, kind: 'attack' as const, panels: ['original', 'adversarial', 'perturbation x10 (grey = 0)'], sample: `shape-${seed}`, trueClass: classes[seed % 4]!, before: { class: classes[seed % 4]!, confidence: 0.93 - 0.1 * k }, after: { class: classes[(seed + 1) % 4]!, confidence: 0.71 + 0.05 * k }, amplify: 10 };
    });
    const n = 64;
    const lower = model.robust - 0.11;
    records.push({
      ...common,
      test: 'resists PGD at eps 8/255',
      matcher: 'toResistAttack',
      method: 'pgd',
      params: { norm: 'linf', eps: 8 / 255, stepSize: 2 / 255, steps: 10, randomStart: true, seed: 1 },
      metric: 'robustAccuracy',
      value: model.robust,
      interval: { lower, upper: model.robust + 0.12, level: 0.95 },
      threshold: { op: '>=', value: 0.3 },
      n,
      pass: model.robust >= 0.3,
      artefacts: worst.map((w) => w.file),
      images: worst,
      message: `expected the model to resist: robust accuracy under pgd (norm linf, eps 0.03137, stepSize 0.007843, steps 10) was ${model.robust.toFixed(3)} [95% CI ${lower.toFixed(3)}, ${(model.robust + 0.12).toFixed(3)}] on n=${n}; threshold >= 0.3`,
    });
    const maps = [0, 1].map((k) => {
      const seed = 3 * m + k;
      const file = `reports/attribution/release/gradcam/${model.name}-1/shape-${seed}.png`;
      const x = picture(seed);
      writeStrip(join(root, file), [x, overlay(x, blob(seed, 0)), overlay(x, blob(seed, 3 + m))], 4);
      return { file, kind: 'attribution' as const, panels: ['image', 'gradcam map', 'gradcam map after the change'], sample: `shape-${seed}`, trueClass: classes[seed % 4]!, score: model.ssd + 5 - 3 * k, colormap: 'jet' };
    });
    records.push({
      ...common,
      test: 'keeps Grad-CAM stable under a 0.5-sigma blur',
      matcher: 'toHaveStableAttribution',
      method: 'gradcam',
      params: { change: 0.5 },
      metric: 'ssd',
      value: model.ssd,
      interval: { lower: model.ssd - 2.1, upper: model.ssd + 2.3, level: 0.95 },
      threshold: { op: '<=', value: 25 },
      n: 32,
      pass: model.ssd <= 25,
      artefacts: maps.map((w) => w.file),
      images: maps,
      message: `expected stable attributions: mean SSD of Grad-CAM of the image vs of its Gaussian blur (sigma 0.5) was ${model.ssd.toFixed(2)} on n=32; threshold <= 25`,
    });
    records.push({ ...common, test: 'has a sparse hidden code', matcher: 'toHaveAverageDensityBelow', method: 'averageDensity', params: { layer: 'hidden', units: 512 }, metric: 'density', value: 0.31 + 0.05 * m, interval: { lower: 0.29 + 0.05 * m, upper: 0.33 + 0.05 * m, level: 0.95 }, threshold: { op: '<', value: 0.5 }, n, pass: true, artefacts: [], message: 'expected a density below the threshold' });
  }
  // One invariance counterexample and one failed snapshot, both of the mobilenet.
  const inv = 'reports/invariance/release/occlude/shapes-mobilenet-1/shape-4.png';
  const x = picture(4);
  const occluded = x.map((v, i) => {
    const p = Math.floor(i / 3);
    return Math.floor(p / S) >= 8 && Math.floor(p / S) < 20 && p % S >= 8 && p % S < 20 ? 0.5 : v;
  });
  writeStrip(join(root, inv), [x, occluded], 4);
  const mob = { ...base, model: 'shapes-mobilenet', card: CARD('shapes-mobilenet', 'mobilenet', 0.87) };
  records.push({
    ...mob,
    test: 'is invariant to a gray patch up to 12 px',
    matcher: 'toBeInvariantTo',
    method: 'occlude(12)',
    params: { counterexample: 'occlude(size=12, fx=0.333, fy=0.333)', seed: 1, path: '3:1:0', sample: 'shape-4' },
    metric: 'invariance',
    value: 0,
    threshold: { op: '>=', value: 1 },
    n: 41,
    pass: false,
    artefacts: [inv],
    images: [{ file: inv, kind: 'invariance', panels: ['original', 'perturbed: occlude(size=12, fx=0.333, fy=0.333)'], sample: 'shape-4', trueClass: 'circle', before: { class: 'circle', confidence: 0.88 }, after: { class: 'square', confidence: 0.52 } }],
    message: "expected predictions to be invariant, but occlude(size=12, fx=0.333, fy=0.333) flips sample 4 (shape-4) from 'circle' to 'square' (smallest counterexample after 9 shrinks, 41 runs). Replay with { seed: 1, path: '3:1:0' }.",
  });
  const snap = 'snapshots/specs/release.spec.ts/shape-gradcam.png';
  const diff = 'reports/diffs/specs/release.spec.ts/shape-gradcam.png';
  const expected = blob(2, 0);
  const actual = blob(2, 4);
  writeStrip(join(root, snap), [mapRgb(expected)], 1);
  const diffMap = Float32Array.from({ length: S * S * 3 }, (_, i) => (Math.abs(expected[Math.floor(i / 3)]! - actual[Math.floor(i / 3)]!) > 0.1 ? [1, 0, 0][i % 3]! : 0.9));
  writeStrip(join(root, diff), [mapRgb(expected), mapRgb(actual), diffMap], 1);
  records.push({
    ...mob,
    test: 'keeps the Grad-CAM heatmap of a pinned image',
    matcher: 'toMatchHeatmapSnapshot',
    method: 'heatmap snapshot',
    params: { snapshot: snap, status: 'mismatch', maxDiffRatio: 0.02 },
    metric: 'snapshotDiffPixels',
    value: 212,
    threshold: { op: '<=', value: 0 },
    n: S * S,
    pass: false,
    artefacts: [snap, diff],
    images: [{ file: diff, kind: 'snapshot', panels: ['expected', 'actual', 'diff'], colormap: 'jet' }],
    message: `heatmap differs from ${snap}: 212 of 1024 pixels (20.70%) differ, allowed ratio 0.02. Expected | actual | diff: ${diff}. If the change is intended, run vitest -u.`,
  });
  // A robustness curve of the resnet, compared with the curve its last release stored.
  const eps = [1, 2, 4, 8].map((e) => e / 255);
  const ra = [0.78, 0.69, 0.55, 0.42];
  const at = (v: number, i: number, w: number) => ({ eps: eps[i]!, robustAccuracy: v, lower: v - w, upper: v + w });
  const points = ra.map((v, i) => at(v, i, 0.055));
  const stored = ra.map((v, i) => at(v + 0.02 * (i + 1), i, 0.055));
  const min = [0.6, 0.5, 0.35, 0.25];
  const curveSnap = 'snapshots/specs/release.spec.ts/resnet.curve.json';
  records.push({
    ...base,
    model: 'shapes-resnet',
    card: CARD('shapes-resnet', 'resnet20', 0.91),
    test: 'keeps its robustness curve under PGD',
    matcher: 'toHaveRobustnessCurve',
    method: 'pgd',
    params: { steps: 10, seed: 1, eps },
    metric: 'robustnessCurve',
    value: 0.42,
    interval: { lower: 0.365, upper: 0.475, level: 0.95 },
    threshold: { op: '>=', value: 0.25 },
    n: 64,
    pass: true,
    artefacts: [],
    message: `expected the curve to stay above its minimums: robust accuracy under pgd on n=64: ${points.map((p, i) => `eps ${p.eps.toFixed(4)}: ${p.robustAccuracy.toFixed(3)} [95% CI ${p.lower.toFixed(3)}, ${p.upper.toFixed(3)}] (min ${min[i]})`).join('; ')}; curve snapshot ${curveSnap} matched`,
    curve: { attack: 'pgd', points, min, snapshot: { path: curveSnap, status: 'matched', points: stored } },
  });
  return records;
}
