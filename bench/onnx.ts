// Import time and attack speed of an imported ONNX model (fixtures/onnx/resnet.onnx, a 3-block
// CIFAR ResNet exported by PyTorch): `npx tsx bench/onnx.ts`. Writes its section of bench/RESULTS.md.
import * as tf from '@tensorflow/tfjs';
import { loadavg } from 'node:os';
import { pgd } from '../src/attacks/pgd.js';
import { fgsm } from '../src/attacks/fgsm.js';
import { gradcam } from '../src/attribution/gradcam.js';
import { initBackend } from '../src/backend/index.js';
import { loadOnnxModel } from '../src/models/onnx/index.js';
import { machineLine, median, writeResultsSection } from './results.js';

const FILE = 'fixtures/onnx/resnet.onnx';
const BATCH = 100;
const RUNS = 3;

await initBackend({ announce: false });
const loadStart = loadavg().map((l) => l.toFixed(2)).join(' / ');
const imports: number[] = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  const m = await loadOnnxModel(FILE);
  imports.push(performance.now() - t);
  m.dispose();
}
const model = await loadOnnxModel(FILE);
const x = tf.randomUniform([BATCH, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
const y = tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % 10), 'int32');

async function time(fn: () => Promise<void>): Promise<number[]> {
  await fn(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

/** The same network as a tfjs LayersModel (random weights): what the import costs against a native model. */
function nativeResnet(): tf.LayersModel {
  const conv = (x: tf.SymbolicTensor, filters: number, k: number, strides: number) => tf.layers.conv2d({ filters, kernelSize: k, strides, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor) => tf.layers.activation({ activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  const input = tf.input({ shape: [32, 32, 3] });
  let x = relu(conv(input, 16, 3, 1));
  for (const [filters, strides] of [[16, 1], [32, 2], [64, 2]] as const) {
    const y = conv(relu(conv(x, filters, 3, strides)), filters, 3, 1);
    const shortcut = strides === 1 ? x : conv(x, filters, 1, strides);
    x = relu(tf.layers.add().apply([y, shortcut]) as tf.SymbolicTensor);
  }
  const out = tf.layers.dense({ units: 10 }).apply(tf.layers.globalAveragePooling2d({}).apply(x)) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}
const native = nativeResnet();

const rows: [string, string, number[]][] = [
  ['forward', `batch ${BATCH}`, await time(async () => { const o = model.predict(x); await o.data(); o.dispose(); })],
  ['FGSM', `eps 8/255, batch ${BATCH}`, await time(async () => { (await fgsm.run(model, x, y, { eps: 8 / 255 })).adversarial.dispose(); })],
  ['PGD-10', `Linf eps 8/255, 10 steps of eps/4, random start, batch ${BATCH}`, await time(async () => { (await pgd.run(model, x, y, { eps: 8 / 255, steps: 10, seed: 1 })).adversarial.dispose(); })],
  ['Grad-CAM', `default layer (${model.defaultGradCamValue().name}), batch ${BATCH}`, await time(async () => { (await gradcam(model, x)).dispose(); })],
  ['PGD-10, native LayersModel', 'the same network built with tf.layers (random weights), same settings', await time(async () => { (await pgd.run(native, x, y, { eps: 8 / 255, steps: 10, seed: 1 })).adversarial.dispose(); })],
];
native.dispose();
tf.dispose([x, y]);
model.dispose();

const fmt = (ms: number) => ms.toFixed(0);
const table = rows.map(([name, what, ts]) => `| ${name} | ${what} | ${fmt(Math.min(...ts))} | ${fmt(median(ts))} | ${((BATCH * 1000) / Math.min(...ts)).toFixed(1)} |`).join('\n');
const body = `## Imported ONNX model (bench/onnx.ts, \`npx tsx bench/onnx.ts\`)

${machineLine()}; load average at the start ${loadStart}. Backend ${tf.getBackend()}.

${FILE}: PyTorch ${'3-block CIFAR ResNet (16/32/64 filters, batch norm folded into the convs by the exporter), 78k parameters'}.
Import (read, parse, convert weights to NHWC, fold constants, two probe batches): fastest ${fmt(Math.min(...imports))} ms, median ${fmt(median(imports))} ms of 5.

| what | settings | fastest ms | median ms | img/s (fastest) |
| --- | --- | --- | --- | --- |
${table}

Fastest and median of ${RUNS} timed runs after one warm-up; the machine is shared, so these are upper bounds on time.`;
writeResultsSection('onnx', body);
console.log(body);
