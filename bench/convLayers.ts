// Per-layer CPU time of the small CNN's convolutions (bench/smallCnn.ts, batch 64) on wasm with
// this project's kernels: the forward conv, dx (Conv2DBackpropInput; the first layer's is never
// needed in training) and dW (Conv2DBackpropFilter), called through the engine as training calls
// them. dy is a fresh tensor on every call, as in training: XNNPACK packs a conv's filter once per
// filter tensor, and dW's "filter" is the whole dy map (conv2dBackpropFilter.ts), so reusing one dy
// would hide that cost; the copy that makes it fresh is timed apart and subtracted. Process CPU
// time, the least of ROUNDS runs of REPS calls each (the machine is shared; CPU time does not count
// waiting for a core). Prints a markdown table. Run: npx tsx bench/convLayers.ts
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';

const ROUNDS = Number(process.env.ROUNDS ?? 4);
const REPS = Number(process.env.REPS ?? 3);
const B = Number(process.env.BATCH ?? 64);

const LAYERS = [
  { name: 'conv1 32x32x3->32', h: 32, c: 3, o: 32 },
  { name: 'conv2 32x32x32->32', h: 32, c: 32, o: 32 },
  { name: 'conv3 16x16x32->64', h: 16, c: 32, o: 64 },
  { name: 'conv4 16x16x64->64', h: 16, c: 64, o: 64 },
];

function cpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function best(f: () => tf.Tensor): number {
  let min = Infinity;
  tf.tidy(f); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const t = cpu();
    for (let i = 0; i < REPS; i++) tf.tidy(() => f().dataSync());
    min = Math.min(min, (cpu() - t) / REPS);
  }
  return min;
}

const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC' } as const;

async function main(): Promise<void> {
  await initBackend({ backend: 'wasm', announce: false });
  const loadStart = loadavg();
  const rows: string[] = [];
  const total = { f: 0, dx: 0, dw: 0 };
  for (const l of LAYERS) {
    const x = tf.randomUniform([B, l.h, l.h, l.c], -1, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, l.c, l.o], -1, 1, 'float32', 2) as tf.Tensor4D;
    const dy = tf.randomUniform([B, l.h, l.h, l.o], -1, 1, 'float32', 3) as tf.Tensor4D;
    const gflop = (2 * B * l.h * l.h * 9 * l.c * l.o) / 1e9;
    const copy = best(() => tf.add(dy, 0));
    const f = best(() => tf.conv2d(x, w, 1, 'same'));
    const dx = best(() => tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.add(dy, 0), filter: w }, { ...attrs, inputShape: x.shape }) as tf.Tensor) - copy;
    const dw = best(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: tf.add(dy, 0) }, { ...attrs, filterShape: w.shape }) as tf.Tensor) - copy;
    const rate = (ms: number) => (gflop / (ms / 1e3)).toFixed(1);
    rows.push(`| ${l.name} | ${(gflop * 1e3).toFixed(0)} | ${f.toFixed(1)} (${rate(f)}) | ${dx.toFixed(1)} (${rate(dx)}) | ${dw.toFixed(1)} (${rate(dw)}) |`);
    total.f += f;
    if (l.c !== 3) total.dx += dx;
    total.dw += dw;
    tf.dispose([x, w, dy]);
  }
  const la = (l: number[]) => l.map((v) => v.toFixed(2)).join(' / ');
  console.log(`batch ${B}, CPU ms (GFLOP/s), least of ${ROUNDS} x ${REPS}; load average ${la(loadStart)} at the start, ${la(loadavg())} at the end; tensors left ${tf.memory().numTensors}

| layer | MFLOP per pass | forward | dx | dW |
| --- | --- | --- | --- | --- |
${rows.join('\n')}
| training step (no dx for conv1) | | ${total.f.toFixed(1)} | ${total.dx.toFixed(1)} | ${total.dw.toFixed(1)} |`);
}

await main();
