import * as tf from '@tensorflow/tfjs';

type KernelFunc = tf.KernelConfig['kernelFunc'];

interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
}

/**
 * A permutation with size-1 axes dropped and runs of axes that stay adjacent (and in order)
 * merged: [64, 32, 32, 32] with perm [3, 1, 2, 0] becomes [64, 1024, 32] with perm [2, 1, 0].
 */
export function reducePermutation(shape: readonly number[], perm: readonly number[]): { dims: number[]; perm: number[] } {
  const kept = perm.filter((a) => shape[a] !== 1);
  // Group output-order axes into runs of consecutive input axes.
  const runs: number[][] = [];
  for (const a of kept) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1]! + 1 === a) last.push(a);
    else runs.push([a]);
  }
  // Input order of the runs gives the reduced input dims; their output order the reduced perm.
  const byInput = [...runs].sort((r, s) => r[0]! - s[0]!);
  const dims = byInput.map((r) => r.reduce((p, a) => p * shape[a]!, 1));
  return { dims, perm: runs.map((r) => byInput.indexOf(r)) };
}

/**
 * Transpose (float32) on wasm for the permutations that reduce to swapping the outer and inner
 * axes, [A, C] -> [C, A] or [A, M, C] -> [C, M, A], as a blocked JavaScript pass over the wasm
 * heap. The conv filter gradient (conv2dBackpropFilter.ts) moves the batch to the channel axis
 * with [3, 1, 2, 0] and dense-layer gradients transpose their weights; the stock wasm kernel runs
 * those through generic per-element index arithmetic (about 16 of 540 ms of the small CNN's
 * training step went to one [64, 32, 32, 32] transpose; this pass takes half that). Every other permutation and dtype goes
 * to the stock kernel. The values are moved, never computed, so the result is exact.
 */
export function transposeWasm(stock: KernelFunc | undefined): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { perm } = args.attrs as unknown as { perm: number[] };
    const r = x.dtype === 'float32' ? reducePermutation(x.shape, perm) : undefined;
    // A wide [A, C] (A < C) stays with the stock kernel, which was faster there ([64, 4096]: 0.2
    // against 0.6 ms); a tall one ([4096, 128], a dense layer's weights) ran 4x faster here.
    const swap2 = r && r.perm.length === 2 && r.perm[0] === 1 && r.dims[0]! >= r.dims[1]!;
    const swap3 = r && r.perm.length === 3 && r.perm[0] === 2 && r.perm[1] === 1 && r.perm[2] === 0;
    if (!r || !(swap2 || swap3)) {
      if (!stock) throw new Error(`Transpose on wasm: no kernel for ${x.dtype} with perm [${perm}]`);
      return stock(args);
    }
    const [a, m, c] = swap2 ? [r.dims[0]!, 1, r.dims[1]!] : (r.dims as [number, number, number]);
    const be = args.backend as unknown as WasmHeapBackend;
    const out = be.makeOutput(perm.map((p) => x.shape[p]!), 'float32');
    // Views after the allocation: growing the wasm memory detaches older ones.
    const y = be.typedArrayFromHeap(out) as Float32Array;
    const v = be.typedArrayFromHeap(x) as Float32Array;
    swapOuterInner(v, y, a, m, c);
    return out;
  };
}

/** y[k, j, i] = v[i, j, k] for v of shape [a, m, c], in tiles that stay in the L1 cache. */
export function swapOuterInner(v: Float32Array, y: Float32Array, a: number, m: number, c: number): void {
  const T = 8;
  const inRow = m * c; // stride of i in v
  const outRow = m * a; // stride of k in y
  for (let j = 0; j < m; j++) {
    for (let i0 = 0; i0 < a; i0 += T) {
      const i1 = Math.min(a, i0 + T);
      for (let k0 = 0; k0 < c; k0 += T) {
        const k1 = Math.min(c, k0 + T);
        for (let k = k0; k < k1; k++) {
          const dst = k * outRow + j * a;
          let src = i0 * inRow + j * c + k;
          for (let i = i0; i < i1; i++, src += inRow) y[dst + i] = v[src]!;
        }
      }
    }
  }
}
