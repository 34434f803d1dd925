// Worker threads for the built-in attacks and attributions: each thread has its own tfjs with the
// wasm backend and this project's kernels, and a copy of the model (sent once per set of weights);
// each takes part of the batch. A wasm backend in Node runs on one thread, so this is how an attack
// uses the machine's other cores. Results are the ones the test's own thread gives: the same
// chunks with the same seeds (see chunkRows.ts for PGD and FGSM, whose chunks are split by rows).
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { fastKernelsInstalled } from '../backend/kernels/install.js';
import type { Classifier } from '../models/classifier.js';
import { frozenInferenceEnabled } from '../models/frozen.js';
import type { Attack, CommonParams } from '../attacks/types.js';
import { attacks } from '../attacks/registry.js';
import { setAttackPool, type PieceResult, type PooledAttackInput, type PooledAttackResult } from '../attacks/pooling.js';
import { setMapsPool } from '../attribution/pooling.js';
import type { MapsTask, AttackTask, Piece, ToMain, ToWorker } from './protocol.js';

/** The most worker threads started when `ROBUSTNESS_WORKERS` does not say. */
export const DEFAULT_MAX_WORKERS = 8;

/** Attacks whose chunks may be split by rows: every row's result depends on that row alone. */
const ROW_SPLIT = new Set(['pgd', 'fgsm']);

let insideWorker = false;
let override: number | undefined;

/** Called by the worker entry: a worker never starts workers of its own. */
export function markWorkerThread(): void {
  insideWorker = true;
}

/**
 * Sets the number of worker threads for this process (0: everything in the calling thread);
 * `undefined` goes back to `ROBUSTNESS_WORKERS` and the default. For tests and benchmarks.
 */
export function setWorkerThreads(count: number | undefined): void {
  if (count !== undefined && !(Number.isInteger(count) && count >= 0)) throw new RangeError(`setWorkerThreads: give a whole number of threads (0 for none); got ${String(count)}.`);
  override = count;
}

/**
 * The number of threads `setWorkerThreads` or else `ROBUSTNESS_WORKERS` sets (0 for none, which 1
 * also means), undefined when neither says; refuses a value that is not a whole number.
 */
export function configuredWorkerThreads(env: NodeJS.ProcessEnv = process.env): number | undefined {
  if (insideWorker) return 0;
  if (override !== undefined) return override >= 2 ? override : 0;
  const raw = env.ROBUSTNESS_WORKERS?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (!(Number.isInteger(n) && n >= 0)) throw new Error(`ROBUSTNESS_WORKERS=${raw}: give a whole number of worker threads (0 to attack in the test's own thread), or unset it for one per core.`);
  return n >= 2 ? n : 0;
}

/**
 * How many worker threads attacks and attributions use: `ROBUSTNESS_WORKERS` when set (0 or 1 for
 * none: one worker would only add copying to the calling thread's work), else the cores shared
 * among the test files Vitest runs at once (`ROBUSTNESS_PARALLEL_FILES`, set by the plugin from
 * Vitest's maxWorkers), at most {@link DEFAULT_MAX_WORKERS}; none when that leaves fewer than 2,
 * since each Vitest worker already keeps a core busy.
 */
export function workerThreadCount(env: NodeJS.ProcessEnv = process.env): number {
  if (insideWorker) return 0;
  const set = configuredWorkerThreads(env);
  if (set !== undefined) return set;
  const files = Math.max(1, Math.floor(Number(env.ROBUSTNESS_PARALLEL_FILES) || 1));
  const n = Math.min(DEFAULT_MAX_WORKERS, Math.floor(availableParallelism() / files));
  return n >= 2 ? n : 0;
}

// ---------------------------------------------------------------------------------------------
// The threads

export interface Slot {
  index: number;
  worker: Worker;
  ready: Promise<void>;
  started: boolean;
  /** Model id to the weights version this worker holds. */
  models: Map<number, number>;
  pending: Set<number>;
}

interface Waiter {
  slot: Slot;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

let slots: Slot[] = [];
let unavailable: string | undefined;
let warned = false;
let nextTask = 1;
const waiters = new Map<number, Waiter>();

/** How long a worker may take to load tfjs, the wasm backend and the kernels. */
const START_TIMEOUT_MS = 180_000;

/** Writes one line to stderr, once per process (the first reason the work stays in the calling thread). */
export function warnOnce(message: string): void {
  if (warned || process.env.ROBUSTNESS_QUIET) return;
  warned = true;
  process.stderr.write(`vitest-robustness: ${message}\n`);
}

let sourceOverride: URL | undefined;

/**
 * Makes new worker threads load `entry` instead of worker.js (undefined: back to it), and forgets
 * a failure to start: tests of the fallback give an entry that fails.
 */
export function setWorkerEntry(entry: URL | undefined): void {
  sourceOverride = entry;
  unavailable = undefined;
  warned = false;
}

/** The worker's entry: dist/workers/worker.js, or the .ts source loaded through tsx (this repository's tests). */
function workerSource(): { url: URL } | { code: string } {
  if (sourceOverride) return { url: sourceOverride };
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return { url: new URL('./worker.js', here) };
  const entry = new URL('./worker.ts', here).href;
  let api: string;
  try {
    const pkg = createRequire(here).resolve('tsx/package.json');
    const exp = (JSON.parse(readFileSync(pkg, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api']!;
    api = pathToFileURL(join(dirname(pkg), exp.import.default)).href;
  } catch (err) {
    throw new Error(`the sources (${here}) need tsx to run in a worker thread, and it could not be found (${(err as Error).message.split('\n')[0]})`);
  }
  return { code: `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });` };
}

function startSlot(index: number): Slot {
  const src = workerSource();
  const options = { env: { ...process.env, ROBUSTNESS_QUIET: '1' }, stderr: false, stdout: false };
  const worker = 'url' in src ? new Worker(src.url, options) : new Worker(src.code, { ...options, eval: true });
  worker.unref();
  let onReady!: () => void;
  let onStartFail!: (err: Error) => void;
  const slot: Slot = {
    index,
    worker,
    started: false,
    models: new Map(),
    pending: new Set(),
    ready: new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onStartFail = reject;
    }),
  };
  const timer = setTimeout(() => onStartFail(new Error(`worker ${index} did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
  timer.unref();
  worker.on('message', (m: ToMain) => {
    if (m.kind === 'ready') {
      clearTimeout(timer);
      slot.started = true;
      onReady();
      return;
    }
    const w = waiters.get(m.task);
    if (!w) return;
    waiters.delete(m.task);
    slot.pending.delete(m.task);
    if (slot.pending.size === 0) worker.unref();
    if (m.kind === 'done') w.resolve(m.result);
    else {
      const err = new Error(m.message);
      if (m.stack) err.stack = m.stack;
      (err as Error & { modelLoad?: boolean }).modelLoad = m.modelLoad;
      w.reject(err);
    }
  });
  const lost = (why: string) => {
    clearTimeout(timer);
    if (!slot.started) {
      onStartFail(new Error(`worker ${index} ${why} while starting`));
      return;
    }
    const err = new Error(
      `vitest-robustness: worker thread ${index} ${why} in the middle of its work; the call that used it fails, and the next call starts new threads. Set ROBUSTNESS_WORKERS=0 to run attacks and attributions in the test's own thread.`,
    );
    (err as Error & { threadLost?: boolean }).threadLost = true;
    for (const task of slot.pending) {
      const w = waiters.get(task);
      waiters.delete(task);
      w?.reject(err);
    }
    slot.pending.clear();
    // One lost thread stops the pool: the others are ended and the next call starts afresh.
    if (slots.includes(slot)) void closeWorkerPool();
  };
  worker.on('error', (err) => lost(`failed (${err.message.split('\n')[0]})`));
  worker.on('exit', (code) => lost(`exited (code ${code})`));
  return slot;
}

/** Why the threads could not start in this process (undefined: they can, or no start was tried). */
export function threadsUnavailable(): string | undefined {
  return unavailable;
}

/** The running worker threads (diagnostics and tests). */
export function workerThreads(): readonly Worker[] {
  return slots.map((s) => s.worker);
}

/** Ends every worker thread (the next call starts new ones). */
export async function closeWorkerPool(): Promise<void> {
  const old = slots;
  slots = [];
  await Promise.all(old.map((s) => s.worker.terminate().catch(() => undefined)));
}

/**
 * The first `count` threads, started when needed; undefined (with a warning, once, ending with
 * `fallback`) when they cannot start.
 */
export async function threads(count: number, fallback = "attacks and attributions run in the test's own thread"): Promise<Slot[] | undefined> {
  if (unavailable) return undefined;
  try {
    while (slots.length < count) slots.push(startSlot(slots.length));
    const use = slots.slice(0, count);
    await Promise.all(use.map((s) => s.ready));
    return use;
  } catch (err) {
    unavailable = (err as Error).message.split('\n')[0]!;
    warnOnce(`worker threads could not start (${unavailable}); ${fallback}. Set ROBUSTNESS_WORKERS=0 to skip the attempt.`);
    await closeWorkerPool();
    return undefined;
  }
}

/**
 * Starts the worker threads in the background when attacks will use them (the setup entry calls
 * it), so their start overlaps the test's loading of data and model. Never throws; a failure to
 * start is reported once and the work then runs in the calling thread.
 */
export function warmWorkerThreads(): void {
  try {
    const count = workerThreadCount();
    if (count >= 2 && !unavailable && tf.getBackend() === 'wasm') void threads(count);
  } catch {
    // A bad ROBUSTNESS_WORKERS is reported by the first attack that reads it.
  }
}

/** A fresh task number for a message to a worker. */
export function taskId(): number {
  return nextTask++;
}

/** Sends one task to a thread; resolves with its result, rejects with its error or when the thread is lost. */
export function send<T>(slot: Slot, message: ToWorker, transfer: ArrayBuffer[] = []): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (!slots.includes(slot)) {
      reject(Object.assign(new Error(`vitest-robustness: worker thread ${slot.index} was ended before its work was sent.`), { threadLost: true }));
      return;
    }
    waiters.set(message.task, { slot, resolve: resolve as (v: unknown) => void, reject });
    slot.pending.add(message.task);
    slot.worker.ref();
    try {
      slot.worker.postMessage(message, transfer as never);
    } catch (err) {
      waiters.delete(message.task);
      slot.pending.delete(message.task);
      if (slot.pending.size === 0) slot.worker.unref();
      reject(err as Error);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Models

interface ModelEntry {
  id: number;
  version: number;
  dataIds: unknown[];
  artifacts?: Promise<tf.io.ModelArtifacts>;
  failed?: string;
}

const models = new WeakMap<tf.LayersModel, ModelEntry>();
let nextModel = 1;

/** The model's entry, its version moved on when any weight changed since (a variable's assign gives it a new dataId). */
function modelEntry(model: tf.LayersModel): ModelEntry {
  const ids = model.weights.map((w) => w.read().dataId);
  let e = models.get(model);
  if (!e) {
    e = { id: nextModel++, version: 1, dataIds: ids };
    models.set(model, e);
  } else if (ids.length !== e.dataIds.length || ids.some((id, i) => id !== e!.dataIds[i])) {
    e.version++;
    e.dataIds = ids;
    e.artifacts = undefined;
  }
  return e;
}

export async function saveToMemory(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let out: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      out = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out!;
}

/** Makes every slot hold the model's current weights; false (with a warning, once) when the model cannot be copied. */
async function shareModel(model: tf.LayersModel, use: Slot[]): Promise<ModelEntry | undefined> {
  const e = modelEntry(model);
  if (e.failed) return undefined;
  const need = use.filter((s) => s.models.get(e.id) !== e.version);
  if (need.length === 0) return e;
  try {
    e.artifacts ??= saveToMemory(model);
    const artifacts = await e.artifacts;
    const version = e.version;
    await Promise.all(
      need.map(async (s) => {
        await send(s, { kind: 'model', task: nextTask++, id: e.id, version, artifacts });
        s.models.set(e.id, version);
      }),
    );
    return e;
  } catch (err) {
    const e2 = err as Error & { modelLoad?: boolean };
    if (!e2.modelLoad && !(e2 instanceof DOMException) && !/could not be cloned|serializ|save/i.test(e2.message)) throw err;
    e.failed = e2.message.split('\n')[0]!;
    warnOnce(`model '${model.name}' cannot be copied to the worker threads (${e.failed}); it is attacked in the test's own thread.`);
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Work

export function settings(): { frozen: boolean; kernels: boolean } {
  return { frozen: frozenInferenceEnabled(), kernels: fastKernelsInstalled('wasm') };
}

/** Whether this call can go to the threads at all: a LayersModel on the wasm backend, threads wanted. */
function poolable(model: Classifier): number {
  if (!(model instanceof tf.LayersModel)) return 0;
  const count = workerThreadCount();
  if (count < 2 || unavailable) return 0;
  if (tf.getBackend() !== 'wasm') return 0;
  return count;
}

async function sharedImages(x: tf.Tensor4D): Promise<SharedArrayBuffer> {
  const data = (await x.data()) as Float32Array;
  const sab = new SharedArrayBuffer(data.byteLength);
  new Float32Array(sab).set(data);
  return sab;
}

/** Splits the chunks of `n` rows over `count` threads: by rows (ROW_SPLIT) or by whole chunks. */
export function planPieces(n: number, batchSize: number, seed: number, count: number, byRows: boolean): Piece[][] {
  const plan: Piece[][] = Array.from({ length: count }, () => []);
  const load = new Array<number>(count).fill(0);
  for (let start = 0, chunk = 0; start < n; start += batchSize, chunk++) {
    const size = Math.min(batchSize, n - start);
    if (byRows) {
      const parts = Math.min(count, size);
      for (let w = 0, offset = 0; w < parts; w++) {
        const rows = Math.floor(size / parts) + (w < size % parts ? 1 : 0);
        plan[w]!.push({ start: start + offset, count: rows, offset, total: size, seed: seed + chunk });
        offset += rows;
      }
    } else {
      const w = load.indexOf(Math.min(...load));
      plan[w]!.push({ start, count: size, offset: 0, total: size, seed: seed + chunk });
      load[w]! += size;
    }
  }
  return plan.filter((p) => p.length > 0);
}

/**
 * Runs a built-in attack on the worker threads, or returns undefined when it should run in the
 * calling thread (no threads wanted or available, a custom attack, a model they cannot copy, one
 * piece of work only).
 */
export async function runPooledAttack(attack: Attack<any>, input: PooledAttackInput): Promise<PooledAttackResult | undefined> {
  const count = poolable(input.model);
  if (count < 2) return undefined;
  if ((attacks as Record<string, unknown>)[attack.name] !== attack) return undefined;
  const { x, params } = input;
  const n = x.shape[0];
  const plan = planPieces(n, params.batchSize, params.seed, count, ROW_SPLIT.has(attack.name));
  if (plan.length < 2) return undefined;
  const use = await threads(plan.length);
  if (!use) return undefined;
  const model = input.model as tf.LayersModel;
  const entry = await shareModel(model, use);
  if (!entry) return undefined;
  let cloned: CommonParams;
  try {
    cloned = structuredClone({ ...params, target: undefined });
  } catch {
    return undefined;
  }
  const images = await sharedImages(x);
  const base: Omit<AttackTask, 'task' | 'pieces'> = {
    kind: 'attack',
    name: attack.name,
    modelId: entry.id,
    version: entry.version,
    output: input.output,
    params: cloned,
    shape: x.shape,
    images,
    labels: input.labelsHost,
    targets: input.targets,
    ...settings(),
  };
  const results = await Promise.all(use.map((s, w) => send<PieceResult[]>(s, { ...base, task: nextTask++, pieces: plan[w]! })));
  const size = x.shape[1] * x.shape[2] * x.shape[3];
  const adv = new Float32Array(n * size);
  const out = { predsBefore: new Int32Array(n), predsAfter: new Int32Array(n), linf: new Float32Array(n), l2: new Float32Array(n), queries: { forward: 0, gradient: 0 } };
  results.forEach((parts, w) =>
    parts.forEach((r, i) => {
      const p = plan[w]![i]!;
      adv.set(r.adversarial, p.start * size);
      out.predsBefore.set(r.predsBefore, p.start);
      out.predsAfter.set(r.predsAfter, p.start);
      out.linf.set(r.linf, p.start);
      out.l2.set(r.l2, p.start);
      out.queries.forward += r.queries.forward;
      out.queries.gradient += r.queries.gradient;
    }),
  );
  return { ...out, adversarial: tf.tensor4d(adv, x.shape) };
}

/**
 * Computes attribution maps of a built-in method on the worker threads, rows split evenly (every
 * map depends on its own image only), or returns undefined to compute them in the calling thread.
 * `targets` are the classes already resolved (undefined: each thread takes the predicted class).
 */
export async function runPooledMaps(method: MapsTask['method'], model: Classifier, x: tf.Tensor4D, params: Record<string, unknown>, targets: Int32Array | undefined): Promise<tf.Tensor3D | undefined> {
  const count = Math.min(poolable(model), x.shape[0]);
  if (count < 2) return undefined;
  const use = await threads(count);
  if (!use) return undefined;
  const entry = await shareModel(model as tf.LayersModel, use);
  if (!entry) return undefined;
  let cloned: Record<string, unknown>;
  try {
    cloned = structuredClone({ ...params, target: undefined });
  } catch {
    return undefined;
  }
  const [n, H, W] = x.shape;
  const images = await sharedImages(x);
  const parts: { start: number; count: number }[] = [];
  for (let w = 0, start = 0; w < count; w++) {
    const rows = Math.floor(n / count) + (w < n % count ? 1 : 0);
    parts.push({ start, count: rows });
    start += rows;
  }
  const maps = await Promise.all(
    use.map((s, w) =>
      send<Float32Array>(s, {
        kind: 'maps',
        task: nextTask++,
        method,
        modelId: entry.id,
        version: entry.version,
        params: cloned,
        shape: x.shape,
        images,
        start: parts[w]!.start,
        count: parts[w]!.count,
        targets: targets?.slice(parts[w]!.start, parts[w]!.start + parts[w]!.count),
        ...settings(),
      }),
    ),
  );
  const all = new Float32Array(n * H * W);
  maps.forEach((m, w) => all.set(m, parts[w]!.start * H * W));
  return tf.tensor3d(all, [n, H, W]);
}

// Loading this module puts the threads behind runAttack, the matchers and the attributions.
setAttackPool(runPooledAttack);
setMapsPool(runPooledMaps);
