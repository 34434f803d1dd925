// Side by side with PyTorch on the same machine, in one run: PGD-10 on fixtures/models/resnet20-base
// (the same weights on both sides, 500 CIFAR-10 test images, batch 100) and the small CNN's
// training step and input gradient (batch 64), the two sides alternating round by round so both
// see the same background load. Also times Grad-CAM and the sliding patch here (no peer).
// Writes the "peer" section of bench/RESULTS.md. Run: npx tsx bench/peer/run.ts
// (PEER_ROUNDS=n for more rounds, PEER_THREADS=n for PyTorch's thread count, 2 by default;
// PEER_MODES=stock,frozen,pool chooses this project's settings, PEER_WORKERS=n the pool's threads, 2 by default). Without PyTorch the peer side is skipped and the command to
// install it is printed. PEER_ONLY=attribution times only Grad-CAM and the sliding patch, the modes
// alternating, prints per-round figures and ratios with the load average, and writes nothing.
// PEER_ONLY=train times only the small CNN's training step: one thread, data-parallel on
// PEER_WORKERS threads (train's `workers` option), and PyTorch, alternating; prints, writes nothing.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { attacks } from '../../src/attacks/index.js';
import { gradcam, occlusion } from '../../src/attribution/index.js';
import { initBackend } from '../../src/backend/index.js';
import { cifar10 } from '../../src/data/index.js';
import { loadModel, predictClasses } from '../../src/models/index.js';
import { setFrozenInference } from '../../src/models/frozen.js';
import { closeWorkerPool, setWorkerThreads } from '../../src/workers/pool.js';
import { startDataParallel } from '../../src/workers/dataParallel.js';
import { machineLine, writeResultsSection } from '../results.js';
import { useSharedCifar } from './data.js';
import { inputGradient, smallCnn, trainStep } from '../smallCnn.js';

const ROUNDS = Number(process.env.PEER_ROUNDS ?? 3);
const IMAGES = 500;
const BATCH = 100;
const SMALL_BATCH = 64;
const SMALL_REPS = 3;
const EPS = 8 / 255;
const MODEL_DIR = fileURLToPath(new URL('../../fixtures/models/resnet20-base', import.meta.url));
const PEER = fileURLToPath(new URL('./torch_peer.py', import.meta.url));
const PYTHON = process.env.PEER_PYTHON ?? '/usr/bin/python3';
const WORKERS = Number(process.env.PEER_WORKERS ?? 2);
type Mode = 'stock' | 'frozen' | 'pool';

/** stock: layer by layer; frozen: the folded graph; pool: the frozen graph on WORKERS worker threads. */
function useMode(mode: Mode): void {
  setFrozenInference(mode !== 'stock');
  setWorkerThreads(mode === 'pool' ? WORKERS : 0);
}
const INSTALL = 'apt-get update && apt-get install -y python3-torch   (Debian\'s PyTorch; the peer runs with /usr/bin/python3, or set PEER_PYTHON)';

/** The PyTorch process: one JSON command per line in, one JSON answer per line out. */
class Peer {
  private readonly lines: AsyncIterator<string>;
  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  }
  static async start(): Promise<{ peer?: Peer; why?: string }> {
    const proc = spawn(PYTHON, [PEER], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const failed = new Promise<string>((resolve) => {
      proc.once('error', (e) => resolve(e.message));
      proc.once('exit', (code) => resolve(`exited with ${code}: ${stderr.trim().split('\n').slice(-1)[0] ?? ''}`));
    });
    const peer = new Peer(proc);
    const hello = peer.ask({ cmd: 'hello' });
    const first = await Promise.race([hello.then(() => undefined), failed]);
    if (first !== undefined) return { why: first };
    peer.version = (await hello) as { torch: string; threads: number };
    return { peer };
  }
  version: { torch: string; threads: number } = { torch: '', threads: 0 };
  async ask(cmd: object): Promise<Record<string, unknown>> {
    this.proc.stdin.write(`${JSON.stringify(cmd)}\n`);
    const { value, done } = await this.lines.next();
    if (done) throw new Error('the PyTorch peer exited');
    const out = JSON.parse(value) as Record<string, unknown>;
    if (!out.ok) throw new Error(`PyTorch peer: ${String(out.error)}`);
    return out;
  }
  async stop(): Promise<void> {
    await this.ask({ cmd: 'quit' }).catch(() => undefined);
    this.proc.kill();
  }
}

/** Process CPU time in ms (this process runs one thread of compute; PyTorch's counts both of its threads). */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const range = (v: number[], digits = 0) => {
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return lo.toFixed(digits) === hi.toFixed(digits) ? lo.toFixed(digits) : `${lo.toFixed(digits)}-${hi.toFixed(digits)}`;
};

/**
 * The small CNN's training step on WORKERS threads through train()'s data-parallel stepper (its
 * own copy of the model and its own Adam), started and warmed by one step; undefined when the
 * threads cannot start.
 */
async function smallDataParallel(sx: tf.Tensor4D, labels: tf.Tensor1D): Promise<{ step: () => Promise<number>; close: () => Promise<void> } | undefined> {
  const model = smallCnn();
  const optimizer = tf.train.adam(1e-3);
  const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);
  setWorkerThreads(WORKERS);
  const dp = await startDataParallel({ model, trainable, optimizer, numClasses: 10, threads: WORKERS, batchSize: SMALL_BATCH });
  if (typeof dp === 'string') {
    console.log(`data-parallel training could not start: ${dp}`);
    model.dispose();
    optimizer.dispose();
    return undefined;
  }
  await dp.step(sx, labels);
  return {
    step: async () => (await dp.step(sx, labels)).loss,
    close: async () => {
      await dp.close();
      model.dispose();
      optimizer.dispose();
    },
  };
}

/** PEER_ONLY=train: the small CNN's training step, one thread / data-parallel / PyTorch per round, printed only. */
async function trainOnly(): Promise<void> {
  await initBackend({ backend: 'wasm', announce: false });
  const { peer, why } = await Peer.start();
  if (!peer) console.log(`PyTorch peer skipped (${why}). Install it with: ${INSTALL}`);
  const smallModel = smallCnn();
  const opt = tf.train.adam(1e-3);
  const sx = tf.randomUniform([SMALL_BATCH, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
  const labels = tf.tensor1d(Array.from({ length: SMALL_BATCH }, (_, i) => i % 10), 'int32');
  const sy = tf.oneHot(labels, 10) as tf.Tensor2D;
  trainStep(smallModel, opt, sx, sy);
  let t = performance.now();
  const dp = await smallDataParallel(sx, labels);
  console.log(`${WORKERS} threads started and warmed in ${(performance.now() - t).toFixed(0)} ms; load ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const all: Record<string, number[]> = {};
  const push = (k: string, v: number) => (all[k] ??= []).push(v);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const line: Record<string, number> = {};
      for (let i = 0; i < SMALL_REPS; i++) {
        t = performance.now();
        let c = cpuNow();
        trainStep(smallModel, opt, sx, sy);
        push('one', performance.now() - t);
        push('one cpu', cpuNow() - c);
        if (dp) {
          t = performance.now();
          c = cpuNow();
          await dp.step();
          push('dp', performance.now() - t);
          push('dp cpu', cpuNow() - c);
        }
      }
      for (const k of ['one', 'dp', 'one cpu', 'dp cpu']) if (all[k]) line[k] = median(all[k]!.slice(-SMALL_REPS));
      if (peer) {
        const p = await peer.ask({ cmd: 'small', batch: SMALL_BATCH, reps: SMALL_REPS });
        line.peer = median(p.train_ms as number[]);
        line['peer cpu'] = median(p.train_cpu_ms as number[]);
        push('peer', line.peer);
      }
      const r = (a: number | undefined, b: number | undefined) => (a && b ? `${(a / b).toFixed(2)}x` : 'n/a');
      console.log(
        `round ${round + 1}/${ROUNDS}, load ${loadavg().map((v) => v.toFixed(2)).join(' ')}: one thread ${line.one!.toFixed(0)} ms (cpu ${line['one cpu']!.toFixed(0)}), ` +
          `data-parallel x${WORKERS} ${line.dp?.toFixed(0) ?? 'n/a'} ms (cpu ${line['dp cpu']?.toFixed(0) ?? 'n/a'}), PyTorch ${line.peer?.toFixed(0) ?? 'n/a'} ms (cpu ${line['peer cpu']?.toFixed(0) ?? 'n/a'}); ` +
          `data-parallel / one thread ${r(line.one, line.dp)}, one thread / PyTorch ${r(line.peer, line.one)}, data-parallel / PyTorch ${r(line.peer, line.dp)} (speed, above 1 is faster)`,
      );
    }
  } finally {
    await dp?.close();
    await closeWorkerPool();
    await peer?.stop();
    tf.dispose([sx, sy, labels]);
    smallModel.dispose();
    opt.dispose();
  }
}

/** PEER_ONLY=attribution: Grad-CAM (100 images) and the sliding patch (4 images), each mode per round, printed only. */
async function attributionOnly(): Promise<void> {
  useSharedCifar();
  await initBackend({ backend: 'wasm', announce: false });
  const model = await loadModel(MODEL_DIR);
  const { images: x } = await cifar10.test({ count: BATCH, seed: 1 });
  const modes = (process.env.PEER_MODES ?? 'stock,frozen,pool').split(',') as Mode[];
  const few = x.slice([0, 0, 0, 0], [4, -1, -1, -1]) as tf.Tensor4D;
  const got = new Map<string, number[]>();
  const push = (k: string, v: number) => got.set(k, [...(got.get(k) ?? []), v]);
  try {
    if (modes.includes('pool')) {
      useMode('pool');
      tf.dispose([await gradcam(model, few), await occlusion(model, few, { patch: 4, stride: 8 })]);
    }
    for (let round = 0; round < ROUNDS; round++) {
      const line: string[] = [];
      for (const mode of modes) {
        useMode(mode);
        let t = performance.now();
        let c = cpuNow();
        tf.dispose(await gradcam(model, x, { batchSize: BATCH }));
        push(`gradcam ${mode}`, (BATCH / (performance.now() - t)) * 1000);
        push(`gradcam ${mode} cpu`, (BATCH / (cpuNow() - c)) * 1000);
        t = performance.now();
        c = cpuNow();
        tf.dispose(await occlusion(model, few, { patch: 4, stride: 2, batchSize: 225 }));
        push(`occlusion ${mode}`, (4 / (performance.now() - t)) * 1000);
        push(`occlusion ${mode} cpu`, (4 / (cpuNow() - c)) * 1000);
        line.push(`${mode}: Grad-CAM ${got.get(`gradcam ${mode}`)!.at(-1)!.toFixed(0)} img/s (${got.get(`gradcam ${mode} cpu`)!.at(-1)!.toFixed(0)} per CPU s), sliding patch ${got.get(`occlusion ${mode}`)!.at(-1)!.toFixed(2)} img/s (${got.get(`occlusion ${mode} cpu`)!.at(-1)!.toFixed(2)} per CPU s)`);
      }
      const vs = (k: string, a: Mode, b: Mode, suffix = '') => (modes.includes(a) && modes.includes(b) ? ` ${a}/${b} ${(got.get(`${k} ${a}${suffix}`)!.at(-1)! / got.get(`${k} ${b}${suffix}`)!.at(-1)!).toFixed(2)}x` : '');
      console.log(`round ${round + 1}/${ROUNDS}, load ${loadavg().map((v) => v.toFixed(1)).join(' ')}: ${line.join('; ')}`);
      for (const [what, suffix] of [['wall', ''], ['per CPU second', ' cpu']] as const) {
        console.log(`  ${what}: sliding patch${vs('occlusion', 'frozen', 'stock', suffix)}${vs('occlusion', 'pool', 'stock', suffix)}${vs('occlusion', 'pool', 'frozen', suffix)}; Grad-CAM${vs('gradcam', 'frozen', 'stock', suffix)}${vs('gradcam', 'pool', 'stock', suffix)}`);
      }
    }
  } finally {
    await closeWorkerPool();
    tf.dispose([x, few]);
  }
}

async function main(): Promise<void> {
  const loadStart = loadavg();
  useSharedCifar();
  await initBackend({ backend: 'wasm', announce: false });
  const model = await loadModel(MODEL_DIR);
  const samples = await cifar10.test({ count: IMAGES, seed: 1 });
  const x = samples.images;
  const y = samples.labels;
  const modes = (process.env.PEER_MODES ?? 'stock,frozen,pool').split(',') as Mode[];

  const dir = mkdtempSync(join(tmpdir(), 'peer-'));
  const { peer, why } = await Peer.start();
  if (!peer) console.log(`PyTorch peer skipped (${why}). Install it with: ${INSTALL}`);

  const rows = new Map<string, number[]>();
  const push = (k: string, v: number) => rows.set(k, [...(rows.get(k) ?? []), v]);
  let agreement = 'n/a';
  let modeAgreement = 'n/a';
  let dp: Awaited<ReturnType<typeof smallDataParallel>>;
  try {
    const preds: Record<string, Int32Array> = {};
    for (const mode of modes) {
      useMode(mode);
      preds[mode] = await predictClasses(model, x);
    }
    const ref = preds[modes[0]!]!;
    const labels = await y.data();
    const acc = ref.filter((p, i) => p === labels[i]).length / IMAGES;
    if (peer) {
      writeFileSync(join(dir, 'x.f32'), new Uint8Array((await x.data()).buffer));
      writeFileSync(join(dir, 'y.i32'), new Uint8Array(new Int32Array(labels).buffer));
      const loaded = await peer.ask({ cmd: 'load', model: MODEL_DIR, images: join(dir, 'x.f32'), labels: join(dir, 'y.i32'), shape: x.shape });
      const theirs = loaded.predictions as number[];
      agreement = `${theirs.filter((p, i) => p === ref[i]).length}/${IMAGES}`;
    }
    modeAgreement = modes.length > 1 ? `${preds[modes[1]!]!.filter((p, i) => p === ref[i]).length}/${IMAGES}` : 'n/a';
    console.log(`clean accuracy ${(acc * 100).toFixed(1)}%, predictions equal to PyTorch's: ${agreement}, ${modes.join(' vs ')}: ${modeAgreement}`);

    const smallModel = smallCnn();
    const opt = tf.train.adam(1e-3);
    const sx = tf.randomUniform([SMALL_BATCH, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const sy = tf.oneHot(tf.tensor1d(Array.from({ length: SMALL_BATCH }, (_, i) => i % 10), 'int32'), 10) as tf.Tensor2D;
    trainStep(smallModel, opt, sx, sy);
    tf.dispose(inputGradient(smallModel, sx, sy));

    if (modes.includes('pool')) {
      // Starting the threads (tfjs, wasm, kernels, the model's copy) is paid once per process; timed apart.
      useMode('pool');
      const t = performance.now();
      const few = x.slice([0, 0, 0, 0], [2 * WORKERS, -1, -1, -1]);
      const fy = y.slice([0], [2 * WORKERS]);
      const r = await attacks.pgd.run(model, few, fy, { eps: EPS, steps: 1 });
      push('pool start', performance.now() - t);
      // Each thread's first Grad-CAM and sliding patch build their parts of the frozen graph once.
      const warm = [await gradcam(model, few), await occlusion(model, few, { patch: 4, stride: 8 })];
      tf.dispose([r.adversarial, few, fy, ...warm]);
    }
    // The training step on the worker threads, as train({ workers }) runs it (started and warmed here, apart from the timings).
    const smallLabels = tf.tensor1d(Array.from({ length: SMALL_BATCH }, (_, i) => i % 10), 'int32');
    const t0 = performance.now();
    dp = await smallDataParallel(sx, smallLabels);
    if (dp) push('dp start', performance.now() - t0);
    for (let round = 0; round < ROUNDS; round++) {
      let frozenAdv: Float32Array | undefined;
      for (const mode of modes) {
        useMode(mode);
        let t = performance.now();
        let c = cpuNow();
        const r = await attacks.pgd.run(model, x, y, { eps: EPS, batchSize: BATCH, seed: round });
        push(`pgd ${mode}`, (IMAGES / (performance.now() - t)) * 1000);
        push(`pgd ${mode} cpu`, (cpuNow() - c) / IMAGES);
        // The pool's adversarial images against the calling thread's (same seed, same round).
        const adv = (await r.adversarial.data()) as Float32Array;
        if (mode === 'frozen') frozenAdv = adv;
        if (mode === 'pool' && frozenAdv) push('pool vs frozen', adv.reduce((m, v, i) => Math.max(m, Math.abs(v - frozenAdv![i]!)), 0));
        r.adversarial.dispose();
        const hundred = x.slice([0, 0, 0, 0], [BATCH, -1, -1, -1]);
        t = performance.now();
        c = cpuNow();
        const cams = await gradcam(model, hundred, { batchSize: BATCH });
        push(`gradcam ${mode}`, (BATCH / (performance.now() - t)) * 1000);
        push(`gradcam ${mode} cpu`, (BATCH / (cpuNow() - c)) * 1000);
        tf.dispose([cams, hundred]);
        const few = x.slice([0, 0, 0, 0], [4, -1, -1, -1]);
        t = performance.now();
        c = cpuNow();
        const maps = await occlusion(model, few, { patch: 4, stride: 2, batchSize: 225 });
        push(`occlusion ${mode}`, (4 / (performance.now() - t)) * 1000);
        push(`occlusion ${mode} cpu`, (4 / (cpuNow() - c)) * 1000);
        tf.dispose([maps, few]);
      }
      useMode('frozen');
      if (peer) {
        const p = await peer.ask({ cmd: 'pgd', batch: BATCH, eps: EPS, steps: 10, seed: round });
        push('pgd peer', IMAGES / (p.seconds as number));
        push('pgd peer cpu', ((p.cpu_seconds as number) * 1000) / IMAGES);
      }
      for (let i = 0; i < SMALL_REPS; i++) {
        let t = performance.now();
        let c = cpuNow();
        trainStep(smallModel, opt, sx, sy);
        push('train ours', performance.now() - t);
        push('train ours cpu', cpuNow() - c);
        t = performance.now();
        c = cpuNow();
        const g = inputGradient(smallModel, sx, sy);
        await g.data();
        push('grad ours', performance.now() - t);
        push('grad ours cpu', cpuNow() - c);
        g.dispose();
        if (dp) {
          t = performance.now();
          c = cpuNow();
          await dp.step();
          push('train dp', performance.now() - t);
          push('train dp cpu', cpuNow() - c);
        }
      }
      if (peer) {
        const p = await peer.ask({ cmd: 'small', batch: SMALL_BATCH, reps: SMALL_REPS });
        for (const v of p.train_ms as number[]) push('train peer', v);
        for (const v of p.grad_ms as number[]) push('grad peer', v);
        for (const v of p.train_cpu_ms as number[]) push('train peer cpu', v);
        for (const v of p.grad_cpu_ms as number[]) push('grad peer cpu', v);
      }
      console.log(`round ${round + 1}/${ROUNDS}: ${[...rows].map(([k, v]) => `${k} ${v[v.length - 1]!.toFixed(1)}`).join(', ')}`);
    }
    tf.dispose([sx, sy, smallLabels]);
    smallModel.dispose();
  } finally {
    await dp?.close();
    await closeWorkerPool();
    await peer?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const loadEnd = loadavg();
  const get = (k: string) => rows.get(k) ?? [];
  // Ratios per round (ours / theirs in the same round), so both sides saw the same load.
  const ratio = (ours: number[], theirs: number[], higherIsBetter: boolean) =>
    theirs.length ? range(ours.map((o, i) => (higherIsBetter ? o / theirs[i]! : theirs[i]! / o)), 2) + 'x' : 'n/a (no peer)';
  const perRound = (v: number[]) => Array.from({ length: ROUNDS }, (_, r) => median(v.slice(r * SMALL_REPS, (r + 1) * SMALL_REPS)));
  const label = (m: Mode) => (m === 'pool' ? `frozen, ${WORKERS} worker threads` : m);
  const lines: string[] = [];
  for (const mode of modes) {
    lines.push(`| PGD-10, Linf 8/255, 500 images, batch 100 (${label(mode)}) | ${range(get(`pgd ${mode}`), 1)} img/s | ${peer ? range(get('pgd peer'), 1) + ' img/s' : 'n/a'} | ${ratio(get(`pgd ${mode}`), get('pgd peer'), true)} |`);
  }
  const trainOurs = perRound(get('train ours'));
  const trainPeer = peer ? perRound(get('train peer')) : [];
  const gradOurs = perRound(get('grad ours'));
  const gradPeer = peer ? perRound(get('grad peer')) : [];
  lines.push(`| small CNN, batch 64, training step | ${range(trainOurs)} ms | ${peer ? range(trainPeer) + ' ms' : 'n/a'} | ${ratio(trainOurs, trainPeer, false)} |`);
  const trainDp = perRound(get('train dp'));
  if (get('train dp').length) lines.push(`| the same, data-parallel on ${WORKERS} worker threads (train's \`workers\`) | ${range(trainDp)} ms | ${peer ? range(trainPeer) + ' ms' : 'n/a'} | ${ratio(trainDp, trainPeer, false)} |`);
  lines.push(`| small CNN, batch 64, input gradient | ${range(gradOurs)} ms | ${peer ? range(gradPeer) + ' ms' : 'n/a'} | ${ratio(gradOurs, gradPeer, false)} |`);
  const attribution = modes.map((m) => `| ${label(m)} | ${range(get(`gradcam ${m}`), 1)} | ${range(get(`gradcam ${m} cpu`), 1)} | ${range(get(`occlusion ${m}`), 2)} | ${range(get(`occlusion ${m} cpu`), 2)} |`);
  // CPU time: what each side's work costs whatever else runs on the machine (PyTorch's counts both threads).
  const cpuLines: string[] = [];
  for (const mode of modes) {
    cpuLines.push(`| PGD-10 per image (${label(mode)}) | ${range(get(`pgd ${mode} cpu`), 1)} ms | ${peer ? range(get('pgd peer cpu'), 1) + ' ms' : 'n/a'} | ${ratio(get(`pgd ${mode} cpu`), get('pgd peer cpu'), false)} |`);
  }
  const trainCpu = perRound(get('train ours cpu'));
  const trainPeerCpu = peer ? perRound(get('train peer cpu')) : [];
  const gradCpu = perRound(get('grad ours cpu'));
  const gradPeerCpu = peer ? perRound(get('grad peer cpu')) : [];
  cpuLines.push(`| small CNN training step | ${range(trainCpu)} ms | ${peer ? range(trainPeerCpu) + ' ms' : 'n/a'} | ${ratio(trainCpu, trainPeerCpu, false)} |`);
  const trainDpCpu = perRound(get('train dp cpu'));
  if (get('train dp cpu').length) cpuLines.push(`| the same, data-parallel on ${WORKERS} threads | ${range(trainDpCpu)} ms | ${peer ? range(trainPeerCpu) + ' ms' : 'n/a'} | ${ratio(trainDpCpu, trainPeerCpu, false)} |`);
  cpuLines.push(`| small CNN input gradient | ${range(gradCpu)} ms | ${peer ? range(gradPeerCpu) + ' ms' : 'n/a'} | ${ratio(gradCpu, gradPeerCpu, false)} |`);
  const versus = (k: string, a: Mode, b: Mode, suffix: string, inverse: boolean) =>
    modes.includes(a) && modes.includes(b) ? ` (${a} / ${b} per round: ${range(get(`${k} ${a}${suffix}`).map((v, i) => (inverse ? get(`${k} ${b}${suffix}`)[i]! / v : v / get(`${k} ${b}${suffix}`)[i]!)), 2)}x)` : '';
  const speedup = (k: string, suffix = '', inverse = false) => versus(k, 'frozen', 'stock', suffix, inverse) + versus(k, 'pool', 'frozen', suffix, inverse);
  const poolLine = modes.includes('pool')
    ? `\n"pool" is the frozen graph on ${WORKERS} worker threads (src/workers/pool.ts), each with its own wasm backend and a copy of the model, part of the batch each;
its figures leave out starting the threads (${range(get('pool start'))} ms once per process, timed apart). Its PGD adversarial images differ from the
calling thread's in the same round by at most ${get('pool vs frozen').length ? Math.max(...get('pool vs frozen')).toExponential(1) : 'n/a'} (same seeds). Its CPU time is the whole process's, all threads.\n`
    : '';
  const fmt = (l: number[]) => l.map((v) => v.toFixed(2)).join(' / ');
  const threads = peer?.version.threads ?? 2;
  const threadsText = threads === 1 ? '1 thread' : `${threads} threads`;
  const cores = cpus().length;
  const loaded = Math.max(loadStart[0]!, loadEnd[0]!) > cores;
  const warning = loaded
    ? `\n**The machine was loaded** (load average up to ${Math.max(loadStart[0]!, loadEnd[0]!).toFixed(1)} on ${cores} cores): neither side had its cores, so the wall-clock figures are not what either achieves on a free machine; rerun on a quiet one.\n`
    : '';
  const text = `## Side by side with PyTorch (bench/peer/run.ts, \`npx tsx bench/peer/run.ts\`)

${machineLine()}; load average at the start ${fmt(loadStart)}, at the end ${fmt(loadEnd)}.
${warning}${peer ? `PyTorch ${peer.version.torch}, ${threadsText} (Debian's python3-torch, bench/peer/torch_peer.py)` : `PyTorch not installed here; the peer side was skipped (${INSTALL})`}.
${ROUNDS} rounds, the sides alternating within each round; ranges over the rounds, ratios taken per round
(ours / theirs in throughput, theirs / ours in time, so above 1 means faster than PyTorch). This project's
"stock" and "frozen" run on one thread (wasm); PyTorch on ${threadsText}. "stock" is the library's logits path before issue 20 (the
LayersModel applied layer by layer), "frozen" the folded, fused inference graph (src/models/frozen.ts).
${poolLine}
Same weights on both sides (fixtures/models/resnet20-base, read from model.json and weights.bin by the peer):
predictions on the 500 images equal to PyTorch's for ${agreement}; ${modes.join(' and ')} here agree on ${modeAgreement}.

| work | this project (wasm + our kernels) | PyTorch, ${threadsText} | ratio |
| --- | --- | --- | --- |
${lines.join('\n')}

The small CNN's training step and input gradient run in the calling thread (training does not use the frozen graph);
the data-parallel row is the same step on ${WORKERS} worker threads as \`train(..., { workers: ${WORKERS} })\` runs it (src/workers/dataParallel.ts:
each thread the gradient of half the batch, summed in shared memory, one Adam update in the calling thread; ${get('dp start').length ? `starting it took ${range(get('dp start'))} ms, timed apart` : 'not started'}),
${trainDp.length ? `its speed over the one-thread step per round ${range(trainOurs.map((v, i) => v / trainDp[i]!), 2)}x` : 'not measured: the threads did not start'}.

CPU time of the same runs (process CPU time${(peer?.version.threads ?? 1) > 1 ? "; PyTorch's sums its threads, and on a loaded machine includes their spinning at barriers" : ''}):

| work | this project, CPU | PyTorch, CPU | ratio |
| --- | --- | --- | --- |
${cpuLines.join('\n')}

Attributions on resnet20-base, this project only, images/s: Grad-CAM on 100 images (batch 100), the sliding
patch (patch 4, stride 2, 225 positions, fill 0.5) on 4 images.

| setting | Grad-CAM | Grad-CAM per CPU second | sliding patch | sliding patch per CPU second |
| --- | --- | --- | --- | --- |
${attribution.join('\n')}

Wall clock: PGD${speedup('pgd')}; Grad-CAM${speedup('gradcam')}; sliding patch${speedup('occlusion')}.
CPU time: Grad-CAM${speedup('gradcam', ' cpu')}; sliding patch${speedup('occlusion', ' cpu')}; PGD${speedup('pgd', ' cpu', true)}.
`;
  console.log(text);
  writeResultsSection('peer', text);
}

if (process.env.PEER_ONLY === 'attribution') await attributionOnly();
else if (process.env.PEER_ONLY === 'train') await trainOnly();
else if (process.env.PEER_ONLY) throw new Error(`PEER_ONLY=${process.env.PEER_ONLY}: the parts that run alone are 'attribution' and 'train'.`);
else await main();
