// Forward pass, one Adam training step and one input gradient of the small CNN of DESIGN.md, per
// batch, on wasm with this project's gradient kernels, on stock wasm, and on the stock cpu
// backend. Writes bench/gradients-results.md (the lead merges it into bench/RESULTS.md).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, bench, describe } from 'vitest';
import { initBackend, installFastKernels, uninstallFastKernels } from '../src/backend/index.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { writeResultsSection } from './results.js';
import { Recorder, machineLine } from './results.js';
import { inputGradient, smallCnn, trainStep } from './smallCnn.js';

const OUT = fileURLToPath(new URL('./gradients-results.md', import.meta.url));
// The machine is shared with other agents: the load before and after says how far to trust it.
const loadAtStart = loadavg().map((l) => l.toFixed(2)).join(' / ');
const rec = new Recorder();
const opts = { iterations: 7, warmupIterations: 1, time: 0, warmupTime: 0 };

// The fastest of the timed runs: on a machine shared with other jobs the noise only ever adds
// time, so the minimum estimates the cost of the work itself better than the median (the
// medians are listed under the table).
function best(name: string): number | undefined {
  const t = rec.times.get(name);
  return t && t.length ? Math.min(...t) : undefined;
}

interface Setup {
  label: string;
  backend: 'wasm' | 'cpu';
  fast: boolean;
  batch: number;
  train: boolean;
}

const SETUPS: Setup[] = [
  { label: 'wasm + our kernels', backend: 'wasm', fast: true, batch: 64, train: true },
  { label: 'stock wasm', backend: 'wasm', fast: false, batch: 64, train: false },
  { label: 'stock cpu', backend: 'cpu', fast: false, batch: 8, train: true },
];

let state: { model: tf.LayersModel; opt: tf.Optimizer; x: tf.Tensor4D; y: tf.Tensor2D } | undefined;

async function use(s: Setup): Promise<void> {
  if (state) {
    tf.dispose([state.x, state.y]);
    state.model.dispose();
    state.opt.dispose();
  }
  await initBackend({ backend: s.backend, announce: false });
  if (s.fast) installFastKernels(s.backend);
  else uninstallFastKernels(s.backend);
  const model = smallCnn();
  const x = tf.randomUniform([s.batch, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Array.from({ length: s.batch }, (_, i) => i % 10), 'int32'), 10)) as tf.Tensor2D;
  state = { model, opt: tf.train.adam(1e-3), x, y };
}

for (const s of SETUPS) {
  describe(`${s.label}, batch ${s.batch}`, () => {
    bench(
      `forward`,
      rec.wrap(`${s.label}|forward`, () => {
        const out = state!.model.predict(state!.x) as tf.Tensor;
        out.dataSync();
        out.dispose();
      }),
      { ...opts, setup: () => use(s) },
    );
    if (s.train) {
      // Stock cpu takes about 30 s a step: three runs are enough to show the gap.
      const trainOpts = s.backend === 'cpu' ? { ...opts, iterations: 3 } : opts;
      bench(`training step (Adam)`, rec.wrap(`${s.label}|train`, () => void trainStep(state!.model, state!.opt, state!.x, state!.y)), { ...trainOpts, setup: () => use(s) });
    }
    bench(
      `input gradient`,
      rec.wrap(`${s.label}|inputGrad`, () => {
        const g = inputGradient(state!.model, state!.x, state!.y);
        g.dataSync();
        g.dispose();
      }),
      { ...opts, setup: () => use(s) },
    );
  });
}

afterAll(async () => {
  const rows = SETUPS.map((s) => {
    const f = best(`${s.label}|forward`);
    const t = best(`${s.label}|train`);
    const g = best(`${s.label}|inputGrad`);
    const cell = (v?: number) => (v === undefined ? 'n/a' : v.toFixed(1));
    const ips = (v?: number) => (v === undefined ? 'n/a' : Number(((s.batch / v) * 1000).toPrecision(2)).toString());
    const ratio = (v?: number) => (v === undefined || f === undefined ? 'n/a' : (v / f).toFixed(2));
    return `| ${s.label} | ${s.batch} | ${cell(f)} | ${cell(t)} | ${cell(g)} | ${ips(f)} | ${s.train ? ips(t) : 'throws (no Conv2DBackpropFilter)'} | ${ips(g)} | ${ratio(t)} | ${ratio(g)} |`;
  });
  const fast = SETUPS[0]!;
  const f = best(`${fast.label}|forward`);
  const t = best(`${fast.label}|train`);
  const g = best(`${fast.label}|inputGrad`);
  const medians = SETUPS.map((s) => {
    const cell = (k: string) => {
      const v = rec.ms(`${s.label}|${k}`);
      return v === undefined ? 'n/a' : v.toFixed(1);
    };
    return `${s.label}: ${cell('forward')} / ${cell('train')} / ${cell('inputGrad')}`;
  });
  const verdict = (ok: boolean) => (ok ? 'met' : 'not met');
  const targets =
    f !== undefined && t !== undefined && g !== undefined
      ? `- train/forward ${(t / f).toFixed(2)} (target <= 3.5): ${verdict(t / f <= 3.5)}
- input-grad/forward ${(g / f).toFixed(2)} (target <= 2.5): ${verdict(g / f <= 2.5)}
- training ${((fast.batch / t) * 1000).toFixed(0)} img/s (target >= 325, PyTorch on these 2 cores): ${verdict((fast.batch / t) * 1000 >= 325)}`
      : '- (the wasm + our kernels rows did not run)';
  writeFileAtomic(
    OUT,
    `## Gradients: the small CNN (bench/gradients.bench.ts)

conv32-conv32-pool-conv64-conv64-pool-dense128-dense10 on 32x32x3, softmax cross-entropy from
logits; the fastest of 7 timed runs after 1 warm-up (3 for the stock-cpu training step), one thread
(tfjs-backend-wasm runs single-threaded in Node). ${machineLine()}; load average at the start
${loadAtStart}. The machine is shared with other agents' tests and training runs, so these
times are upper bounds: a load above 2 on 2 cores means this process did not have a core to itself.

| setup | batch | forward ms | train step ms | input grad ms | forward img/s | train img/s | input-grad img/s | train/forward | input-grad/forward |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Medians, ms (forward / train step / input gradient): ${medians.join('; ')}.

Targets (issue 3), wasm + our kernels:
${targets}

Stock wasm cannot train at all (it has no Conv2DBackpropFilter kernel); its input gradient runs
through its slow Conv2DBackpropInput.
`,
  );
  // The same text as a section of bench/RESULTS.md, which gathers every bench.
  writeResultsSection('gradients', readFileSync(OUT, 'utf8'));
  if (state) {
    tf.dispose([state.x, state.y]);
    state.model.dispose();
    state.opt.dispose();
  }
  await initBackend({ backend: 'wasm', announce: false });
  installFastKernels('wasm');
});
