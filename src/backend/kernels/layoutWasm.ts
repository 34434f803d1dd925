import * as tf from '@tensorflow/tfjs';
import { simdKernels } from './simdWasm.js';

type KernelFunc = tf.KernelConfig['kernelFunc'];

/** The part of tfjs-backend-wasm's backend these kernels use. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
  incRef(dataId: tf.DataId): void;
}

/**
 * Identity (what tf.clone and every tensor the gradient tape saves run) without a copy: the
 * output shares the input's data, reference-counted, as the cpu backend and wasm's own Reshape
 * already do. Tensor data is never written in place after its kernel returns, so sharing is
 * safe. The stock wasm kernel copies the whole tensor: a PGD step on resnet20-base copied every
 * saved activation, about 5% of its time.
 */
export const identityWasm: KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  (backend as unknown as WasmBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
};

/**
 * DepthToSpace (NHWC, float32) as one pass over the wasm heap: each output row of a block is a
 * run of `blockSize * C` contiguous values gathered from one input pixel's channels. The stock
 * wasm kernel computes every element's coordinates through generic stride arithmetic; in the
 * stride-2 convolution gradient (conv2dBackpropInput.ts) it took about as long as the
 * convolutions themselves on resnet20-base. When a run (blockSize * C values) is whole 4-float
 * vectors it is copied by the wasm SIMD loop of simdWasm.ts. Other layouts and dtypes go to the
 * stock kernel.
 */
export function depthToSpaceWasm(stock: KernelFunc | undefined): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { blockSize: s, dataFormat } = args.attrs as unknown as { blockSize: number; dataFormat: string };
    if (dataFormat !== 'NHWC' || x.dtype !== 'float32' || x.shape.length !== 4) {
      if (!stock) throw new Error(`DepthToSpace on wasm: ${dataFormat} ${x.dtype} input has no kernel; use NHWC float32.`);
      return stock(args);
    }
    const [b, h, w, d] = x.shape as [number, number, number, number];
    const c = d / (s * s);
    const be = args.backend as unknown as WasmBackend;
    const out = be.makeOutput([b, h * s, w * s, c], 'float32');
    // Views after the allocation: growing the wasm memory detaches older ones.
    const y = be.typedArrayFromHeap(out) as Float32Array;
    const v = be.typedArrayFromHeap(x) as Float32Array;
    // out[n, hi*s + i, wi*s + j, k] = in[n, hi, wi, (i*s + j)*c + k]
    const outRow = w * s * c;
    const simd = (s * c) % 4 === 0 ? simdKernels() : undefined;
    if (simd) {
      simd.depthToSpace(v.byteOffset, y.byteOffset, b * h, w, d, s, s * c);
      return out;
    }
    let o = 0;
    for (let n = 0; n < b; n++) {
      for (let hi = 0; hi < h; hi++) {
        const inRow = (n * h + hi) * w * d;
        for (let i = 0; i < s; i++) {
          for (let wi = 0; wi < w; wi++) {
            const src = inRow + wi * d + i * s * c;
            // j and k together: s*c contiguous values of the input pixel
            for (let t = 0; t < s * c; t++) y[o + t] = v[src + t]!;
            o += s * c;
          }
        }
      }
    }
    if (o !== b * h * s * outRow) throw new Error('DepthToSpace: internal size mismatch');
    return out;
  };
}
