// Per-kernel CPU-time profile of any tfjs work on the current backend (used by profile.ts): each
// kernel's self time grouped by what it computes, gradient kernels credited to their forward op,
// wasm allocation and freeing apart, and the rest as "engine and tape".
import * as tf from '@tensorflow/tfjs';

/**
 * Process CPU time in ms: with other jobs on the two cores, wall-clock time around a kernel also
 * counts the time this process waited for a core; CPU time does not.
 */
function clock(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const CONV = /Conv2D|Conv2d|Depthwise/;
const BN = /BatchNorm/;
const ELEMENTWISE = new Set(['Add', 'AddN', 'Sub', 'Mul', 'Multiply', 'RealDiv', 'Relu', 'Relu6', 'Step', 'Cast', 'Neg', 'Sign', 'Maximum', 'Minimum', 'ClipByValue', 'Select', 'SelectV2', 'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'Rsqrt', 'Sqrt', 'Square', 'Abs', 'Exp', 'Log', 'RobustnessReluGrad', 'ZerosLike', 'OnesLike', 'Fill', 'Identity']);
const LAYOUT = new Set(['Reshape', 'Transpose', 'Reverse', 'Pad', 'PadV2', 'Slice', 'StridedSlice', 'Concat', 'DepthToSpace', 'Tile', 'Pack']);

/** The label of a custom-gradient op's backward other than a frozen conv's (its kernels are grouped by what they compute). */
const FROZEN_GRAPH = 'custom op';

function group(kernel: string, backwardOf: string | undefined): string {
  const origin = backwardOf === FROZEN_GRAPH ? kernel : (backwardOf ?? kernel);
  if (CONV.test(origin) || CONV.test(kernel)) return 'conv (and its gradient)';
  if (BN.test(origin)) return 'batch norm (and its gradient)';
  if (LAYOUT.has(kernel)) return 'layout (reshape, transpose, pad, slice)';
  if (ELEMENTWISE.has(kernel)) return 'elementwise (add, ReLU, masks, PGD update)';
  return 'other (pooling, dense, softmax, reductions)';
}

export interface Stats {
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
export async function profile(f: () => Promise<void>): Promise<Stats> {
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
    // customGrad nodes have numbered inputs and a scope name: a frozen convolution (a rank-4
    // output), or another custom-gradient op (the frozen graph as one op, src/models/frozen.ts
    // graphBackward; logSoftmax), whose backward kernels are grouped by their own names.
    const outputs = (node as unknown as { outputs?: { rank: number }[] }).outputs;
    const label = '0' in node.inputs ? (outputs?.[0]?.rank === 4 ? 'Conv2D (frozen)' : FROZEN_GRAPH) : node.kernelName;
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

