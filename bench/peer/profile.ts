// Where the time goes, before and after issue 20, by kernel: a PGD-10 run on
// fixtures/models/resnet20-base (100 CIFAR-10 test images, Linf 8/255), Grad-CAM on the same
// images, and the small CNN's training step (batch 64). Every kernel's self time (its own time
// less the kernels it ran inside), grouped by what it computes, with backward kernels credited to
// the forward op whose gradient they compute, wasm allocation and freeing apart, and the rest as
// "engine and tape" (kernelProfile.ts). "before": the stock layer-by-layer path and the stock
// Identity, DepthToSpace and Sum kernels; "after": the frozen graph (src/models/frozen.ts) and
// this project's kernels. The two alternate. Writes the "pgd-profile" section of bench/RESULTS.md.
// Run: npx tsx bench/peer/profile.ts
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { attacks } from '../../src/attacks/index.js';
import { gradcam } from '../../src/attribution/index.js';
import { initBackend, installFastKernels, restoreStockKernels } from '../../src/backend/index.js';
import { cifar10 } from '../../src/data/index.js';
import { loadModel } from '../../src/models/index.js';
import { setFrozenInference } from '../../src/models/frozen.js';
import { setSimdKernels } from '../../src/backend/kernels/simdWasm.js';
import { machineLine, writeResultsSection } from '../results.js';
import { smallCnn, trainStep } from '../smallCnn.js';
import { useSharedCifar } from './data.js';
import { profile, type Stats } from './kernelProfile.js';

const ROUNDS = Number(process.env.PROFILE_ROUNDS ?? 2);
const MODEL_DIR = fileURLToPath(new URL('../../fixtures/models/resnet20-base', import.meta.url));
/** The kernels issue 20 replaced on wasm (the "before" setting puts the stock ones back). */
const ISSUE20_KERNELS = ['Identity', 'DepthToSpace', 'Sum', 'Transpose'];
const MODES = ['before', 'after'] as const;
type Mode = (typeof MODES)[number];

function setMode(mode: Mode): void {
  setFrozenInference(mode === 'after');
  // The ReLU-gradient masks' SIMD loops (issue 20) are off before, as they were then.
  setSimdKernels(mode === 'after');
  if (mode === 'before') restoreStockKernels('wasm', ISSUE20_KERNELS);
  else installFastKernels('wasm');
}

interface Work {
  name: string;
  /** What one unit of the table is (the run's time is divided by `units`). */
  unit: string;
  units: number;
  run: () => Promise<void>;
}

function table(work: Work, best: Record<Mode, Stats>): string {
  const groups = [...new Set(MODES.flatMap((m) => [...best[m].self.keys()]))].filter((g) => g !== 'engine and tape').sort();
  const rowOf = (label: string, get: (s: Stats) => number) =>
    `| ${label} | ${MODES.map((m) => `${(get(best[m]) / work.units).toFixed(1)} ms (${((get(best[m]) / best[m].wall) * 100).toFixed(0)}%)`).join(' | ')} |`;
  const kernelSum = (s: Stats) => [...s.self].filter(([k]) => k !== 'engine and tape').reduce((a, [, v]) => a + v, 0);
  return [
    `| ${work.name}, CPU ms per ${work.unit} | before | after |`,
    '| --- | --- | --- |',
    ...groups.map((g) => rowOf(g, (s) => s.self.get(g) ?? 0)),
    rowOf('allocation (wasm makeOutput)', (s) => s.alloc),
    rowOf('freeing (wasm disposeData)', (s) => s.free),
    rowOf('engine and tape (outside kernels)', (s) => s.wall - kernelSum(s) - s.alloc - s.free),
    `| **total CPU** (wall) | ${MODES.map((m) => `**${(best[m].wall / work.units).toFixed(1)} ms** (${(best[m].elapsed / work.units).toFixed(0)} ms)`).join(' | ')} |`,
    `| kernel calls | ${MODES.map((m) => best[m].kernels).join(' | ')} |`,
    `| speed-up (CPU) | | x${(best.before.wall / best.after.wall).toFixed(2)} |`,
  ].join('\n');
}

async function main(): Promise<void> {
  const loadStart = loadavg();
  useSharedCifar();
  await initBackend({ backend: 'wasm', announce: false });
  const model = await loadModel(MODEL_DIR);
  const { images: x, labels: y } = await cifar10.test({ count: 100, seed: 1 });
  const small = smallCnn();
  const opt = tf.train.adam(1e-3);
  const sx = tf.randomUniform([64, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const sy = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), 'int32'), 10) as tf.Tensor2D;
  const works: Work[] = [
    { name: 'PGD-10 on resnet20-base, 100 images', unit: 'PGD step (a tenth of the run)', units: 10, run: async () => (await attacks.pgd.run(model, x, y, { eps: 8 / 255, batchSize: 100 })).adversarial.dispose() },
    { name: 'Grad-CAM on resnet20-base, 100 images', unit: 'batch of 100', units: 1, run: async () => (await gradcam(model, x, { batchSize: 100 })).dispose() },
    {
      name: 'small CNN training step, batch 64',
      unit: 'step',
      units: 3,
      run: async () => {
        for (let i = 0; i < 3; i++) trainStep(small, opt, sx, sy);
      },
    },
  ];
  const sections: string[] = [];
  for (const work of works) {
    const runs: Record<Mode, Stats[]> = { before: [], after: [] };
    for (const mode of MODES) {
      setMode(mode);
      await work.run(); // warm-up: XNNPACK operators, weight folding
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of MODES) {
        setMode(mode);
        const s = await profile(work.run);
        runs[mode].push(s);
        console.log(`${work.name}, ${mode}: ${s.wall.toFixed(0)} ms CPU, ${s.elapsed.toFixed(0)} ms wall, ${s.kernels} kernel calls`);
        console.log([...s.byKernel].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k, v]) => `  ${k}: ${(v / work.units).toFixed(1)} ms`).join('\n'));
      }
    }
    // The run with the least CPU time per mode: the one least disturbed by other jobs (cache, frequency).
    const best = Object.fromEntries(MODES.map((m) => [m, runs[m].reduce((a, b) => (b.wall < a.wall ? b : a))])) as Record<Mode, Stats>;
    sections.push(table(work, best));
  }
  setMode('after');
  const text = `## Where the time goes, by kernel, before and after (bench/peer/profile.ts, \`npx tsx bench/peer/profile.ts\`)

${machineLine()}; load average at the start ${loadStart.map((l) => l.toFixed(2)).join(' / ')}.

wasm, one thread. "before": the layer-by-layer path with the stock Identity, DepthToSpace, Sum and
Transpose kernels and the ReLU masks as JavaScript loops (the state before issue 20); "after": the frozen
graph (batch norm folded, conv + bias + ReLU fused, input gradient only, differentiated as one op where
every step allows it: frozen.ts graphBackward), this project's Identity (zero-copy), DepthToSpace, Sum and
Transpose kernels, and the ReLU masks and DepthToSpace as wasm SIMD loops (simdWasm.ts).
Process CPU time (the machine is shared, so wall time would include waiting for a core; it is given in
brackets), the run with the least CPU time of ${ROUNDS} per setting, the settings alternating. Self time of
every kernel (its time less the kernels it called); a gradient kernel is credited to the forward op it
differentiates (the frozen conv's gradient counts as conv; the kernels of the frozen graph's one-op
backward count by their own names); "engine and tape" is the time outside every kernel (tape, tidy
scopes, customGrad glue, JavaScript between kernels). Training does not use the frozen graph; its "after"
differs by those four kernels and the SIMD masks only (both columns have the 2x2 MaxPoolGrad route).

${sections.join('\n\n')}
`;
  console.log(text);
  writeResultsSection('pgd-profile', text);
  tf.dispose([x, y, sx, sy]);
  small.dispose();
}

await main();
