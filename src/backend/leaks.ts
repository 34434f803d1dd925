import * as tf from '@tensorflow/tfjs';

/** Thrown when a call leaves tensors behind. */
export class TensorLeakError extends Error {
  constructor(
    readonly leaked: number,
    label: string,
  ) {
    super(`${label} left ${leaked} tensor(s) behind (tf.memory().numTensors grew by ${leaked}). Wrap intermediates in tf.tidy or dispose them in a finally block.`);
    this.name = 'TensorLeakError';
  }
}

/**
 * Runs `fn` and throws {@link TensorLeakError} if the number of live tensors grew, not counting
 * tensors in the returned value (they are the caller's to dispose).
 */
export async function withLeakCheck<T>(fn: () => T | Promise<T>, label = 'call'): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  const owned = countTensors(result);
  const leaked = tf.memory().numTensors - before - owned;
  if (leaked > 0) throw new TensorLeakError(leaked, label);
  return result;
}

function countTensors(value: unknown, seen = new Set<unknown>()): number {
  if (value === null || typeof value !== 'object' || seen.has(value)) return 0;
  seen.add(value);
  if (value instanceof tf.Tensor) return value.isDisposed ? 0 : 1;
  let n = 0;
  const entries = Array.isArray(value) ? value : value instanceof Map ? [...value.values()] : Object.values(value);
  for (const v of entries) n += countTensors(v, seen);
  return n;
}
