import * as tf from '@tensorflow/tfjs';

// Attacks that stop working on a sample once it is broken keep their state for the samples still
// in play only; these helpers move rows between that compacted state and the whole chunk.

/** A bool [m, 1, 1, 1] tensor from a 0/1 mask, which tf.where broadcasts over image rows. */
export function rowMask(mask: Uint8Array): tf.Tensor4D {
  return tf.tensor4d(mask, [mask.length, 1, 1, 1], 'bool');
}

/** `out` with rows `rows` replaced by `values` ([rows.length, ...]); disposes neither input. */
export function writeRows(out: tf.Tensor4D, rows: readonly number[], values: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    if (rows.length === 0) return tf.clone(out);
    const mask = new Uint8Array(out.shape[0]);
    for (const r of rows) mask[r] = 1;
    const scattered = tf.scatterND(tf.tensor2d(Int32Array.from(rows), [rows.length, 1], 'int32'), values, out.shape);
    return tf.where(rowMask(mask), scattered, out) as tf.Tensor4D;
  });
}

/** Rows `local` of `t` (indices into its first axis); does not dispose `t`. */
export function takeRows<T extends tf.Tensor>(t: T, local: readonly number[]): T {
  return tf.tidy(() => tf.gather(t, tf.tensor1d(Int32Array.from(local), 'int32')) as T);
}

/** Replaces each tensor in `state` by its rows `local`, disposing the old ones. */
export function compact<S extends Record<string, tf.Tensor>>(state: S, local: readonly number[]): void {
  for (const key of Object.keys(state) as (keyof S)[]) {
    const next = takeRows(state[key], local);
    state[key].dispose();
    state[key] = next as S[keyof S];
  }
}
