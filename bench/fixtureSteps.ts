// Training steps of the fixture architectures (ResNet-20 w0.5, MobileNet w0.25, VGG16 w0.125,
// L1 penalty, batch 64, Adam) on wasm with our kernels, with the fused training-mode batch norm
// and ReLU gradient (src/backend/kernels/fusedTraining.ts) and with the stock tfjs route for those
// two, alternating. CPU time is reported beside wall time: on a shared machine the wall time of a
// step grows with the other jobs, its CPU time much less. Run: npx tsx bench/fixtureSteps.ts
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { installFusedTraining, uninstallFusedTraining } from '../src/backend/kernels/fusedTraining.js';
import { buildModel } from '../src/models/build.js';
import { regularizationLoss } from '../src/models/regularizers.js';
import { machineLine, median, writeResultsSection } from './results.js';

await initBackend({ backend: 'wasm', announce: false });
const loadAtStart = (await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' / ');
const ARCHS = [
  { arch: 'resnet', width: 0.5, label: 'ResNet-20 w0.5' },
  { arch: 'mobilenet', width: 0.25, label: 'MobileNet w0.25' },
  { arch: 'vgg16', width: 0.125, label: 'VGG16 w0.125' },
] as const;
const BATCH = 64;
const ROUNDS = 3;
const STEPS = 3;

const rows: string[] = [];
const summary: Record<string, unknown> = {};
for (const a of ARCHS) {
  const model = buildModel({ arch: a.arch, width: a.width, regularizer: { name: 'l1', l1: 0.01, l2: 0 }, seed: 1 } as Parameters<typeof buildModel>[0]);
  const opt = tf.train.adam(1e-3);
  const x = tf.randomUniform([BATCH, 32, 32, 3]);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % 10), 'int32'), 10);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const step = () => tf.dispose(opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor).add(regularizationLoss(model)) as tf.Scalar, true, vars)!);
  const measure = () => {
    step();
    const c = process.cpuUsage();
    const t = performance.now();
    for (let i = 0; i < STEPS; i++) step();
    const d = process.cpuUsage(c);
    return { cpu: (d.user + d.system) / 1000 / STEPS, wall: (performance.now() - t) / STEPS };
  };
  const stock: { cpu: number; wall: number }[] = [];
  const fused: { cpu: number; wall: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    uninstallFusedTraining();
    stock.push(measure());
    installFusedTraining('wasm');
    fused.push(measure());
  }
  const s = { cpu: median(stock.map((m) => m.cpu)), wall: median(stock.map((m) => m.wall)) };
  const f = { cpu: median(fused.map((m) => m.cpu)), wall: median(fused.map((m) => m.wall)) };
  const ips = (ms: number) => ((BATCH / ms) * 1000).toFixed(0);
  rows.push(`| ${a.label} | ${model.countParams().toLocaleString('en-US')} | ${s.cpu.toFixed(0)} / ${s.wall.toFixed(0)} | ${f.cpu.toFixed(0)} / ${f.wall.toFixed(0)} | ${ips(s.cpu)} -> ${ips(f.cpu)} | x${(s.cpu / f.cpu).toFixed(2)} |`);
  summary[a.label] = { stockCpuMs: +s.cpu.toFixed(1), fusedCpuMs: +f.cpu.toFixed(1), stockWallMs: +s.wall.toFixed(1), fusedWallMs: +f.wall.toFixed(1) };
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
}

writeResultsSection(
  'fixture-steps',
  `## Training steps of the fixture architectures (bench/fixtureSteps.ts, \`npx tsx bench/fixtureSteps.ts\`)

${machineLine()}; load average at the start ${loadAtStart}.

One Adam step on a batch of ${BATCH} (L1 kernel penalty, as the regularized fixtures train), wasm with
our conv kernels; medians of ${ROUNDS} rounds of ${STEPS} steps, the two setups alternating. "Stock" runs
training-mode batch norm as tfjs does (tf.moments + FusedBatchNorm and their gradients) and the
ReLU gradient as dy * step(x); "fused" runs both as single passes (src/backend/kernels/fusedTraining.ts).
Times are ms of CPU / ms of wall clock per step; images/s from CPU time.

| model | parameters | stock ms (cpu / wall) | fused ms (cpu / wall) | images/s (cpu) | speed-up |
| --- | --- | --- | --- | --- | --- |
${rows.join('\n')}`,
);
console.log(JSON.stringify(summary));
