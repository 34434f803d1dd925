import { ImageDataset } from '../data/dataset.js';
import { mulberry32 } from '../util/random.js';

/**
 * A small learnable dataset for unit tests: class k has a bright vertical band at a class-specific
 * position over uniform noise. Deterministic for a seed.
 */
export function bandsDataset(options: { count: number; classes?: number; size?: number; seed?: number }): ImageDataset {
  const k = options.classes ?? 2;
  const size = options.size ?? 32;
  const rand = mulberry32(options.seed ?? 0);
  const per = size * size * 3;
  const pixels = new Uint8Array(options.count * per);
  const labels = new Uint8Array(options.count);
  const band = Math.max(1, Math.floor(size / (2 * k)));
  for (let i = 0; i < options.count; i++) {
    const label = i % k;
    labels[i] = label;
    const x0 = Math.floor(((label + 0.5) * size) / k - band / 2);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const on = x >= x0 && x < x0 + band;
        for (let c = 0; c < 3; c++) pixels[i * per + (y * size + x) * 3 + c] = on ? 200 + Math.floor(rand() * 55) : Math.floor(rand() * 100);
      }
    }
  }
  return new ImageDataset(pixels, labels, Array.from({ length: options.count }, (_, i) => `synthetic#${i}`), Array.from({ length: k }, (_, i) => `band${i}`), size, size, 3);
}
