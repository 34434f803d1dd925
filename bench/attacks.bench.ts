// Throughput of the attacks and attributions on a CIFAR ResNet-20-shaped model (random weights,
// built here with plain tf.layers until src/models has a ResNet builder), on the backend the
// project picks (wasm with the fast conv-gradient kernels here). Writes bench/attacks-results.md.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { attacks } from '../src/attacks/index.js';
import { gradcam, occlusion } from '../src/attribution/index.js';
import { initBackend } from '../src/backend/index.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { writeResultsSection } from './results.js';
import { resolveClassifier } from '../src/models/classifier.js';

const OUT = fileURLToPath(new URL('./attacks-results.md', import.meta.url));

/** CIFAR ResNet-20 (He et al. 2016, sec. 4.2): 3 stages x 3 basic blocks of 16/32/64 filters, 1x1 projection shortcuts. */
function resnet20(seed = 1): tf.LayersModel {
  let s = seed;
  const init = () => tf.initializers.heNormal({ seed: s++ });
  const convBnRelu = (x: tf.SymbolicTensor, filters: number, strides: number, relu: boolean): tf.SymbolicTensor => {
    let y = tf.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', useBias: false, kernelInitializer: init() }).apply(x) as tf.SymbolicTensor;
    y = tf.layers.batchNormalization().apply(y) as tf.SymbolicTensor;
    return relu ? (tf.layers.activation({ activation: 'relu' }).apply(y) as tf.SymbolicTensor) : y;
  };
  const input = tf.input({ shape: [32, 32, 3] });
  let x = convBnRelu(input, 16, 1, true);
  for (const [stage, filters] of [16, 32, 64].entries()) {
    for (let block = 0; block < 3; block++) {
      const strides = stage > 0 && block === 0 ? 2 : 1;
      const y = convBnRelu(convBnRelu(x, filters, strides, true), filters, 1, false);
      const shortcut = strides === 1 ? x : (tf.layers.conv2d({ filters, kernelSize: 1, strides, useBias: false, kernelInitializer: init() }).apply(x) as tf.SymbolicTensor);
      x = tf.layers.activation({ activation: 'relu' }).apply(tf.layers.add().apply([y, shortcut]) as tf.SymbolicTensor) as tf.SymbolicTensor;
    }
  }
  const pooled = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotNormal({ seed: s }) }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'resnet20_standin' });
}

const BATCH = 100;
// CW's 100 Adam steps and occlusion's 225 forward passes per image would take minutes per run at
// batch 100 on two shared cores; they run on smaller batches (images/s is what is compared).
const CW_BATCH = 20;
const OCCLUSION_BATCH = 4;
const EPS = 8 / 255;
const PAIRS = 3;

interface Row {
  label: string;
  batch: number;
  settings: string;
}
const ROWS: Row[] = [
  { label: 'FGSM', batch: BATCH, settings: 'eps 8/255' },
  { label: 'PGD-10', batch: BATCH, settings: 'Linf eps 8/255, 10 steps of eps/4, random start' },
  { label: '10 bare input gradients', batch: BATCH, settings: 'tf.grad of summed cross-entropy w.r.t. x through the same logits function, no attack logic' },
  { label: '10 stock input gradients', batch: BATCH, settings: 'the same through model.apply (fused convs compute filter gradients too)' },
  { label: 'DeepFool', batch: BATCH, settings: 'L2, maxIter 50, overshoot 0.02, push 1e-4, 10 candidates' },
  { label: 'CW-100', batch: CW_BATCH, settings: '100 Adam steps, 1 binary-search step (the default 5 would be 5x longer)' },
  { label: 'Grad-CAM', batch: BATCH, settings: 'last conv block (final ReLU), predicted class' },
  { label: 'Occlusion', batch: OCCLUSION_BATCH, settings: 'patch 4, stride 2 (225 positions per image), fill 0.5' },
];

const times = new Map<string, number[]>();
let model: tf.LayersModel;
let x: tf.Tensor4D;
let y: tf.Tensor1D;
let backend = '';
const extra: Record<string, string> = {};

function timed(label: string, fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    const t = performance.now();
    await fn();
    const list = times.get(label) ?? [];
    list.push(performance.now() - t);
    times.set(label, list);
  };
}

const slice = (n: number) => [x.slice([0, 0, 0, 0], [n, -1, -1, -1]), y.slice([0], [n])] as const;

beforeAll(async () => {
  backend = (await initBackend({ announce: false })).name;
  model = resnet20();
  x = tf.randomUniform([BATCH, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  // Labels = the model's own predictions, so every sample starts correctly classified and
  // DeepFool has work on all of them.
  y = tf.tidy(() => (model.predict(x) as tf.Tensor).argMax(1).toInt() as tf.Tensor1D);
});

const opts = { iterations: 2, warmupIterations: 0, time: 0, warmupTime: 0 };

describe(`attacks and attributions, ResNet-20 stand-in`, () => {
  bench('FGSM', timed('FGSM', async () => void (await attacks.fgsm.run(model, x, y, { eps: EPS })).adversarial.dispose()), opts);
  const tenGradients = (logits: (v: tf.Tensor4D) => tf.Tensor) => async () => {
    const onehot = tf.oneHot(y, 10);
    const g = tf.grad((v: tf.Tensor) => tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits(v as tf.Tensor4D)), onehot))) as tf.Scalar);
    for (let i = 0; i < 10; i++) {
      const d = g(x);
      await d.data();
      d.dispose();
    }
    onehot.dispose();
  };
  const pgd10 = timed('PGD-10', async () => {
    const r = await attacks.pgd.run(model, x, y, { eps: EPS });
    extra.pgd = `PGD-10 robust accuracy on the random-weight model: ${(r.predsAfter.filter((p, i) => p === r.predsBefore[i]).length / BATCH).toFixed(2)}`;
    r.adversarial.dispose();
  });
  // PGD and its baseline alternate within one bench, so both see the same background load.
  bench(
    'PGD-10 and 10 bare input gradients, alternating',
    async () => {
      const bare = timed('10 bare input gradients', async () => tenGradients((await resolveClassifier(model)).logits)());
      for (let round = 0; round < PAIRS; round++) {
        await bare();
        await pgd10();
      }
    },
    { ...opts, iterations: 1 },
  );
  bench('10 stock input gradients', timed('10 stock input gradients', tenGradients((v) => model.apply(v, { training: false }) as tf.Tensor)), opts);
  bench(
    'DeepFool',
    timed('DeepFool', async () => {
      const r = await attacks.deepfool.run(model, x, y);
      extra.deepfool = `DeepFool: ${r.queries.gradient / BATCH} gradient passes per image on average, success ${r.success.filter(Boolean).length}/${BATCH}, median L2 ${[...r.l2].sort((a, b) => a - b)[BATCH >> 1]!.toFixed(3)}`;
      r.adversarial.dispose();
    }),
    { ...opts, iterations: 1 },
  );
  bench(
    'CW-100',
    timed('CW-100', async () => {
      const [xs, ys] = slice(CW_BATCH);
      const r = await attacks.cw.run(model, xs, ys, { steps: 100, binarySearchSteps: 1 });
      tf.dispose([xs, ys, r.adversarial]);
    }),
    { ...opts, iterations: 1 },
  );
  bench('Grad-CAM', timed('Grad-CAM', async () => void (await gradcam(model, x, { batchSize: BATCH })).dispose()), opts);
  bench(
    'Occlusion',
    timed('Occlusion', async () => {
      const [xs, ys] = slice(OCCLUSION_BATCH);
      (await occlusion(model, xs, { patch: 4, stride: 2, batchSize: 225 })).dispose();
      tf.dispose([xs, ys]);
    }),
    { ...opts, iterations: 1 },
  );
});

afterAll(() => {
  // The fastest run is the one least disturbed by other jobs on the shared cores.
  const best = (v: number[]) => Math.min(...v);
  const lines = ROWS.filter((r) => times.has(r.label)).map((r) => {
    const ms = best(times.get(r.label)!);
    return `| ${r.label} | ${r.batch} | ${(ms / 1000).toFixed(2)} | ${((r.batch / ms) * 1000).toPrecision(3)} | ${r.settings} |`;
  });
  const pgd = times.get('PGD-10');
  const bare = times.get('10 bare input gradients');
  const overhead = pgd && bare ? `${((best(pgd) / best(bare) - 1) * 100).toFixed(1)}%` : 'n/a';
  const cpu = cpus();
  const text = `# Attacks and attributions: throughput (bench/attacks.bench.ts)

${new Date().toISOString()}, backend ${backend}, ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version},
load average at the end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')}. The machine is shared with other agents' jobs, so timings are noisy
(best of ${opts.iterations} runs, of ${PAIRS} for PGD-10 and its baseline, which alternate; DeepFool, CW and occlusion 1 run).

Model: CIFAR ResNet-20 shape (16/32/64 filters, 3 blocks a stage, batch norm, 1x1 projection
shortcuts, 0.27 M parameters), random He-normal weights, 32x32x3 inputs, labels = its own predictions.

| method | batch | seconds per batch | images/s | settings |
| --- | --- | --- | --- | --- |
${lines.join('\n')}

PGD-10 overhead over ten bare input-gradient calls: **${overhead}** (target: at most 15%; PGD adds
one forward pass for the clean predictions, one for the final ones, the random start, the
projections and the input checks). Both use the library's logits function, which runs Conv2D
layers unfused under a gradient; the stock row shows what plain \`model.apply\` costs, because
\`tf.fused.conv2d\`'s gradient also computes the (unused) filter gradients.

${Object.values(extra).join('\n\n')}
`;
  writeFileAtomic(OUT, text);
  // The same text as a section of bench/RESULTS.md, which gathers every bench.
  writeResultsSection('attacks', readFileSync(OUT, 'utf8'));
  tf.dispose([x, y]);
  model.dispose();
});
