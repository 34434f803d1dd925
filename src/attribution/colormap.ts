// Colour maps as plain functions, without TensorFlow.js: the reporter (which runs in Vitest's main
// process) colours its panels with these, and loading tfjs there for them made a second copy of
// tfjs when a report extension imported the package through Vitest's module runner.

/** Colour maps for heatmap images. */
export type ColormapName = 'jet' | 'hot' | 'gray';

/** v clipped to [0, 1]. */
export const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

/** RGB in [0, 1] of value v in [0, 1] under a colour map. */
export function colormapRgb(v: number, name: ColormapName = 'jet'): [number, number, number] {
  const t = clamp01(Number.isFinite(v) ? v : 0);
  switch (name) {
    case 'gray':
      return [t, t, t];
    case 'hot':
      return [clamp01(3 * t), clamp01(3 * t - 1), clamp01(3 * t - 2)];
    case 'jet':
      // MATLAB's jet: blue -> cyan -> yellow -> red, piecewise linear.
      return [clamp01(1.5 - Math.abs(4 * t - 3)), clamp01(1.5 - Math.abs(4 * t - 2)), clamp01(1.5 - Math.abs(4 * t - 1))];
    default:
      throw new Error(`Unknown colormap ${JSON.stringify(name)}; use 'jet', 'hot' or 'gray'.`);
  }
}
