// A worker thread of pool.ts: its own tfjs on the wasm backend with this project's kernels, the
// models it was sent (one set of weights each), the built-in attacks and attributions, and its
// share of data-parallel training steps (trainShare.ts).
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { markWorkerThread } from './pool.js';
import type { AttackTask, MapsTask, ModelTask, ToMain, ToWorker } from './protocol.js';

markWorkerThread();

const port = parentPort!;
const { initBackend } = await import('../backend/select.js');
const { installFastKernels, uninstallFastKernels, fastKernelsInstalled } = await import('../backend/kernels/install.js');
const { setFrozenInference } = await import('../models/frozen.js');
const { resolveClassifier } = await import('../models/classifier.js');
const { attacks } = await import('../attacks/registry.js');
const { attackPieceRunner } = await import('../attacks/defineAttack.js');
const { gradcam } = await import('../attribution/gradcam.js');
const { occlusion } = await import('../attribution/occlusion.js');
const { startTraining, trainStep, endTraining, loadCopy } = await import('./trainShare.js');

await initBackend({ backend: 'wasm', announce: false });

const models = new Map<number, { version: number; model: tf.LayersModel }>();

function post(message: ToMain, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function apply(settings: { frozen?: boolean; kernels: boolean }): void {
  if (settings.frozen !== undefined) setFrozenInference(settings.frozen);
  if (settings.kernels !== fastKernelsInstalled('wasm')) {
    if (settings.kernels) installFastKernels('wasm');
    else uninstallFastKernels('wasm');
  }
}

function modelOf(id: number, version: number): tf.LayersModel {
  const m = models.get(id);
  if (!m || m.version !== version) throw new Error(`worker: model ${id} version ${version} was not sent before its work`);
  return m.model;
}

function rows(images: SharedArrayBuffer, shape: number[], start: number, count: number): tf.Tensor4D {
  const size = shape[1]! * shape[2]! * shape[3]!;
  // A copy: the wasm backend keeps its own, and the shared buffer stays the caller's.
  return tf.tensor4d(new Float32Array(images, start * size * 4, count * size).slice(), [count, shape[1]!, shape[2]!, shape[3]!]);
}

async function loadModel(m: ModelTask): Promise<void> {
  const model = await loadCopy(m.artifacts);
  models.get(m.id)?.model.dispose();
  models.set(m.id, { version: m.version, model });
}

async function attack(t: AttackTask): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  apply(t);
  const model = modelOf(t.modelId, t.version);
  const run = attackPieceRunner((attacks as unknown as Record<string, import('../attacks/types.js').Attack<any>>)[t.name]!);
  if (!run) throw new Error(`worker: '${t.name}' is not a built-in attack`);
  const clf = await resolveClassifier(model, { output: t.output });
  const out = [];
  const transfer: ArrayBuffer[] = [];
  for (const p of t.pieces) {
    const x = rows(t.images, t.shape, p.start, p.count);
    const labels = tf.tensor1d(t.labels.subarray(p.start, p.start + p.count), 'int32');
    const targetHost = t.targets?.subarray(p.start, p.start + p.count);
    const target = targetHost ? tf.tensor1d(targetHost, 'int32') : undefined;
    try {
      const r = await run({ clf, x, labels, target, labelsHost: t.labels.subarray(p.start, p.start + p.count), targetHost, seed: p.seed, rows: { offset: p.offset, total: p.total }, params: t.params });
      out.push(r);
      transfer.push(r.adversarial.buffer as ArrayBuffer);
    } finally {
      tf.dispose([x, labels]);
      target?.dispose();
    }
  }
  return { result: out, transfer };
}

async function maps(t: MapsTask): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  apply(t);
  const model = modelOf(t.modelId, t.version);
  const x = rows(t.images, t.shape, t.start, t.count);
  try {
    const f = t.method === 'gradcam' ? gradcam : occlusion;
    const m = await f(model, x, { ...t.params, target: t.targets });
    const data = new Float32Array(await m.data());
    m.dispose();
    return { result: data, transfer: [data.buffer] };
  } finally {
    x.dispose();
  }
}

// One task at a time, in the order sent.
let queue: Promise<void> = Promise.resolve();
port.on('message', (m: ToWorker) => {
  queue = queue.then(async () => {
    try {
      if (m.kind === 'model') {
        await loadModel(m);
        post({ kind: 'done', task: m.task, result: true });
      } else if (m.kind === 'train-start') {
        apply({ kernels: m.kernels });
        await startTraining(m);
        post({ kind: 'done', task: m.task, result: true });
      } else if (m.kind === 'train-step') {
        post({ kind: 'done', task: m.task, result: trainStep(m) });
      } else if (m.kind === 'train-end') {
        endTraining(m.session);
        post({ kind: 'done', task: m.task, result: true });
      } else {
        const { result, transfer } = m.kind === 'attack' ? await attack(m) : await maps(m);
        post({ kind: 'done', task: m.task, result }, transfer);
      }
    } catch (err) {
      const e = err as Error & { modelLoad?: boolean };
      post({ kind: 'failed', task: m.task, message: e.message ?? String(err), stack: e.stack, modelLoad: e.modelLoad });
    }
  });
});

post({ kind: 'ready' });
