import * as tf from '@tensorflow/tfjs';

function checkImages(what: string, images: tf.Tensor4D): void {
  if (!(images instanceof tf.Tensor) || images.rank !== 4) {
    throw new Error(`${what} expects images [N, H, W, C]; got ${images instanceof tf.Tensor ? `shape [${images.shape.join(', ')}]` : typeof images}.`);
  }
}

function checkSeed(what: string, seed: number): void {
  if (!Number.isInteger(seed)) throw new TypeError(`${what}: seed must be an integer; got ${String(seed)}.`);
}

/**
 * Adds seeded Gaussian noise of standard deviation `std` and clips to [0, 1].
 * @param seed - @defaultValue 0
 * @example `const noisy = gaussianNoise(images, 0.05, 1);`
 */
export function gaussianNoise(images: tf.Tensor4D, std: number, seed = 0): tf.Tensor4D {
  checkImages('gaussianNoise', images);
  checkSeed('gaussianNoise', seed);
  if (!(typeof std === 'number' && std >= 0 && Number.isFinite(std))) throw new RangeError(`gaussianNoise: std must be a finite number >= 0; got ${String(std)}.`);
  if (std === 0) return images.clone();
  return tf.tidy(() => tf.clipByValue(tf.add(images, tf.randomNormal(images.shape, 0, std, 'float32', seed)), 0, 1) as tf.Tensor4D);
}

/**
 * Adds seeded uniform noise in [-eps, eps] per pixel (a random point of the Linf ball) and clips
 * to [0, 1], so the result stays within eps of the input in Linf.
 * @param seed - @defaultValue 0
 * @example `const noisy = uniformNoise(images, 8 / 255, 1);`
 */
export function uniformNoise(images: tf.Tensor4D, eps: number, seed = 0): tf.Tensor4D {
  checkImages('uniformNoise', images);
  checkSeed('uniformNoise', seed);
  if (!(typeof eps === 'number' && eps >= 0 && eps <= 1)) throw new RangeError(`uniformNoise: eps must lie in [0, 1]; got ${String(eps)}.`);
  if (eps === 0) return images.clone();
  return tf.tidy(() => tf.clipByValue(tf.add(images, tf.randomUniform(images.shape, -eps, eps, 'float32', seed)), 0, 1) as tf.Tensor4D);
}
