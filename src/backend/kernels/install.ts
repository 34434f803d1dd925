import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterFast } from './conv2dBackpropFilter.js';
import { conv2dBackpropInputFast } from './conv2dBackpropInput.js';
import { depthwiseBackpropInputFast } from './depthwiseBackprop.js';
import { depthwiseBackpropFilterWasm, depthwiseBackpropInputWasm } from './depthwiseBackpropWasm.js';
import { batchNormGradConfig } from './batchNormGrad.js';
import { convGeometry } from './geometry.js';
import { matMulWithoutTransposeFlags } from './matMulNoTranspose.js';
import { maxPoolGradWasm } from './maxPoolGrad.js';
import { depthToSpaceWasm, identityWasm } from './layoutWasm.js';
import { sumLeadingWasm } from './sumLeading.js';
import { transposeWasm } from './transposeWasm.js';
import { installFusedTraining, uninstallFusedTraining } from './fusedTraining.js';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type Attrs = Record<string, unknown>;

/** The backends whose conv gradients these kernels replace (wasm lacks dW; its dx is slow). */
export const FAST_KERNEL_BACKENDS = ['wasm'] as const;

function asTensor(t: tf.TensorInfo, name: string): tf.Tensor4D {
  if (!(t instanceof tf.Tensor)) throw new Error(`fast kernel: input ${name} is not a tf.Tensor`);
  return t as tf.Tensor4D;
}

function isUnit(d: unknown): boolean {
  return d == null || d === 1 || (Array.isArray(d) && d.every((v) => v === 1));
}

function strideOf(s: unknown): [number, number] {
  return typeof s === 'number' ? [s, s] : (s as [number, number]);
}

const stockKernels = new Map<string, tf.KernelConfig | undefined>();

/** Replaces a kernel, keeping the stock one (if any) for the cases the fast route does not cover. */
function replace(kernelName: string, backendName: string, make: (stock: KernelFunc | undefined) => KernelFunc): void {
  const stock = tf.getKernel(kernelName, backendName);
  if ((stock as { __fast?: boolean } | undefined)?.__fast) return;
  if (stock) tf.unregisterKernel(kernelName, backendName);
  stockKernels.set(`${backendName}/${kernelName}`, stock);
  // Keep the stock setup/dispose: the fallback path calls into the stock kernel, whose wasm
  // bindings its setupFunc creates.
  const config = { kernelName, backendName, kernelFunc: make(stock?.kernelFunc), setupFunc: stock?.setupFunc, disposeFunc: stock?.disposeFunc, __fast: true };
  tf.registerKernel(config as tf.KernelConfig);
}

function fallback(stock: KernelFunc | undefined, kernelName: string, why: string): KernelFunc {
  if (stock) return stock;
  return () => {
    throw new Error(`${kernelName} is not available on this backend for ${why}. Use ROBUSTNESS_BACKEND=cpu for this model.`);
  };
}

/**
 * Installs the backward-path kernels that make training and input gradients work on wasm and run
 * near forward speed: Conv2D dx and dW as forward convolutions (conv2dBackpropInput.ts,
 * conv2dBackpropFilter.ts), depthwise dx and dW (wasm has neither), MaxPoolGrad, matMuls without
 * transpose flags, a batch-norm gradient without full-size temporaries, a zero-copy Identity, a direct
 * DepthToSpace (layoutWasm.ts), a sum over leading axes (sumLeading.ts), a tiled Transpose for outer/inner axis swaps
 * (transposeWasm.ts), and single-pass training-mode
 * batch norm and ReLU gradients (fusedTraining.ts). `select.ts` calls it
 * whenever a backend is chosen.
 *
 * @param backendName - the tfjs backend name; only 'wasm' is changed
 * @returns true when kernels were installed. Idempotent.
 * @example
 * ```ts
 * await tf.setBackend('wasm');
 * installFastKernels('wasm'); // tf.grad through conv layers now works on wasm
 * ```
 */
export function installFastKernels(backendName: string): boolean {
  if (!(FAST_KERNEL_BACKENDS as readonly string[]).includes(backendName)) return false;

  replace('Conv2DBackpropInput', backendName, (stock) => (args) => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = args.attrs as Attrs;
    const strides = strideOf(a.strides);
    if ((a.dataFormat && a.dataFormat !== 'NHWC') || strides[0] !== strides[1]) {
      return fallback(stock, 'Conv2DBackpropInput', 'NCHW data or unequal strides')(args);
    }
    const inputShape = a.inputShape as number[];
    const f = asTensor(filter, 'filter');
    const g = convGeometry(inputShape, f.shape, strides, a.pad as 'same', a.dimRoundingMode as undefined, false);
    return conv2dBackpropInputFast(asTensor(dy, 'dy'), f, g);
  });

  replace('Conv2DBackpropFilter', backendName, (stock) => (args) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const a = args.attrs as Attrs;
    if (a.dataFormat && a.dataFormat !== 'NHWC') return fallback(stock, 'Conv2DBackpropFilter', 'NCHW data')(args);
    const xt = asTensor(x, 'x');
    const g = convGeometry(xt.shape, a.filterShape as number[], strideOf(a.strides), a.pad as 'same', a.dimRoundingMode as undefined, false);
    return conv2dBackpropFilterFast(xt, asTensor(dy, 'dy'), g);
  });

  // At stride 1 the input gradient is one depthwise conv on XNNPACK (measured 2-6x faster than
  // the JavaScript pass); with strides the phase split needs a rank-5 transpose that wasm runs
  // slowly, and the JavaScript pass wins (3x at stride 2).
  replace('DepthwiseConv2dNativeBackpropInput', backendName, () => (args) => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = args.attrs as Attrs;
    const strides = strideOf(a.strides);
    if (!isUnit(a.dilations) || strides[0] !== 1 || strides[1] !== 1 || dy.dtype !== 'float32') return depthwiseBackpropInputWasm(args);
    const f = asTensor(filter, 'filter');
    const g = convGeometry(a.inputShape as number[], f.shape, strides, a.pad as 'same', a.dimRoundingMode as undefined, true);
    return depthwiseBackpropInputFast(asTensor(dy, 'dy'), f, g);
  });
  replace('DepthwiseConv2dNativeBackpropFilter', backendName, () => depthwiseBackpropFilterWasm);
  // Gradients are registered per kernel name, not per backend; this one is exact on any backend.
  tf.registerGradient(batchNormGradConfig);
  for (const name of ['BatchMatMul', '_FusedMatMul'] as const) {
    replace(name, backendName, (stock) => {
      if (!stock) throw new Error(`${name} is missing on ${backendName}`);
      return matMulWithoutTransposeFlags(name, stock);
    });
  }
  replace('MaxPoolGrad', backendName, () => maxPoolGradWasm);
  // Zero-copy clone (every tensor the tape saves) and a direct DepthToSpace (the strided dx above).
  replace('Identity', backendName, () => identityWasm);
  replace('DepthToSpace', backendName, (stock) => depthToSpaceWasm(stock));
  // Bias and other per-channel gradients: a sum over the leading axes without a transpose.
  replace('Sum', backendName, (stock) => sumLeadingWasm(stock));
  // Outer/inner axis swaps (the filter gradient's batch-to-channels move, dense weights) in tiles.
  replace('Transpose', backendName, (stock) => transposeWasm(stock));
  // Training-mode batch norm and the ReLU gradient as single passes (fusedTraining.ts).
  installFusedTraining(backendName);
  return true;
}

/** Puts the stock kernels back (benchmarks compare against them). */
export function uninstallFastKernels(backendName: string): void {
  if (backendName === 'wasm') uninstallFusedTraining();
  restoreStockKernels(backendName);
}

/**
 * Puts back the stock kernels of `kernelNames` (all replaced ones when omitted), so a benchmark can
 * time the state before a kernel was replaced; {@link installFastKernels} replaces them again.
 */
export function restoreStockKernels(backendName: string, kernelNames?: readonly string[]): void {
  for (const [key, stock] of stockKernels) {
    const [backend, kernelName] = key.split('/') as [string, string];
    if (backend !== backendName || (kernelNames && !kernelNames.includes(kernelName))) continue;
    tf.unregisterKernel(kernelName, backend);
    if (stock) tf.registerKernel(stock);
    stockKernels.delete(key);
  }
}

/** Whether {@link installFastKernels} replaced kernels of `backendName` (and they were not put back since). */
export function fastKernelsInstalled(backendName: string): boolean {
  for (const key of stockKernels.keys()) if (key.startsWith(`${backendName}/`)) return true;
  return false;
}
