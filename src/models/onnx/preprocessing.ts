import * as tf from '@tensorflow/tfjs';

/**
 * What a model expects of its input, declared rather than guessed. Attacks and attributions keep
 * working on [0, 1] NHWC images; the model sees `((x * (hi - lo) + lo) - mean) / std` in its own
 * layout. Mean and std are in the units of `inputRange` (torchvision's CIFAR-10 values with
 * [0, 1]; 0-255 values with [0, 255]).
 */
export interface Preprocessing {
  /** The pixel range the model was trained on; [0, 1] images are mapped onto it. @defaultValue [0, 1] */
  inputRange: [number, number];
  /** Per-channel mean subtracted after the range mapping (one value, or one per channel). @defaultValue [0] */
  mean: number[];
  /** Per-channel standard deviation divided by after subtracting the mean. @defaultValue [1] */
  std: number[];
  /** The layout of the model's image input: 'NCHW' (PyTorch's) or 'NHWC'. @defaultValue 'NCHW' */
  layout: 'NCHW' | 'NHWC';
}

export const PREPROCESSING_DEFAULTS: Preprocessing = { inputRange: [0, 1], mean: [0], std: [1], layout: 'NCHW' };

const KEYS = Object.keys(PREPROCESSING_DEFAULTS);

/** Fills defaults and checks every field; `where` names the source in errors (options or a card file). */
export function resolvePreprocessing(given: Partial<Preprocessing> | undefined, where: string): Preprocessing {
  for (const key of Object.keys(given ?? {})) {
    if (!KEYS.includes(key)) throw new Error(`${where}: unknown preprocessing key '${key}'. Its keys are: ${KEYS.join(', ')}.`);
  }
  const p: Preprocessing = { ...PREPROCESSING_DEFAULTS };
  for (const [k, v] of Object.entries(given ?? {})) if (v !== undefined) (p as unknown as Record<string, unknown>)[k] = v;
  const nums = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((n) => typeof n === 'number' && Number.isFinite(n));
  if (!nums(p.inputRange) || p.inputRange.length !== 2 || !(p.inputRange[0] < p.inputRange[1])) {
    throw new Error(`${where}: inputRange must be [low, high] with low < high, e.g. [0, 1] or [0, 255]; got ${JSON.stringify(p.inputRange)}.`);
  }
  if (!nums(p.mean)) throw new Error(`${where}: mean must be a list of finite numbers (one, or one per channel); got ${JSON.stringify(p.mean)}.`);
  if (!nums(p.std) || p.std.some((s) => !(s > 0))) throw new Error(`${where}: std must be a list of positive numbers (one, or one per channel); got ${JSON.stringify(p.std)}.`);
  if (p.layout !== 'NCHW' && p.layout !== 'NHWC') throw new Error(`${where}: layout must be 'NCHW' or 'NHWC'; got ${JSON.stringify(p.layout)}.`);
  return p;
}

/** True when the preprocessing changes nothing. */
export function isIdentity(p: Preprocessing): boolean {
  return p.inputRange[0] === 0 && p.inputRange[1] === 1 && p.mean.every((m) => m === 0) && p.std.every((s) => s === 1);
}

/**
 * The preprocessing as one multiply-add on the last (channel) axis, [C] each, made once:
 * x * scale + shift with scale = (hi - lo) / std and shift = (lo - mean) / std.
 */
export function affine(p: Preprocessing, channels: number, where: string): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  const per = (v: number[], name: string) => {
    if (v.length !== 1 && v.length !== channels) throw new Error(`${where}: ${name} has ${v.length} values for a model with ${channels} input channels; give one, or one per channel.`);
    return Array.from({ length: channels }, (_, c) => v[v.length === 1 ? 0 : c]!);
  };
  const mean = per(p.mean, 'mean');
  const std = per(p.std, 'std');
  const [lo, hi] = p.inputRange;
  return { scale: tf.tensor1d(std.map((s) => (hi - lo) / s)), shift: tf.tensor1d(std.map((s, c) => (lo - mean[c]!) / s)) };
}
