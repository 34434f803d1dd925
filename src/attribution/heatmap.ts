import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { writeFileAtomic } from '../util/atomic.js';

/** How a map is scaled into [0, 1]. */
export type NormalizeMode = 'max' | 'minmax';

/**
 * Scales each map of a batch [N, H, W] into [0, 1]. `'max'`: negatives clipped to 0, then divided
 * by the map's maximum (the Keras Grad-CAM convention; a map with no positive value stays 0).
 * `'minmax'`: (m - min) / (max - min) (a constant map becomes 0).
 * @param mode - @defaultValue 'max'
 */
export function normalizeMaps(maps: tf.Tensor3D, mode: NormalizeMode = 'max'): tf.Tensor3D {
  if (maps.rank !== 3) throw new Error(`normalizeMaps expects [N, H, W] maps; got shape [${maps.shape.join(', ')}].`);
  return tf.tidy(() => {
    const n = maps.shape[0];
    const base = mode === 'max' ? tf.relu(maps) : tf.sub(maps, tf.min(maps, [1, 2], true));
    const top = tf.max(base, [1, 2], true);
    const safe = tf.where(tf.greater(top, 0), top, tf.onesLike(top));
    return tf.div(base, safe).reshape([n, maps.shape[1], maps.shape[2]]) as tf.Tensor3D;
  });
}

/** Bilinear resize of maps [N, h, w] to [N, H, W] (half-pixel centres, as OpenCV and PIL resize). */
export function resizeMaps(maps: tf.Tensor3D, size: [number, number]): tf.Tensor3D {
  if (maps.shape[1] === size[0] && maps.shape[2] === size[1]) return maps.clone();
  return tf.tidy(() => tf.image.resizeBilinear(maps.expandDims(3) as tf.Tensor4D, size, false, true).squeeze([3]) as tf.Tensor3D);
}

export { colormapRgb, type ColormapName } from './colormap.js';
import { clamp01, colormapRgb, type ColormapName } from './colormap.js';

/**
 * The 'jet' colour map of {@link colormapRgb} as tensor ops: [..., H, W] in [0, 1] to
 * [..., H, W, 3], for blending inside `tf.tidy` (the same colours as the snapshot PNGs).
 */
export function jetTensor(map: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const t = map.clipByValue(0, 1).expandDims(-1).mul(4);
    const channel = (c: number) => tf.scalar(1.5).sub(t.sub(c).abs()).clipByValue(0, 1);
    return tf.concat([channel(3), channel(2), channel(1)], -1);
  });
}

/** A single map's values on the host, row-major, with its size. */
export interface MapData {
  data: Float32Array;
  width: number;
  height: number;
}

async function toMapData(map: tf.Tensor | MapData): Promise<MapData> {
  if (!(map instanceof tf.Tensor)) return map;
  const shape = map.shape;
  const squeezed = shape.length === 3 && shape[0] === 1 ? shape.slice(1) : shape;
  if (squeezed.length !== 2) throw new Error(`A heatmap must be one [H, W] map (or [1, H, W]); got shape [${shape.join(', ')}]. Pick one with maps.gather(i) or maps.slice.`);
  return { data: new Float32Array(await map.data()), height: squeezed[0]!, width: squeezed[1]! };
}

/** RGBA bytes of a map under a colour map (values clipped to [0, 1]). */
export function colorize(map: MapData, name: ColormapName = 'jet'): Uint8Array {
  const out = new Uint8Array(map.width * map.height * 4);
  for (let i = 0; i < map.data.length; i++) {
    const [r, g, b] = colormapRgb(map.data[i]!, name);
    out[4 * i] = Math.round(255 * r);
    out[4 * i + 1] = Math.round(255 * g);
    out[4 * i + 2] = Math.round(255 * b);
    out[4 * i + 3] = 255;
  }
  return out;
}

function encodePng(rgba: Uint8Array, width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  return PNG.sync.write(png);
}

/** Options for {@link heatmapToPng}. */
export interface HeatmapPngOptions {
  /** @defaultValue 'jet' */
  colormap?: ColormapName;
  /** Integer upscaling (nearest neighbour), so a 32x32 map is visible. @defaultValue 1 */
  scale?: number;
}

function upscale(rgba: Uint8Array, width: number, height: number, scale: number): { rgba: Uint8Array; width: number; height: number } {
  if (scale === 1) return { rgba, width, height };
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`scale must be a positive integer; got ${scale}.`);
  const W = width * scale;
  const H = height * scale;
  const out = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const src = 4 * (Math.floor(y / scale) * width + Math.floor(x / scale));
      out.set(rgba.subarray(src, src + 4), 4 * (y * W + x));
    }
  }
  return { rgba: out, width: W, height: H };
}

/**
 * A map [H, W] (values in [0, 1]) coloured and encoded as PNG bytes.
 * @example `const png = await heatmapToPng(maps.gather([0]).squeeze([0]));`
 */
export async function heatmapToPng(map: tf.Tensor | MapData, options: HeatmapPngOptions = {}): Promise<Buffer> {
  const m = await toMapData(map);
  const up = upscale(colorize(m, options.colormap ?? 'jet'), m.width, m.height, options.scale ?? 1);
  return encodePng(up.rgba, up.width, up.height);
}

/**
 * Writes a map as a coloured PNG, atomically (temp file, then rename).
 * @example `await writeHeatmapPng('reports/cam-0.png', map, { scale: 8 });`
 */
export async function writeHeatmapPng(path: string, map: tf.Tensor | MapData, options: HeatmapPngOptions = {}): Promise<void> {
  writeFileAtomic(path, await heatmapToPng(map, options));
}

/** Options for {@link overlayHeatmap}. */
export interface OverlayOptions {
  /** Weight of the heatmap colour against the image. @defaultValue 0.5 */
  alpha?: number;
  /** @defaultValue 'jet' */
  colormap?: ColormapName;
}

/**
 * Blends a coloured map over an image: (1 - alpha) * image + alpha * colour(map). Returns an
 * [H, W, 3] float image in [0, 1] (caller disposes). A grayscale image is repeated to RGB.
 * @param image - [H, W, C] (C = 1 or 3) or [1, H, W, C], in [0, 1]
 * @param map - [H, W] or [1, H, W], in [0, 1]
 */
export async function overlayHeatmap(image: tf.Tensor, map: tf.Tensor, options: OverlayOptions = {}): Promise<tf.Tensor3D> {
  const alpha = options.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`overlay alpha must lie in [0, 1]; got ${alpha}.`);
  const img = image.rank === 4 && image.shape[0] === 1 ? image.squeeze([0]) : image.clone();
  try {
    if (img.rank !== 3 || (img.shape[2] !== 1 && img.shape[2] !== 3)) throw new Error(`overlayHeatmap expects an [H, W, 1|3] image; got shape [${image.shape.join(', ')}].`);
    const m = await toMapData(map);
    if (m.height !== img.shape[0] || m.width !== img.shape[1]) {
      throw new Error(`overlayHeatmap: the map is ${m.height}x${m.width} but the image is ${img.shape[0]}x${img.shape[1]}; resize the map with resizeMaps first.`);
    }
    const rgba = colorize(m, options.colormap ?? 'jet');
    return tf.tidy(() => {
      const colour = tf.tensor3d(rgba, [m.height, m.width, 4], 'int32').slice([0, 0, 0], [-1, -1, 3]).toFloat().div(255);
      const rgb = img.shape[2] === 1 ? img.tile([1, 1, 3]) : img;
      return tf.clipByValue(tf.add(tf.mul(rgb, 1 - alpha), tf.mul(colour, alpha)), 0, 1) as tf.Tensor3D;
    });
  } finally {
    img.dispose();
  }
}

/**
 * Encodes an [H, W, 1|3] (or [1, H, W, C]) image in [0, 1] as PNG bytes, e.g. an overlay.
 * @param scale - integer upscaling (nearest neighbour). @defaultValue 1
 */
export async function imageToPng(image: tf.Tensor, scale = 1): Promise<Buffer> {
  const img = image.rank === 4 && image.shape[0] === 1 ? image.squeeze([0]) : image;
  const [h, w, c] = img.shape as [number, number, number];
  if (img.rank !== 3 || (c !== 1 && c !== 3)) throw new Error(`imageToPng expects an [H, W, 1|3] image; got shape [${image.shape.join(', ')}].`);
  const data = await img.data();
  if (img !== image) img.dispose();
  const rgba = new Uint8Array(h * w * 4);
  for (let i = 0; i < h * w; i++) {
    for (let ch = 0; ch < 3; ch++) rgba[4 * i + ch] = Math.round(255 * clamp01(data[i * c + (c === 1 ? 0 : ch)]!));
    rgba[4 * i + 3] = 255;
  }
  const up = upscale(rgba, w, h, scale);
  return encodePng(up.rgba, up.width, up.height);
}

/** Writes an image (e.g. an overlay) as PNG, atomically. */
export async function writeImagePng(path: string, image: tf.Tensor, scale = 1): Promise<void> {
  writeFileAtomic(path, await imageToPng(image, scale));
}
