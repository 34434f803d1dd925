import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { TensorLeakError, withLeakCheck } from './leaks.js';

describe('withLeakCheck', () => {
  it('passes a tidy call and does not count the returned tensor', async () => {
    const x = tf.ones([2, 2]);
    const y = await withLeakCheck(() => tf.tidy(() => x.add(1).mul(2)));
    expect(Array.from(await y.data())).toEqual([4, 4, 4, 4]);
    tf.dispose([x, y]);
  });

  it('names the number of leaked tensors', async () => {
    const x = tf.ones([2]);
    let stray: tf.Tensor | undefined;
    await expect(
      withLeakCheck(() => {
        stray = x.add(1);
        return 3;
      }, 'leaky()'),
    ).rejects.toThrow(TensorLeakError);
    stray?.dispose();
    x.dispose();
  });
});
