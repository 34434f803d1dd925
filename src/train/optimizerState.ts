import * as tf from '@tensorflow/tfjs';

interface Spec {
  name: string;
  shape: number[];
  dtype: tf.DataType;
}

/** The optimizer's slots (Adam moments, iteration count) as two files, so resume continues the same run. */
export async function serializeOptimizer(opt: tf.Optimizer): Promise<{ json: string; bin: Uint8Array }> {
  const named = await opt.getWeights();
  const specs: Spec[] = [];
  const parts: Uint8Array[] = [];
  for (const { name, tensor } of named) {
    const data = await tensor.data();
    specs.push({ name, shape: tensor.shape, dtype: tensor.dtype });
    parts.push(new Uint8Array(Float32Array.from(data as ArrayLike<number>).buffer));
  }
  // getWeights makes a fresh scalar for the iteration count; the moments are the optimizer's own.
  for (const { name, tensor } of named) if (name === 'iter') tensor.dispose();
  return { json: JSON.stringify({ className: opt.getClassName(), weights: specs }), bin: Buffer.concat(parts) };
}

export async function restoreOptimizer(opt: tf.Optimizer, json: string, bin: Uint8Array): Promise<void> {
  const { className, weights } = JSON.parse(json) as { className: string; weights: Spec[] };
  if (className !== opt.getClassName()) throw new Error(`The checkpoint's optimizer is ${className}, but this run uses ${opt.getClassName()}; resume with the same --optimizer.`);
  const floats = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
  let off = 0;
  const named = weights.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const t = tf.tensor(floats.subarray(off, off + n), s.shape, 'float32');
    off += n;
    if (s.dtype === 'float32') return { name: s.name, tensor: t };
    const cast = t.cast(s.dtype);
    t.dispose();
    return { name: s.name, tensor: cast };
  });
  if (off !== floats.length) throw new Error(`optimizer.bin holds ${floats.length} values but optimizer.json describes ${off}; the checkpoint is damaged.`);
  await opt.setWeights(named);
  // setWeights makes variables of its own from these (sharing data, counted), so ours can go.
  tf.dispose(named.map((w) => w.tensor));
}
