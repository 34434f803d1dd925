// Where a PGD-10 run spends its time on fixtures/models/resnet20-base (100 CIFAR-10 test images,
// Linf 8/255), by kernel: every kernel's self time (its own time less the kernels it ran inside),
// grouped by what it computes, with backward kernels credited to the forward op whose gradient
// they compute, wasm allocation (makeOutput) and freeing (disposeData) apart, and the rest of the
// wall clock (tape bookkeeping, tidy scopes, JavaScript between kernels) as "engine and tape".
// Runs the stock layer-by-layer path and the frozen graph (src/models/frozen.ts) alternately.
// Writes the "pgd-profile" section of bench/RESULTS.md. Run: npx tsx bench/peer/profile.ts
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { attacks } from '../../src/attacks/index.js';
import { initBackend } from '../../src/backend/index.js';
import { cifar10 } from '../../src/data/index.js';
import { loadModel } from '../../src/models/index.js';
import { setFrozenInference } from '../../src/models/frozen.js';
import { machineLine, writeResultsSection } from '../results.js';
import { useSharedCifar } from './data.js';

/**
 * Process CPU time in ms: with other jobs on the two cores, wall-clock time around a kernel also
 * counts the time this process waited for a core; CPU time does not.
 */
function clock(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const ROUNDS = Number(process.env.PROFILE_ROUNDS ?? 2);
const MODEL_DIR = fileURLToPath(new URL('../../fixtures/models/resnet20-base', import.meta.url));

const CONV = /Conv2D|Conv2d|Depthwise/;
const BN = /BatchNorm/;
const ELEMENTWISE = new Set(['Add', 'AddN', 'Sub', 'Mul', 'Multiply', 'RealDiv', 'Relu', 'Relu6', 'Step', 'Cast', 'Neg', 'Sign', 'Maximum', 'Minimum', 'ClipByValue', 'Select', 'SelectV2', 'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'Rsqrt', 'Sqrt', 'Square', 'Abs', 'Exp', 'Log', 'RobustnessReluGrad', 'ZerosLike', 'OnesLike', 'Fill', 'Identity']);
const LAYOUT = new Set(['Reshape', 'Transpose', 'Reverse', 'Pad', 'PadV2', 'Slice', 'StridedSlice', 'Concat', 'DepthToSpace', 'Tile', 'Pack']);

function group(kernel: string, backwardOf: string | undefined): string {
  const origin = backwardOf ?? kernel;
  if (CONV.test(origin) || CONV.test(kernel)) return 'conv (and its gradient)';
  if (BN.test(origin)) return 'batch norm (and its gradient)';
  if (LAYOUT.has(kernel)) return 'layout (reshape, transpose, pad, slice)';
  if (ELEMENTWISE.has(kernel)) return 'elementwise (add, ReLU, masks, PGD update)';
  return 'other (pooling, dense, softmax, reductions)';
}

interface Stats {
  /** CPU time of the whole run (ms). */
  wall: number;
  /** Wall-clock time of the whole run (ms), for the record. */
  elapsed: number;
  self: Map<string, number>;
  byKernel: Map<string, number>;
  alloc: number;
  free: number;
  kernels: number;
}

/** Instruments the engine and the wasm backend for the duration of `f`. */
async function profile(f: () => Promise<void>): Promise<Stats> {
  const engine = tf.engine() as unknown as {
    runKernelFunc: (p: { kernelName?: string }) => unknown;
    addTapeNode: (...a: unknown[]) => void;
    state: { activeTape: { kernelName: string; inputs: Record<string, unknown>; gradient: (dys: unknown) => Record<string, () => unknown> }[] | null };
  };
  const backend = tf.backend() as unknown as { makeOutput: (...a: unknown[]) => unknown; disposeData: (...a: unknown[]) => unknown };
  const stats: Stats = { wall: 0, elapsed: 0, self: new Map(), byKernel: new Map(), alloc: 0, free: 0, kernels: 0 };
  const orig = { run: engine.runKernelFunc, tape: engine.addTapeNode, make: backend.makeOutput, dispose: backend.disposeData };
  const stack: { child: number }[] = [];
  let backwardOf: string | undefined;
  engine.runKernelFunc = function (this: unknown, p) {
    const name = p.kernelName ?? 'customGrad';
    stack.push({ child: 0 });
    const t = clock();
    try {
      return orig.run.call(this, p);
    } finally {
      const dt = clock() - t;
      const frame = stack.pop()!;
      if (stack.length) stack[stack.length - 1]!.child += dt;
      const key = name === 'customGrad' ? 'engine and tape' : group(name, backwardOf);
      stats.self.set(key, (stats.self.get(key) ?? 0) + dt - frame.child);
      const k2 = `${backwardOf ? `d(${backwardOf})/` : ''}${name}`;
      stats.byKernel.set(k2, (stats.byKernel.get(k2) ?? 0) + dt - frame.child);
      stats.kernels++;
    }
  };
  engine.addTapeNode = function (this: unknown, ...a: unknown[]) {
    orig.tape.apply(this, a);
    const tape = engine.state.activeTape;
    const node = tape?.[tape.length - 1];
    if (!node) return;
    const gradient = node.gradient;
    // customGrad nodes (the frozen convolutions here) have numbered inputs and a scope name.
    const label = '0' in node.inputs ? 'Conv2D (frozen)' : node.kernelName;
    node.gradient = (dys) => {
      const prev = backwardOf;
      backwardOf = label;
      try {
        const closures = gradient(dys);
        const wrapped: Record<string, () => unknown> = {};
        for (const [k, fn] of Object.entries(closures)) {
          wrapped[k] = () => {
            const before = backwardOf;
            backwardOf = label;
            try {
              return fn();
            } finally {
              backwardOf = before;
            }
          };
        }
        return wrapped;
      } finally {
        backwardOf = prev;
      }
    };
  };
  // Allocation and freeing inside a kernel are charged here and taken off that kernel's self time.
  backend.makeOutput = function (this: unknown, ...a: unknown[]) {
    const t = clock();
    try {
      return orig.make.apply(this, a);
    } finally {
      const dt = clock() - t;
      stats.alloc += dt;
      if (stack.length) stack[stack.length - 1]!.child += dt;
    }
  };
  backend.disposeData = function (this: unknown, ...a: unknown[]) {
    const t = clock();
    try {
      return orig.dispose.apply(this, a);
    } finally {
      const dt = clock() - t;
      stats.free += dt;
      if (stack.length) stack[stack.length - 1]!.child += dt;
    }
  };
  const t = clock();
  const t0 = performance.now();
  try {
    await f();
  } finally {
    stats.wall = clock() - t;
    stats.elapsed = performance.now() - t0;
    Object.assign(engine, { runKernelFunc: orig.run, addTapeNode: orig.tape });
    Object.assign(backend, { makeOutput: orig.make, disposeData: orig.dispose });
  }
  return stats;
}

async function main(): Promise<void> {
  const loadStart = loadavg();
  useSharedCifar();
  await initBackend({ backend: 'wasm', announce: false });
  const model = await loadModel(MODEL_DIR);
  const { images: x, labels: y } = await cifar10.test({ count: 100, seed: 1 });
  const modes = ['stock', 'frozen'] as const;
  const runs: Record<string, Stats[]> = { stock: [], frozen: [] };
  const pgd = async () => (await attacks.pgd.run(model, x, y, { eps: 8 / 255, batchSize: 100 })).adversarial.dispose();
  for (const mode of modes) {
    setFrozenInference(mode === 'frozen');
    await pgd(); // warm-up: XNNPACK operators, weight folding
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of modes) {
      setFrozenInference(mode === 'frozen');
      const s = await profile(pgd);
      runs[mode]!.push(s);
      console.log(`${mode}: ${s.wall.toFixed(0)} ms CPU, ${s.elapsed.toFixed(0)} ms wall, ${s.kernels} kernel calls`);
      console.log([...s.byKernel].sort((a, b) => b[1] - a[1]).slice(0, 14).map(([k, v]) => `  ${k}: ${(v / 10).toFixed(1)} ms/step`).join('\n'));
    }
  }
  setFrozenInference(true);
  // The run with the least wall time per mode: the one least disturbed by other jobs.
  const best = Object.fromEntries(modes.map((m) => [m, runs[m]!.reduce((a, b) => (b.wall < a.wall ? b : a))])) as Record<(typeof modes)[number], Stats>;
  const groups = [...new Set(modes.flatMap((m) => [...best[m].self.keys()]))].filter((g) => g !== 'engine and tape').sort();
  const rowOf = (label: string, get: (s: Stats) => number) =>
    `| ${label} | ${modes.map((m) => `${(get(best[m]) / 10).toFixed(1)} ms (${((get(best[m]) / best[m].wall) * 100).toFixed(0)}%)`).join(' | ')} |`;
  const kernelSum = (s: Stats) => [...s.self].filter(([k]) => k !== 'engine and tape').reduce((a, [, v]) => a + v, 0);
  const lines = [
    ...groups.map((g) => rowOf(g, (s) => s.self.get(g) ?? 0)),
    rowOf('allocation (wasm makeOutput)', (s) => s.alloc),
    rowOf('freeing (wasm disposeData)', (s) => s.free),
    rowOf('engine and tape (outside kernels)', (s) => s.wall - kernelSum(s) - s.alloc - s.free),
    rowOf('**one PGD step, CPU time**', (s) => s.wall),
  ];
  const text = `## One PGD step on resnet20-base, by kernel (bench/peer/profile.ts, \`npx tsx bench/peer/profile.ts\`)

${machineLine()}; load average at the start ${loadStart.map((l) => l.toFixed(2)).join(' / ')}.

PGD-10 (Linf 8/255, random start) on 100 CIFAR-10 test images, batch 100, wasm, one thread; the run
with the least CPU time of ${ROUNDS} profiled runs per setting (alternating), divided by 10 steps (so the
two clean/final forward passes are spread over the steps). Times are process CPU time (the machine is
shared, so wall time around a kernel would include waiting for a core); wall time of those runs:
stock ${(best.stock.elapsed / 10).toFixed(0)} ms, frozen ${(best.frozen.elapsed / 10).toFixed(0)} ms per step.
Self time of every kernel (its time less the kernels it called), a gradient kernel credited to the
forward op it differentiates (the frozen conv's gradient is a custom one: "conv"); allocation and
freeing of wasm tensors apart; "engine and tape" is the time outside every kernel (tape, tidy scopes,
customGrad glue, JavaScript between kernels).
Kernel calls per run: stock ${best.stock.kernels}, frozen ${best.frozen.kernels}.

| share | stock (layer by layer) | frozen (folded, fused, input gradient only) |
| --- | --- | --- |
${lines.join('\n')}
`;
  console.log(text);
  writeResultsSection('pgd-profile', text);
  tf.dispose([x, y]);
}

await main();
