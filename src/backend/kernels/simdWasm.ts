import * as tf from '@tensorflow/tfjs';

/**
 * Small wasm SIMD loops that run directly on tfjs-backend-wasm's heap: a second WebAssembly
 * module, assembled here from its bytes (below), that imports the backend's own memory, so the
 * kernels read and write tensors in place with 4-wide float instructions. The JavaScript loops
 * they replace (the ReLU mask of a gradient, DepthToSpace) ran at about a fifth of the speed of the
 * backend's own XNNPACK elementwise kernels (measured on [100, 32, 32, 8]: 2.8 ms against 0.3-0.5 ms
 * for Add). Each function computes exactly what the JavaScript loop computes, in the same float32
 * operations, so results are bit-identical; tests compare them. When the backend's memory is not
 * reachable or the engine lacks SIMD, {@link simdKernels} returns undefined and callers keep the
 * JavaScript loops.
 */
export interface SimdKernels {
  /** out[i] = dy[i] * [0 < y[i]] (* [y[i] <= cap] when cap is finite); byte offsets, n floats. */
  reluMask(dy: number, y: number, out: number, n: number, cap: number): void;
  /**
   * out[i] = (a[i] + b[i]) * [0 < y[i]]: a gradient that arrives by two paths, summed, then masked
   * by the ReLU whose output is y; byte offsets, n floats.
   */
  addReluMask(a: number, b: number, y: number, out: number, n: number): void;
  /**
   * DepthToSpace (NHWC) for runs of `run` floats, a multiple of 4: for each of `rows` input rows of
   * `w` pixels of `d` channels, block row i in [0, s) gathers from each pixel the `run` floats at
   * channel i * run. Byte offsets.
   */
  depthToSpace(src: number, dst: number, rows: number, w: number, d: number, s: number, run: number): void;
}

// --- a minimal wasm binary writer: only what the functions below use ---

const I32 = 0x7f;
const F32 = 0x7d;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}
const str = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

// Instructions.
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const i32c = (v: number) => [0x41, ...sleb(v)];
const f32c = (v: number) => [0x43, ...new Uint8Array(new Float32Array([v]).buffer)];
const I32_ADD = [0x6a];
const I32_MUL = [0x6c];
const I32_SHL = [0x74];
const I32_AND = [0x71];
const I32_GE_U = [0x4f];
const F32_LOAD = [0x2a, 2, 0];
const F32_STORE = [0x38, 2, 0];
const F32_GT = [0x5e];
const F32_LE = [0x5f];
const F32_ADD = [0x92];
const F32_MUL = [0x94];
const F32_FROM_U32 = [0xb3];
const simd = (op: number) => [0xfd, ...uleb(op)];
const V_LOAD = [...simd(0x00), 2, 0];
const V_STORE = [...simd(0x0b), 2, 0];
const V_AND = simd(0x4e);
const F32X4_SPLAT = simd(0x13);
const F32X4_GT = simd(0x44);
const F32X4_LE = simd(0x45);
const F32X4_ADD = simd(0xe4);
const F32X4_MUL = simd(0xe6);
const END = [0x0b];
/** for (;;) { if (cond) break; body } with cond and body as instruction lists. */
const loopUntil = (cond: number[], body: number[]) => [0x02, 0x40, 0x03, 0x40, ...cond, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b];
/** local += step */
const bump = (l: number, step: number[]) => [...get(l), ...step, ...I32_ADD, ...set(l)];

/**
 * reluMask(dy, y, out, n, cap): locals 5 = byte index i, 6 = end of the 4-wide part, 7 = end; the
 * mask is 1.0 or 0.0 (as the JavaScript `+(y > 0)`), then one multiply, as the JavaScript loop.
 */
function reluMaskBody(): number[] {
  const [dy, y, out, n, cap, i, end4, end] = [0, 1, 2, 3, 4, 5, 6, 7];
  const vMask = [
    // ((y > 0) & (y <= cap)) & 1.0 : a float mask of 1.0 or 0.0
    ...get(y), ...get(i), ...I32_ADD, ...V_LOAD, ...f32c(0), ...F32X4_SPLAT, ...F32X4_GT,
    ...get(y), ...get(i), ...I32_ADD, ...V_LOAD, ...get(cap), ...F32X4_SPLAT, ...F32X4_LE, ...V_AND,
    ...f32c(1), ...F32X4_SPLAT, ...V_AND,
  ];
  const sMask = [
    ...get(y), ...get(i), ...I32_ADD, ...F32_LOAD, ...f32c(0), ...F32_GT,
    ...get(y), ...get(i), ...I32_ADD, ...F32_LOAD, ...get(cap), ...F32_LE, ...I32_AND, ...F32_FROM_U32,
  ];
  return [
    ...get(n), ...i32c(-4), ...I32_AND, ...i32c(2), ...I32_SHL, ...set(end4),
    ...get(n), ...i32c(2), ...I32_SHL, ...set(end),
    ...loopUntil([...get(i), ...get(end4), ...I32_GE_U], [
      ...get(out), ...get(i), ...I32_ADD,
      ...get(dy), ...get(i), ...I32_ADD, ...V_LOAD, ...vMask, ...F32X4_MUL, ...V_STORE,
      ...bump(i, i32c(16)),
    ]),
    ...loopUntil([...get(i), ...get(end), ...I32_GE_U], [
      ...get(out), ...get(i), ...I32_ADD,
      ...get(dy), ...get(i), ...I32_ADD, ...F32_LOAD, ...sMask, ...F32_MUL, ...F32_STORE,
      ...bump(i, i32c(4)),
    ]),
    ...END,
  ];
}

/** addReluMask(a, b, y, out, n): locals 5 = i, 6 = end4, 7 = end. (a + b) * mask, as the JavaScript loop. */
function addReluMaskBody(): number[] {
  const [a, b, y, out, n, i, end4, end] = [0, 1, 2, 3, 4, 5, 6, 7];
  const at = (p: number) => [...get(p), ...get(i), ...I32_ADD];
  return [
    ...get(n), ...i32c(-4), ...I32_AND, ...i32c(2), ...I32_SHL, ...set(end4),
    ...get(n), ...i32c(2), ...I32_SHL, ...set(end),
    ...loopUntil([...get(i), ...get(end4), ...I32_GE_U], [
      ...at(out),
      ...at(a), ...V_LOAD, ...at(b), ...V_LOAD, ...F32X4_ADD,
      ...at(y), ...V_LOAD, ...f32c(0), ...F32X4_SPLAT, ...F32X4_GT, ...f32c(1), ...F32X4_SPLAT, ...V_AND,
      ...F32X4_MUL, ...V_STORE,
      ...bump(i, i32c(16)),
    ]),
    ...loopUntil([...get(i), ...get(end), ...I32_GE_U], [
      ...at(out),
      ...at(a), ...F32_LOAD, ...at(b), ...F32_LOAD, ...F32_ADD,
      ...at(y), ...F32_LOAD, ...f32c(0), ...F32_GT, ...F32_FROM_U32,
      ...F32_MUL, ...F32_STORE,
      ...bump(i, i32c(4)),
    ]),
    ...END,
  ];
}

/**
 * depthToSpace(src, dst, rows, w, d, s, run): params 0-6; locals 7 = row, 8 = block row i, 9 = pixel,
 * 10 = t (bytes within the run), 11 = p (source of the current run), 12 = o (destination).
 */
function depthToSpaceBody(): number[] {
  const [src, dst, rows, w, d, s, run, row, bi, px, t, p, o] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const ge = (a: number, b: number) => [...get(a), ...get(b), ...I32_GE_U];
  const zero = (l: number) => [...i32c(0), ...set(l)];
  // bytes: run * 4 and d * 4
  return [
    ...get(dst), ...set(o),
    ...get(run), ...i32c(2), ...I32_SHL, ...set(run),
    ...get(d), ...i32c(2), ...I32_SHL, ...set(d),
    ...zero(row),
    ...loopUntil(ge(row, rows), [
      ...zero(bi),
      ...loopUntil(ge(bi, s), [
        // p = src + (row * w) * d + bi * run
        ...get(src), ...get(row), ...get(w), ...I32_MUL, ...get(d), ...I32_MUL, ...I32_ADD, ...get(bi), ...get(run), ...I32_MUL, ...I32_ADD, ...set(p),
        ...zero(px),
        ...loopUntil(ge(px, w), [
          ...zero(t),
          ...loopUntil(ge(t, run), [
            ...get(o), ...get(t), ...I32_ADD, ...get(p), ...get(t), ...I32_ADD, ...V_LOAD, ...V_STORE,
            ...bump(t, i32c(16)),
          ]),
          ...bump(o, get(run)),
          ...bump(p, get(d)),
          ...bump(px, i32c(1)),
        ]),
        ...bump(bi, i32c(1)),
      ]),
      ...bump(row, i32c(1)),
    ]),
    ...END,
  ];
}

function moduleBytes(shared: boolean): Uint8Array {
  const types = [
    [0x60, ...vec([[I32], [I32], [I32], [I32], [F32]]), 0], // reluMask
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), 0], // addReluMask
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [I32], [I32]]), 0], // depthToSpace
  ];
  // A shared memory must be imported as shared, with a maximum (the largest wasm32 allows).
  const limits = shared ? [0x03, ...uleb(1), ...uleb(65536)] : [0x00, ...uleb(1)];
  const imports = [[...str('env'), ...str('memory'), 0x02, ...limits]];
  const locals = (n: number, t: number) => [...uleb(1), ...uleb(n), t];
  const body = (loc: number[], code: number[]) => {
    const b = [...loc, ...code];
    return [...uleb(b.length), ...b];
  };
  const bodies = [body(locals(3, I32), reluMaskBody()), body(locals(3, I32), addReluMaskBody()), body(locals(6, I32), depthToSpaceBody())];
  const exports = ['reluMask', 'addReluMask', 'depthToSpace'].map((name, k) => [...str(name), 0x00, ...uleb(k)]);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec([[0], [1], [2]])),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ]);
}

/** The part of the WebAssembly global used here (the project's TypeScript libs leave it out). */
interface WasmMemory {
  buffer: ArrayBuffer;
}
interface WasmApi {
  Memory: new (d: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: object };
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** The wasm backend's memory, or undefined when this tfjs-backend-wasm build does not expose it. */
function backendMemory(): WasmMemory | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const wasm = (tf.backend() as unknown as { wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown } }).wasm;
  const m = wasm?.asm?.memory ?? wasm?.wasmMemory;
  return WA && m instanceof WA.Memory ? (m as WasmMemory) : undefined;
}

const instances = new WeakMap<WasmMemory, SimdKernels | null>();
let disabled = false;

/** Turns the SIMD loops off (tests and benchmarks compare them with the JavaScript loops). */
export function setSimdKernels(on: boolean): void {
  disabled = !on;
}

/**
 * The SIMD loops bound to the current wasm backend's memory, or undefined (not on wasm, memory
 * not exposed, no SIMD in this engine, or turned off by {@link setSimdKernels}).
 */
export function simdKernels(): SimdKernels | undefined {
  if (disabled) return undefined;
  const memory = backendMemory();
  if (!memory) return undefined;
  let k = instances.get(memory);
  if (k === undefined) {
    try {
      const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
      const mod = new WA!.Module(moduleBytes(shared));
      k = new WA!.Instance(mod, { env: { memory } }).exports as unknown as SimdKernels;
    } catch {
      k = null;
    }
    instances.set(memory, k);
  }
  return k ?? undefined;
}
