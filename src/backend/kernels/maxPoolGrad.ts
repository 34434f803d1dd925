import * as tf from '@tensorflow/tfjs';

type KernelFunc = tf.KernelConfig['kernelFunc'];

/** The part of tfjs-backend-wasm's backend this kernel uses: views of tensors in the wasm heap. */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
}

/**
 * MaxPoolGrad (NHWC, float32) as one pass over the wasm heap in JavaScript. The stock wasm kernel
 * took about 27 ms for a [64, 32, 32, 32] input here, a tenth of a whole forward pass of the small
 * CNN; this loop reads each window once with the channels innermost (contiguous) and scatters dy.
 * Tie-breaking follows the cpu backend: the first strictly greatest pixel of a window in row-major
 * order takes the gradient; windows with no pixel above -Infinity (or only NaN) pass none.
 */
export const maxPoolGradWasm: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
    filterSize: number | [number, number];
    strides: number | [number, number];
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  if (input.dtype !== 'float32') throw new Error(`MaxPoolGrad on wasm supports float32 input only, got ${input.dtype}; cast the input to float32.`);
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const be = backend as unknown as WasmHeapBackend;
  const out = be.makeOutput(input.shape.slice(), 'float32');
  // Views are taken after the allocation: growing the wasm memory detaches older ones.
  const dx = be.typedArrayFromHeap(out) as Float32Array;
  const x = be.typedArrayFromHeap(input) as Float32Array;
  const g = be.typedArrayFromHeap(dy) as Float32Array;
  dx.fill(0);
  const { batchSize: nb, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  if (fh === 2 && fw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && 2 * oh <= h && 2 * ow <= w) {
    maxPoolGrad2x2(x, g, dx, nb, h, w, c, oh, ow);
    return out;
  }
  const best = new Float32Array(c);
  const pos = new Int32Array(c);
  for (let b = 0; b < nb; b++) {
    for (let i = 0; i < oh; i++) {
      const r0 = i * sh - top;
      const rLo = Math.max(0, r0);
      const rHi = Math.min(h, r0 + fh);
      for (let j = 0; j < ow; j++) {
        const c0 = j * sw - left;
        const cLo = Math.max(0, c0);
        const cHi = Math.min(w, c0 + fw);
        best.fill(-Infinity);
        pos.fill(-1);
        for (let r = rLo; r < rHi; r++) {
          for (let q = cLo; q < cHi; q++) {
            const base = ((b * h + r) * w + q) * c;
            for (let k = 0; k < c; k++) {
              const v = x[base + k]!;
              if (v > best[k]!) {
                best[k] = v;
                pos[k] = base + k;
              }
            }
          }
        }
        const gBase = ((b * oh + i) * ow + j) * c;
        for (let k = 0; k < c; k++) {
          const p = pos[k]!;
          if (p >= 0) dx[p] += g[gBase + k]!;
        }
      }
    }
  }
  return out;
};

/**
 * The 2x2, stride-2, unpadded case (what CNNs use): windows do not overlap, so each pixel gets
 * either its window's gradient or zero. The general loop above keeps a running best per channel
 * with a data-dependent branch, which mispredicts on random activations; here each window's four
 * values are compared with their maximum and the winner's offset is computed arithmetically. Same
 * rule as above: the first (row-major) of equal maxima wins; a window with a NaN, or with nothing
 * above -Infinity, goes through the general rule, element by element.
 */
function maxPoolGrad2x2(x: Float32Array, g: Float32Array, dx: Float32Array, nb: number, h: number, w: number, c: number, oh: number, ow: number): void {
  const row = w * c;
  const offs = [0, c, row, row + c];
  for (let b = 0; b < nb; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const base = ((b * h + 2 * i) * w + 2 * j) * c;
        const gBase = ((b * oh + i) * ow + j) * c;
        for (let k = 0; k < c; k++) {
          const p = base + k;
          const v0 = x[p]!;
          const v1 = x[p + c]!;
          const v2 = x[p + row]!;
          const v3 = x[p + row + c]!;
          const m = Math.max(v0, v1, v2, v3);
          if (m > -Infinity) {
            const a0 = +(v0 === m);
            const a1 = +(v1 === m);
            const a2 = +(v2 === m);
            // 0 if v0 is the maximum, else 1 if v1, else 2 if v2, else 3.
            const idx = (1 - a0) * (1 + (1 - a1) * (2 - a2));
            dx[p + offs[idx]!] = g[gBase + k]!;
          } else {
            // NaN somewhere (Math.max gives NaN), or all -Infinity: the general rule.
            let best = -Infinity;
            let at = -1;
            for (let t = 0; t < 4; t++) {
              const v = x[p + offs[t]!]!;
              if (v > best) {
                best = v;
                at = p + offs[t]!;
              }
            }
            if (at >= 0) dx[at] = g[gBase + k]!;
          }
        }
      }
    }
  }
}
