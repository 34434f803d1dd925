// The paper's Table 2 claim, measured on this project's own models (the four ResNet-20 fixtures,
// width 0.5, base / L1 / L2 / elastic net at factor 0.01, not adversarially trained: the paper's
// section 4.3 does not say its attribution models were): "regularized models have lower SSD than
// the base model; L1 is best for the sliding patch, Elastic Net for Grad-CAM".
//
// Measurement (fixed before measuring):
// - Sliding patch: occlusion maps with a gray (0.5) patch of 4 and of 2 pixels, both stride 2,
//   explaining the class predicted on the clean image; SSD between the two maps of an image.
//   On all 1,000 test images below, as the paper (issue 23; 100 before): 481 occluded copies per
//   image and model. Computed from the occluders' windows (frozenOcclusion in src/models/frozen.ts)
//   they cost 0.23-0.28 s of CPU per image and model (both patches, batch 256, one thread,
//   measured 2026-12-02 at load average 10 on 2 cores; 0.54-0.62 s layer by layer), so the four
//   models take about 15-19 minutes of one core; npm run paper runs two spec files at a time
//   (without worker threads), this one beside the Table 1 specs, within its 30-minute budget.
// - Grad-CAM (last convolutional block), on the 1,000 test images (class-stratified, seed 2),
//   explaining the class predicted on the clean image for both the image and its Gaussian blur
//   (sigma 0.5, reflected edges); SSD between the two maps.
// - Maps are scaled to [0, 1] per map (divided by their maximum), at 32x32; SSD sums 1,024 pixels.
//
// Decided before measuring (and not to be changed to flip a verdict):
// - "lower than the base": for each method and each regularized model, the 95% paired-bootstrap
//   interval (2,000 resamples over the images, seed 1) of its mean SSD minus the base model's
//   lies below 0;
// - "L1 best for the sliding patch" / "Elastic Net best for Grad-CAM": that model's interval of
//   the difference to each of the other three models lies below 0.
import { mkdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { bootstrapCI, cifar10, colorize, gaussianBlur, gradcam, isFinished, loadModel, occlusion, predictClasses, readCard, ssd, writeFileAtomic } from 'vitest-robustness';
import { writeClaim } from '../report/claims.js';

const REGS = ['base', 'l1', 'l2', 'elasticnet'] as const;
type Reg = (typeof REGS)[number];
const LABEL: Record<Reg, string> = { base: 'Base', l1: 'L1', l2: 'L2', elasticnet: 'Elastic Net' };
const GRADCAM_IMAGES = 1000;
const PATCH_IMAGES = 1000;
const PANEL_IMAGES = 3;
const SIGMA = 0.5;
// The paper's Table 2 (SSD, mean +- std).
const PAPER = {
  patch: { base: [26.31, 27.19], l1: [18.51, 15.28], l2: [18.62, 13.48], elasticnet: [20.92, 17.83] },
  gradcam: { base: [24.53, 34.19], l1: [15.13, 24.95], l2: [15.12, 20.92], elasticnet: [13.96, 22.51] },
} as const;

const dir = (reg: Reg) => `fixtures/models/resnet20-${reg}`;
const finished = isFinished;
const missing = REGS.filter((r) => !finished(dir(r)));

type Method = 'patch' | 'gradcam';
const values: Record<Method, Partial<Record<Reg, Float32Array>>> = { patch: {}, gradcam: {} };
/** Maps of the first PANEL_IMAGES images for the Fig. 4 / Fig. 5 panels: [a, b] per method and model. */
const panels: Record<Method, Partial<Record<Reg, [Float32Array, Float32Array]>>> = { patch: {}, gradcam: {} };
const seconds: Partial<Record<Reg, { patch: number; gradcam: number }>> = {};

const images = await cifar10.test({ count: GRADCAM_IMAGES, seed: 2 });
const blurred = gaussianBlur(images.images, SIGMA);
const patchImages = images.images.slice([0, 0, 0, 0], [PATCH_IMAGES, 32, 32, 3]) as tf.Tensor4D;
afterAll(() => {
  images.dispose();
  tf.dispose([blurred, patchImages]);
});

if (missing.length === 0) {
  for (const reg of REGS) {
    const model = await loadModel(dir(reg));
    try {
      const t0 = performance.now();
      const predicted = await predictClasses(model, images.images);
      const g1 = await gradcam(model, images.images, { target: predicted });
      const g2 = await gradcam(model, blurred, { target: predicted });
      values.gradcam[reg] = await ssd(g1, g2);
      panels.gradcam[reg] = [(await g1.slice(0, PANEL_IMAGES).data()) as Float32Array, (await g2.slice(0, PANEL_IMAGES).data()) as Float32Array];
      tf.dispose([g1, g2]);
      const t1 = performance.now();
      const target = predicted.slice(0, PATCH_IMAGES);
      const o4 = await occlusion(model, patchImages, { patch: 4, stride: 2, target, batchSize: 256 });
      const o2 = await occlusion(model, patchImages, { patch: 2, stride: 2, target, batchSize: 256 });
      values.patch[reg] = await ssd(o4, o2);
      panels.patch[reg] = [(await o4.slice(0, PANEL_IMAGES).data()) as Float32Array, (await o2.slice(0, PANEL_IMAGES).data()) as Float32Array];
      tf.dispose([o4, o2]);
      seconds[reg] = { gradcam: (t1 - t0) / 1000, patch: (performance.now() - t1) / 1000 };
      process.stderr.write(`[table 2] resnet20-${reg}: Grad-CAM ${((t1 - t0) / 1000).toFixed(0)} s, sliding patch ${((performance.now() - t1) / 1000).toFixed(0)} s\n`);
    } finally {
      model.dispose();
    }
  }
}

const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
const std = (a: ArrayLike<number>) => {
  const m = mean(a);
  return Math.sqrt(Array.from(a).reduce((s, v) => s + (v - m) ** 2, 0) / (a.length - 1));
};
/** 95% paired-bootstrap interval of mean(a - b). */
const pairedDiff = (a: Float32Array, b: Float32Array) => bootstrapCI(Array.from(a, (v, i) => v - b[i]!), { seed: 1, resamples: 2000 });

interface Summary {
  reg: Reg;
  mean: number;
  std: number;
  n: number;
  vsBase?: { diff: number; lower: number; upper: number };
}
const summary = (m: Method): Summary[] =>
  missing.length
    ? []
    : REGS.map((reg) => {
        const v = values[m][reg]!;
        const d = reg === 'base' ? undefined : pairedDiff(v, values[m].base!);
        return { reg, mean: mean(v), std: std(v), n: v.length, vsBase: d && { diff: d.estimate, lower: d.lower, upper: d.upper } };
      });
const lowerThanBase = (m: Method) => summary(m).filter((s) => s.vsBase && s.vsBase.upper < 0).map((s) => s.reg);
const bestOf = (m: Method, reg: Reg) => REGS.filter((o) => o !== reg).every((o) => pairedDiff(values[m][reg]!, values[m][o]!).upper < 0);

// Fig. 4 / Fig. 5 panels. The committed ones hold no CIFAR-10 pixels (the data may not be
// committed): per image, a row of map (a), map (b), |a - b| for each model. The full ones (image;
// then per model map (a), its overlay on the image, map (b), |a - b|) go to reports/paper/panels/,
// which is not committed.
function panel(m: Method, pixels?: Float32Array): Buffer {
  const S = 4;
  const cell = 32 * S;
  const gap = 6;
  const lead = pixels ? 1 : 0;
  const per = pixels ? 4 : 3;
  const W = (lead + per * REGS.length) * (cell + gap);
  const H = PANEL_IMAGES * (cell + gap);
  const png = new PNG({ width: W, height: H });
  png.data.fill(255);
  const draw = (col: number, row: number, rgbAt: (k: number) => [number, number, number]) => {
    for (let y = 0; y < cell; y++) {
      for (let x = 0; x < cell; x++) {
        const [r, g, b] = rgbAt(Math.floor(y / S) * 32 + Math.floor(x / S));
        const o = ((row * (cell + gap) + y) * W + col * (cell + gap) + x) * 4;
        png.data[o] = r;
        png.data[o + 1] = g;
        png.data[o + 2] = b;
        png.data[o + 3] = 255;
      }
    }
  };
  for (let i = 0; i < PANEL_IMAGES; i++) {
    const img = (k: number): [number, number, number] => [0, 1, 2].map((c) => Math.round(255 * pixels![(i * 1024 + k) * 3 + c]!)) as [number, number, number];
    if (pixels) draw(0, i, img);
    REGS.forEach((reg, r) => {
      const [a, b] = panels[m][reg]!;
      const A = a.subarray(i * 1024, (i + 1) * 1024);
      const B = b.subarray(i * 1024, (i + 1) * 1024);
      const D = A.map((v, k) => Math.abs(v - B[k]!));
      const columns = pixels ? [{ map: A }, { map: A, over: true }, { map: B }, { map: D }] : [{ map: A }, { map: B }, { map: D }];
      columns.forEach(({ map, over }, c) => {
        const rgba = colorize({ data: map, height: 32, width: 32 });
        draw(lead + r * per + c, i, (k) => {
          const heat = [rgba[4 * k]!, rgba[4 * k + 1]!, rgba[4 * k + 2]!];
          if (!over) return heat as [number, number, number];
          const px = img(k);
          return heat.map((h, ch) => Math.round(0.5 * h + 0.5 * px[ch]!)) as [number, number, number];
        });
      });
    });
  }
  return PNG.sync.write(png);
}

/** Delta (SSD) of each panel image, per method and model, for the captions. */
const panelDeltas = (m: Method) => REGS.map((r) => `${LABEL[r]}: ${Array.from(values[m][r]!.subarray(0, PANEL_IMAGES), (v) => v.toFixed(1)).join(', ')}`).join('; ');

const f2 = (v: number) => v.toFixed(2);
function table(): string {
  const p = summary('patch');
  const g = summary('gradcam');
  const ours = (s: Summary | undefined) => (s ? `${f2(s.mean)} ± ${f2(s.std)}${s.vsBase ? ` (vs base ${s.vsBase.diff >= 0 ? '+' : ''}${f2(s.vsBase.diff)} [${f2(s.vsBase.lower)}, ${f2(s.vsBase.upper)}])` : ''}` : '-');
  return [
    '| method | source | ' + REGS.map((r) => LABEL[r]).join(' | ') + ' |',
    '| --- | --- |' + ' --- |'.repeat(REGS.length),
    `| Sliding patch (4 vs 2, stride 2) | paper (1,000 images) | ${REGS.map((r) => `${f2(PAPER.patch[r][0])} ± ${f2(PAPER.patch[r][1])}`).join(' | ')} |`,
    `| Sliding patch (4 vs 2, stride 2) | ours (${PATCH_IMAGES} images) | ${REGS.map((r) => ours(p.find((s) => s.reg === r))).join(' | ')} |`,
    `| Grad-CAM (blur sigma ${SIGMA}) | paper (1,000 images) | ${REGS.map((r) => `${f2(PAPER.gradcam[r][0])} ± ${f2(PAPER.gradcam[r][1])}`).join(' | ')} |`,
    `| Grad-CAM (blur sigma ${SIGMA}) | ours (${GRADCAM_IMAGES} images) | ${REGS.map((r) => ours(g.find((s) => s.reg === r))).join(' | ')} |`,
  ].join('\n');
}

if (missing.length === 0) {
  mkdirSync('reports/paper', { recursive: true });
  writeFileAtomic('reports/paper/fig4-maps.png', panel('patch'));
  writeFileAtomic('reports/paper/fig5-maps.png', panel('gradcam'));
  mkdirSync('reports/paper/panels', { recursive: true });
  const pixels = (await images.images.slice(0, PANEL_IMAGES).data()) as Float32Array;
  writeFileAtomic('reports/paper/panels/fig4.png', panel('patch', pixels));
  writeFileAtomic('reports/paper/panels/fig5.png', panel('gradcam', pixels));
  writeFileAtomic(
    'reports/paper/table2.json',
    `${JSON.stringify({ gradcamImages: GRADCAM_IMAGES, patchImages: PATCH_IMAGES, sigma: SIGMA, seconds, patch: summary('patch'), gradcam: summary('gradcam'), lowerThanBase: { patch: lowerThanBase('patch'), gradcam: lowerThanBase('gradcam') }, l1BestPatch: bestOf('patch', 'l1'), elasticnetBestGradcam: bestOf('gradcam', 'elasticnet'), panelDeltas: { patch: panelDeltas('patch'), gradcam: panelDeltas('gradcam') }, table: table() }, null, 2)}\n`,
  );
}

const fmt = (m: Method) => summary(m).map((s) => `${LABEL[s.reg]} ${f2(s.mean)}`).join(', ');
const PARTS = ['patch lower', 'gradcam lower', 'l1 best patch', 'elasticnet best gradcam'] as const;
type Part = (typeof PARTS)[number];
const partHolds = (p: Part): boolean =>
  p === 'patch lower' ? lowerThanBase('patch').length === 3 : p === 'gradcam lower' ? lowerThanBase('gradcam').length === 3 : p === 'l1 best patch' ? bestOf('patch', 'l1') : bestOf('gradcam', 'elasticnet');

if (missing.length === 0) {
  const held = PARTS.filter(partHolds);
  const card = readCard(dir('base'));
  const best = (m: Method) => summary(m).reduce((a, b) => (b.mean < a.mean ? b : a)).reg;
  const notLower = (m: Method) => REGS.slice(1).filter((r) => !lowerThanBase(m).includes(r)).map((r) => LABEL[r]);
  writeClaim({
    id: 'table2',
    title: 'Table 2: attribution stability',
    claim: 'Regularized models give more stable attributions than the base model: lower SSD between sliding-patch maps of patch 4 and patch 2, and between Grad-CAM maps of an image and of its blur; L1 is best for the sliding patch, Elastic Net for Grad-CAM.',
    verdict: held.length === PARTS.length ? 'reproduced' : held.length > 0 ? 'partly reproduced' : 'not reproduced',
    summary:
      `Mean SSD, sliding patch: ${fmt('patch')}; Grad-CAM: ${fmt('gradcam')}. ` +
      `Lower than the base with 95% paired intervals: sliding patch ${lowerThanBase('patch').map((r) => LABEL[r]).join(', ') || 'none'}, Grad-CAM ${lowerThanBase('gradcam').map((r) => LABEL[r]).join(', ') || 'none'}. ` +
      `Lowest SSD: ${LABEL[best('patch')]} for the sliding patch (L1 significantly below all others: ${bestOf('patch', 'l1') ? 'yes' : 'no'}), ${LABEL[best('gradcam')]} for Grad-CAM (Elastic Net significantly below all others: ${bestOf('gradcam', 'elasticnet') ? 'yes' : 'no'}).`,
    why:
      held.length === PARTS.length
        ? undefined
        : [
            notLower('patch').length || notLower('gradcam').length
              ? `Not lower than the base: ${[notLower('patch').length ? `sliding patch ${notLower('patch').join(', ')}` : '', notLower('gradcam').length ? `Grad-CAM ${notLower('gradcam').join(', ')}` : ''].filter(Boolean).join('; ')}. Our ResNet-20s are small (width 0.5) and trained for 10 CPU epochs; at factor 0.01 the penalties change the models' accuracy as well as their smoothness, so SSD differences mix both effects.`
              : '',
            !partHolds('l1 best patch') || !partHolds('elasticnet best gradcam')
              ? 'The paper ranks its regularizers by means whose standard deviations are as large as the means (its Table 2), without intervals; a ranking that needs each model significantly below the other three is a stricter reading than the paper applied.'
              : '',
            PATCH_IMAGES < 1000 ? `The sliding patch is measured on ${PATCH_IMAGES} images, not 1,000: the CPU budget of the paper specs does not allow more.` : '',
          ]
            .filter(Boolean)
            .join(' '),
    setup:
      `The four plain ResNet-20 fixtures (resnet20-base, -l1, -l2, -elasticnet: width ${card?.spec.width}, ${card?.training.epochs} epochs, factor 0.01; not adversarially trained: the paper's section 4.3 does not say its attribution models were). ` +
      `Grad-CAM on the last convolutional block for ${GRADCAM_IMAGES} class-stratified CIFAR-10 test images (seed 2) and their Gaussian blur (sigma ${SIGMA}, reflected edges); sliding patch (gray 0.5 occluder, stride 2) of 4 and of 2 pixels on the first ${PATCH_IMAGES} of them. Every map explains the class predicted on the clean image and is scaled to [0, 1] by its maximum, at 32x32, so SSD sums 1,024 squared differences. ` +
      'Decided before measuring: "lower" = the 95% paired-bootstrap interval (2,000 resamples, seed 1) of the mean SSD difference to the base lies below 0; "best" = that model\'s interval against each of the other three lies below 0.',
    markdown: `SSD (mean ± standard deviation over the images; for the regularized models also the difference to the base with its 95% paired interval).\n\n${table()}\n\nThe paper's maps are of ResNet-50 on full-size training; the absolute SSD depends on map resolution and normalisation, which the paper does not state, so compare the orderings rather than the values.\n`,
    figures: [
      { file: 'fig4-maps.png', caption: `Fig. 4 on our models: sliding-patch maps with patch 4 and patch 2 and their absolute difference, for Base, L1, L2, Elastic Net (columns in threes), on ${PANEL_IMAGES} test images (rows; the images themselves are not committed). SSD per image: ${panelDeltas('patch')}` },
      { file: 'fig5-maps.png', caption: `Fig. 5 on our models: Grad-CAM maps of the image and of its blur (sigma ${SIGMA}) and their absolute difference, for Base, L1, L2, Elastic Net, on ${PANEL_IMAGES} test images. SSD per image: ${panelDeltas('gradcam')}` },
    ],
    measuredAt: new Date().toISOString(),
  });
}

// Parts measured not to hold on the committed ResNet-20 fixtures are kept as it.fails; the test
// names carry this run's numbers and reports/paper.md the rest.
const EXPECTED_TO_FAIL: Part[] = ['patch lower', 'gradcam lower', 'l1 best patch', 'elasticnet best gradcam'];
const test = (p: Part) => (EXPECTED_TO_FAIL.includes(p) ? it.fails : it);
const ready = missing.length === 0 ? describe : describe.skip;

ready(missing.length ? `Table 2: not measured, fixtures still training: ${missing.map((r) => `resnet20-${r}`).join(', ')}` : 'Table 2: regularization makes attributions more stable (ResNet-20, CIFAR-10 JPEG q75 copy)', () => {
  it(`every map pair measured (${PATCH_IMAGES} sliding-patch, ${GRADCAM_IMAGES} Grad-CAM images per model), SSD >= 0`, () => {
    for (const reg of REGS) {
      expect(values.patch[reg]!.length).toBe(PATCH_IMAGES);
      expect(values.gradcam[reg]!.length).toBe(GRADCAM_IMAGES);
      expect(Math.min(...values.patch[reg]!, ...values.gradcam[reg]!)).toBeGreaterThanOrEqual(0);
    }
  });
  test('patch lower')(`sliding patch: every regularized model has lower SSD than the base (measured ${fmt('patch')})`, () => {
    expect(lowerThanBase('patch')).toEqual(['l1', 'l2', 'elasticnet']);
  });
  test('gradcam lower')(`Grad-CAM: every regularized model has lower SSD than the base (measured ${fmt('gradcam')})`, () => {
    expect(lowerThanBase('gradcam')).toEqual(['l1', 'l2', 'elasticnet']);
  });
  test('l1 best patch')(`sliding patch: L1 has the lowest SSD of the four (measured ${fmt('patch')})`, () => {
    expect(bestOf('patch', 'l1')).toBe(true);
  });
  test('elasticnet best gradcam')(`Grad-CAM: Elastic Net has the lowest SSD of the four (measured ${fmt('gradcam')})`, () => {
    expect(bestOf('gradcam', 'elasticnet')).toBe(true);
  });
});
