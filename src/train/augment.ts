import * as tf from '@tensorflow/tfjs';
import type { ImageDataset } from '../data/dataset.js';

export interface AugmentOptions {
  /** Random translation by up to this many pixels, zero-filled (pad-and-crop). @defaultValue 4 */
  crop: number;
  /** Mirror left-right with probability 1/2. @defaultValue true */
  flip: boolean;
}

/**
 * A float batch [n, H, W, C] in [0, 1] cut from 8-bit images with a random shift and flip per
 * image, drawn from `rand`: done on the host while decoding bytes to floats, so augmentation
 * costs no extra tensor passes.
 */
export function augmentedBatch(ds: ImageDataset, indices: ArrayLike<number>, options: AugmentOptions, rand: () => number): tf.Tensor4D {
  const { height: h, width: w, channels: c } = ds;
  const per = h * w * c;
  const out = new Float32Array(indices.length * per);
  for (let j = 0; j < indices.length; j++) {
    const src = indices[j]! * per;
    const dst = j * per;
    const dy = options.crop ? Math.floor(rand() * (2 * options.crop + 1)) - options.crop : 0;
    const dx = options.crop ? Math.floor(rand() * (2 * options.crop + 1)) - options.crop : 0;
    const flip = options.flip && rand() < 0.5;
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      if (sy < 0 || sy >= h) continue;
      for (let x = 0; x < w; x++) {
        const sx0 = x + dx;
        const sx = flip ? w - 1 - sx0 : sx0;
        if (sx0 < 0 || sx0 >= w) continue;
        const o = dst + (y * w + x) * c;
        const i = src + (sy * w + sx) * c;
        for (let k = 0; k < c; k++) out[o + k] = ds.pixels[i + k]! / 255;
      }
    }
  }
  return tf.tensor4d(out, [indices.length, h, w, c], 'float32');
}
