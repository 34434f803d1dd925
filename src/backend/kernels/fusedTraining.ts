import * as tf from '@tensorflow/tfjs';
import { simdKernels } from './simdWasm.js';

type KernelFunc = tf.KernelConfig['kernelFunc'];

/** The part of tfjs-backend-wasm's backend these kernels use: views of tensors in the wasm heap. */
interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
}

/** Kernel names of this module (registered for wasm only). */
export const RELU_GRAD = 'RobustnessReluGrad';
export const ADD_RELU_GRAD = 'RobustnessAddReluGrad';
export const BN_TRAIN = 'RobustnessBatchNormTrain';
export const BN_TRAIN_GRAD = 'RobustnessBatchNormTrainGrad';

/**
 * The ReLU (and ReLU6) input gradient in one pass: dx = dy * [0 < x (<= cap)]. The stock gradient
 * runs Step, Cast and Multiply over the whole activation (measured about 13 ms for a
 * [64, 32, 32, 8] tensor on wasm here, against about 2 ms for this loop). One difference: where x
 * is NaN the stock gradient gives NaN (dy * step(NaN)), this one 0; a NaN activation means the
 * training has already diverged. On wasm with SIMD the same loop runs as 4-wide wasm on the heap
 * (simdWasm.ts), bit-identical, about 5x faster.
 */
export const reluGradWasm: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  const cap = (attrs as { cap?: number }).cap ?? Infinity;
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error(`${RELU_GRAD} supports float32 only, got x ${x.dtype} and dy ${dy.dtype}.`);
  const be = backend as unknown as WasmHeapBackend;
  const out = be.makeOutput(x.shape.slice(), 'float32');
  // Views are taken after the allocation: growing the wasm memory detaches older ones.
  const d = be.typedArrayFromHeap(out) as Float32Array;
  const xv = be.typedArrayFromHeap(x) as Float32Array;
  const g = be.typedArrayFromHeap(dy) as Float32Array;
  // Branch-free masks: activations are positive about half the time, at random, so a branch
  // mispredicts often (measured 4.8 ms against 1.8 ms for [64, 32, 32, 8]).
  const n = d.length;
  const simd = simdKernels();
  if (simd) simd.reluMask(g.byteOffset, xv.byteOffset, d.byteOffset, n, cap);
  else if (cap === Infinity) for (let i = 0; i < n; i++) d[i] = g[i]! * +(xv[i]! > 0);
  else for (let i = 0; i < n; i++) d[i] = g[i]! * +(xv[i]! > 0) * +(xv[i]! <= cap);
  return out;
};

/**
 * (a + b) * [0 < y]: a gradient that reaches a ReLU's output y by two paths (a residual block's
 * input), summed and masked in one pass instead of an Add and a mask. Same values as the two.
 */
export const addReluGradWasm: KernelFunc = ({ inputs, backend }) => {
  const { a, b, y } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo; y: tf.TensorInfo };
  if ([a, b, y].some((t) => t.dtype !== 'float32')) throw new Error(`${ADD_RELU_GRAD} supports float32 only.`);
  const n = y.shape.reduce((p, q) => p * q, 1);
  if ([a, b].some((t) => t.shape.length !== y.shape.length || t.shape.some((d, i) => d !== y.shape[i]))) throw new Error(`${ADD_RELU_GRAD}: a, b and y must have the same shape.`);
  const be = backend as unknown as WasmHeapBackend;
  const out = be.makeOutput(y.shape.slice(), 'float32');
  const d = be.typedArrayFromHeap(out) as Float32Array;
  const av = be.typedArrayFromHeap(a) as Float32Array;
  const bv = be.typedArrayFromHeap(b) as Float32Array;
  const yv = be.typedArrayFromHeap(y) as Float32Array;
  const simd = simdKernels();
  if (simd) simd.addReluMask(av.byteOffset, bv.byteOffset, yv.byteOffset, d.byteOffset, n);
  else for (let i = 0; i < n; i++) d[i] = Math.fround(av[i]! + bv[i]!) * +(yv[i]! > 0);
  return out;
};

/** Channels-last layout of a tensor: C innermost, N = the other dimensions multiplied. */
function channelsLast(shape: number[]): { n: number; c: number } {
  const c = shape[shape.length - 1]!;
  return { n: shape.reduce((a, b) => a * b, 1) / c, c };
}

/**
 * Training-mode batch normalization over all axes but the last, in two passes over the input: the
 * batch mean and variance (biased, as tf.moments gives it), then
 * y = scale * (x - mean) / sqrt(variance + epsilon) + offset.
 * Outputs [y, mean, variance]. The stock route (tf.moments then FusedBatchNorm, and their
 * gradients) runs about a dozen full-size broadcasting ops, which wasm executes slowly.
 */
export const batchNormTrainWasm: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, scale, offset } = inputs as { x: tf.TensorInfo; scale: tf.TensorInfo; offset: tf.TensorInfo };
  const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
  if (x.dtype !== 'float32') throw new Error(`${BN_TRAIN} supports float32 input only, got ${x.dtype}.`);
  const { n, c } = channelsLast(x.shape);
  const be = backend as unknown as WasmHeapBackend;
  const yOut = be.makeOutput(x.shape.slice(), 'float32');
  const meanOut = be.makeOutput([c], 'float32');
  const varOut = be.makeOutput([c], 'float32');
  const xv = be.typedArrayFromHeap(x) as Float32Array;
  const y = be.typedArrayFromHeap(yOut) as Float32Array;
  const gamma = be.typedArrayFromHeap(scale) as Float32Array;
  const beta = be.typedArrayFromHeap(offset) as Float32Array;
  // One pass for both moments, shifted by the first row so that a large mean does not swamp the
  // variance: var = E[(x - s)^2] - E[x - s]^2, accumulated in float64.
  const shift = Float64Array.from(xv.subarray(0, c));
  const s1 = new Float64Array(c);
  const s2 = new Float64Array(c);
  // Four channels at a time in local accumulators (adding into Float64Array slots per element ran
  // about 4x slower here), then the remaining channels one by one.
  const c4 = c - (c % 4);
  for (let k = 0; k < c4; k += 4) {
    const h0 = shift[k]!;
    const h1 = shift[k + 1]!;
    const h2 = shift[k + 2]!;
    const h3 = shift[k + 3]!;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
    for (let o = k; o < n * c; o += c) {
      const d0 = xv[o]! - h0;
      const d1 = xv[o + 1]! - h1;
      const d2 = xv[o + 2]! - h2;
      const d3 = xv[o + 3]! - h3;
      a0 += d0; a1 += d1; a2 += d2; a3 += d3;
      q0 += d0 * d0; q1 += d1 * d1; q2 += d2 * d2; q3 += d3 * d3;
    }
    s1[k] = a0; s1[k + 1] = a1; s1[k + 2] = a2; s1[k + 3] = a3;
    s2[k] = q0; s2[k + 1] = q1; s2[k + 2] = q2; s2[k + 3] = q3;
  }
  for (let k = c4; k < c; k++) {
    const h = shift[k]!;
    let a = 0, q = 0;
    for (let o = k; o < n * c; o += c) {
      const d = xv[o]! - h;
      a += d;
      q += d * d;
    }
    s1[k] = a;
    s2[k] = q;
  }
  const a = new Float64Array(c);
  const b = new Float64Array(c);
  const meanV = be.typedArrayFromHeap(meanOut) as Float32Array;
  const varV = be.typedArrayFromHeap(varOut) as Float32Array;
  for (let k = 0; k < c; k++) {
    const m1 = s1[k]! / n;
    const mean = shift[k]! + m1;
    const variance = Math.max(0, s2[k]! / n - m1 * m1);
    meanV[k] = mean;
    varV[k] = variance;
    a[k] = gamma[k]! / Math.sqrt(variance + eps);
    b[k] = beta[k]! - mean * a[k]!;
  }
  for (let i = 0, o = 0; i < n; i++, o += c) for (let k = 0; k < c; k++) y[o + k] = xv[o + k]! * a[k]! + b[k]!;
  return [yOut, meanOut, varOut];
};

/**
 * The gradient of {@link batchNormTrainWasm}: with N values per channel, r = 1/sqrt(var + eps)
 * and xhat = (x - mean) r,
 *   doffset = sum(dy),  dscale = sum(dy xhat),
 *   dx = scale r / N (N dy - sum(dy) - xhat sum(dy xhat)) + dmean / N + 2 dvar (x - mean) / N,
 * the last two terms carrying gradients that reach the batch statistics directly (zero in
 * training, where they only feed the moving averages). Outputs [dx, dscale, doffset].
 */
export const batchNormTrainGradWasm: KernelFunc = ({ inputs, attrs, backend }) => {
  const t = inputs as Record<'dy' | 'x' | 'mean' | 'variance' | 'scale' | 'dmean' | 'dvariance', tf.TensorInfo>;
  const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
  const { n, c } = channelsLast(t.x.shape);
  const be = backend as unknown as WasmHeapBackend;
  const dxOut = be.makeOutput(t.x.shape.slice(), 'float32');
  const dsOut = be.makeOutput([c], 'float32');
  const doOut = be.makeOutput([c], 'float32');
  const v = (u: tf.TensorInfo) => be.typedArrayFromHeap(u) as Float32Array;
  const [dx, dy, xv, mean, variance, gamma, dmean, dvar] = [v(dxOut), v(t.dy), v(t.x), v(t.mean), v(t.variance), v(t.scale), v(t.dmean), v(t.dvariance)];
  const sumDy = new Float64Array(c);
  const sumDyXhat = new Float64Array(c);
  // The saved statistics are float32; their rounding (about 2e-6 at |mean| 50) would enter every
  // x - mean, and with few values per channel dx nearly cancels, so the same pass also sums
  // x - mean32 and its square and recovers the float64 mean and variance the forward pass used.
  const delta = new Float64Array(c);
  const sq = new Float64Array(c);
  // As in the forward kernel: four channels at a time in local accumulators.
  const c4 = c - (c % 4);
  for (let k = 0; k < c4; k += 4) {
    const m0 = mean[k]!;
    const m1 = mean[k + 1]!;
    const m2 = mean[k + 2]!;
    const m3 = mean[k + 3]!;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0, e0 = 0, e1 = 0, e2 = 0, e3 = 0, s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let o = k; o < n * c; o += c) {
      const g0 = dy[o]!;
      const g1 = dy[o + 1]!;
      const g2 = dy[o + 2]!;
      const g3 = dy[o + 3]!;
      const d0 = xv[o]! - m0;
      const d1 = xv[o + 1]! - m1;
      const d2 = xv[o + 2]! - m2;
      const d3 = xv[o + 3]! - m3;
      a0 += g0; a1 += g1; a2 += g2; a3 += g3;
      q0 += g0 * d0; q1 += g1 * d1; q2 += g2 * d2; q3 += g3 * d3;
      e0 += d0; e1 += d1; e2 += d2; e3 += d3;
      s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3;
    }
    sumDy[k] = a0; sumDy[k + 1] = a1; sumDy[k + 2] = a2; sumDy[k + 3] = a3;
    sumDyXhat[k] = q0; sumDyXhat[k + 1] = q1; sumDyXhat[k + 2] = q2; sumDyXhat[k + 3] = q3;
    delta[k] = e0; delta[k + 1] = e1; delta[k + 2] = e2; delta[k + 3] = e3;
    sq[k] = s0; sq[k + 1] = s1; sq[k + 2] = s2; sq[k + 3] = s3;
  }
  for (let k = c4; k < c; k++) {
    const m = mean[k]!;
    let a = 0, q = 0, e = 0, sq1 = 0;
    for (let o = k; o < n * c; o += c) {
      const g = dy[o]!;
      const d = xv[o]! - m;
      a += g;
      q += g * d;
      e += d;
      sq1 += d * d;
    }
    sumDy[k] = a;
    sumDyXhat[k] = q;
    delta[k] = e;
    sq[k] = sq1;
  }
  const r = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    delta[k] /= n;
    // var64 = mean((x - mean32)^2) - delta^2; float32 variance as the fallback if it rounds below 0
    const v64 = sq[k]! / n - delta[k]! * delta[k]!;
    r[k] = 1 / Math.sqrt((v64 >= 0 ? v64 : variance[k]!) + eps);
    // sum(dy (x - mean64)) = sum(dy (x - mean32)) - delta sum(dy)
    sumDyXhat[k] = (sumDyXhat[k]! - delta[k]! * sumDy[k]!) * r[k]!;
  }
  // dx = A dy + B (x - mean) + C per channel.
  const A = new Float64Array(c);
  const B = new Float64Array(c);
  const C = new Float64Array(c);
  for (let k = 0; k < c; k++) {
    A[k] = gamma[k]! * r[k]!;
    B[k] = (-gamma[k]! * r[k]! * r[k]! * sumDyXhat[k]!) / n + (2 * dvar[k]!) / n;
    C[k] = (-gamma[k]! * r[k]! * sumDy[k]!) / n + dmean[k]! / n;
  }
  // B (x - mean64) + C = B x + (C - B (mean32 + delta))
  const D = new Float64Array(c);
  for (let k = 0; k < c; k++) D[k] = C[k]! - B[k]! * (mean[k]! + delta[k]!);
  for (let i = 0, o = 0; i < n; i++, o += c) {
    for (let k = 0; k < c; k++) dx[o + k] = A[k]! * dy[o + k]! + B[k]! * xv[o + k]! + D[k]!;
  }
  const ds = v(dsOut);
  const dof = v(doOut);
  for (let k = 0; k < c; k++) {
    ds[k] = sumDyXhat[k]!;
    dof[k] = sumDy[k]!;
  }
  return [dxOut, dsOut, doOut];
};

export const batchNormTrainGradConfig: tf.GradConfig = {
  kernelName: BN_TRAIN,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved, attrs) => {
    const [dy, dmean, dvariance] = dys as tf.Tensor[];
    const [x, scale, mean, variance] = saved as tf.Tensor[];
    const [dx, dscale, doffset] = tf.engine().runKernel(BN_TRAIN_GRAD, { dy: dy!, x: x!, mean: mean!, variance: variance!, scale: scale!, dmean: dmean!, dvariance: dvariance! }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return { x: () => dx!, scale: () => dscale!, offset: () => doffset! };
  },
};

/**
 * ReLU's and ReLU6's gradients through {@link reluGradWasm} on wasm; elsewhere the stock formula
 * (gradients are registered per kernel name, for every backend).
 */
function reluGradConfig(kernelName: 'Relu' | 'Relu6', cap: number): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [tf.Tensor];
      const g = dy as tf.Tensor;
      if (tf.getBackend() === 'wasm' && tf.getKernel(RELU_GRAD, 'wasm') && x.dtype === 'float32' && g.dtype === 'float32') {
        return { x: () => tf.engine().runKernel(RELU_GRAD, { dy: g, x }, { cap } as unknown as tf.NamedAttrMap) as tf.Tensor };
      }
      const mask = cap === Infinity ? tf.step(x) : tf.lessEqual(x, cap).cast('float32').mul(tf.step(x));
      return { x: () => g.mul(mask.cast('float32')) };
    },
  };
}

interface BatchNormLayer {
  axis: number;
  epsilon: number;
  momentum: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}
type LayerCall = (this: BatchNormLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

let stockBatchNormCall: LayerCall | undefined;

/**
 * Routes tf.layers.batchNormalization's training-mode call through {@link batchNormTrainWasm} on
 * wasm (channels-last, float32, with scale and center), with the same moving-average updates as
 * the stock layer; every other case, and inference, keeps the stock code. model.json is
 * unchanged: the layer class is the stock one.
 */
function patchBatchNormLayer(): void {
  if (stockBatchNormCall) return;
  const entry = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization;
  if (!entry) throw new Error('tf.layers BatchNormalization is not registered; import @tensorflow/tfjs (with layers) before choosing a backend.');
  const proto = (entry[0] as unknown as { prototype: { call: LayerCall } }).prototype;
  const stock = proto.call;
  stockBatchNormCall = stock;
  proto.call = function (this: BatchNormLayer, inputs, kwargs) {
    const input = Array.isArray(inputs) ? inputs[0]! : inputs;
    const axis = this.axis >= 0 ? this.axis : this.axis + input.rank;
    const fast = kwargs?.training === true && tf.getBackend() === 'wasm' && tf.getKernel(BN_TRAIN, 'wasm') && input.dtype === 'float32' && axis === input.rank - 1 && this.gamma && this.beta && (!Array.isArray(inputs) || inputs.length === 1);
    if (!fast) return stock.call(this, inputs, kwargs);
    return tf.tidy(() => {
      const [y, mean, variance] = tf.engine().runKernel(BN_TRAIN, { x: input, scale: this.gamma!.read(), offset: this.beta!.read() }, { varianceEpsilon: this.epsilon } as unknown as tf.NamedAttrMap) as tf.Tensor[];
      for (const [variable, value] of [
        [this.movingMean, mean!],
        [this.movingVariance, variance!],
      ] as const) {
        tf.tidy(() => {
          const orig = variable.read();
          variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - this.momentum)));
        });
      }
      return y!;
    });
  };
}

const stockGradients = new Map<string, tf.GradConfig | undefined>();

/** Registers the fused training kernels for wasm, their gradients, and the batch-norm layer route. Idempotent. */
export function installFusedTraining(backendName: string): void {
  if (backendName !== 'wasm') return;
  const kernels: [string, KernelFunc][] = [
    [RELU_GRAD, reluGradWasm],
    [ADD_RELU_GRAD, addReluGradWasm],
    [BN_TRAIN, batchNormTrainWasm],
    [BN_TRAIN_GRAD, batchNormTrainGradWasm],
  ];
  for (const [kernelName, kernelFunc] of kernels) if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc });
  if (stockGradients.size === 0) {
    for (const config of [reluGradConfig('Relu', Infinity), reluGradConfig('Relu6', 6), batchNormTrainGradConfig]) {
      stockGradients.set(config.kernelName, tf.getGradient(config.kernelName));
      tf.registerGradient(config);
    }
  }
  patchBatchNormLayer();
}

/** Puts back the stock ReLU gradients and batch-norm layer call (benchmarks compare against them). */
export function uninstallFusedTraining(): void {
  for (const [name, config] of stockGradients) if (config) tf.registerGradient(config);
  stockGradients.clear();
  if (stockBatchNormCall) {
    const entry = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization!;
    (entry[0] as unknown as { prototype: { call: LayerCall } }).prototype.call = stockBatchNormCall;
    stockBatchNormCall = undefined;
  }
}
