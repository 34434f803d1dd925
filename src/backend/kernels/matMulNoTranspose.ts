import * as tf from '@tensorflow/tfjs';

type KernelFunc = tf.KernelConfig['kernelFunc'];

/**
 * wasm's BatchMatMul is fast only without transpose flags (measured here: [64,4096]x[4096,128]
 * 2.4 ms plain, 30 ms with transposeB, 98 ms as a^T*dy with transposeA), and every matMul
 * gradient sets one. Transposing the operand explicitly first costs far less than that.
 */
export function matMulWithoutTransposeFlags(kernelName: 'BatchMatMul' | '_FusedMatMul', stock: KernelFunc): KernelFunc {
  return (args) => {
    const a = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    if (!a.transposeA && !a.transposeB) return stock(args);
    const inputs = args.inputs as Record<string, tf.TensorInfo>;
    const swap = (t: tf.TensorInfo) => {
      const tensor = t as tf.Tensor;
      const rank = tensor.rank;
      const perm = [...Array(rank).keys()];
      [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
      return tf.transpose(tensor, perm);
    };
    const aT = a.transposeA ? swap(inputs.a!) : undefined;
    const bT = a.transposeB ? swap(inputs.b!) : undefined;
    try {
      return stock({ ...args, inputs: { ...inputs, a: aT ?? inputs.a!, b: bT ?? inputs.b! }, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
    } finally {
      aT?.dispose();
      bT?.dispose();
    }
  };
}
