// Which model an attribution map came from, so a check on the map alone (a heatmap snapshot) can
// name its model in the report instead of counting as 'unnamed model'.
import type * as tf from '@tensorflow/tfjs';

const sources = new WeakMap<tf.Tensor, unknown>();

/** Marks `maps` as computed from `model` and returns them. */
export function fromModel<T extends tf.Tensor>(maps: T, model: unknown): T {
  sources.set(maps, model);
  return maps;
}

/**
 * The model a map tensor was computed from by an attribution method of this package; undefined
 * for any other tensor, including one derived from such a map (a slice or a squeeze is a new tensor).
 */
export function modelOf(map: unknown): unknown {
  return typeof map === 'object' && map !== null ? sources.get(map as tf.Tensor) : undefined;
}
