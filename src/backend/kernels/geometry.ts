import * as tf from '@tensorflow/tfjs';

/** What a gradient kernel needs to know about the forward convolution it differentiates. */
export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

/** The forward conv's geometry, with padding resolved exactly as tfjs resolves it. */
export function convGeometry(
  inShape: readonly number[],
  filterShape: readonly number[],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  depthwise: boolean,
): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    depthwise,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

type Pads4 = [[number, number], [number, number], [number, number], [number, number]];

/**
 * For stride 1: the padding of dy that makes a full correlation with the reversed filter land
 * exactly on the input's extent (no slice afterwards), or undefined when a side would be negative.
 */
export function fullCorrelationPads(g: ConvGeometry, fh: number, fw: number): Pads4 | undefined {
  const top = fh - 1 - g.padTop;
  const left = fw - 1 - g.padLeft;
  const bottom = g.inHeight - g.outHeight - top + fh - 1;
  const right = g.inWidth - g.outWidth - left + fw - 1;
  return top >= 0 && left >= 0 && bottom >= 0 && right >= 0 ? [[0, 0], [top, bottom], [left, right], [0, 0]] : undefined;
}

/**
 * The phase-split input: each phase output row q maps to padded input row q*s + r, so qh rows
 * cover the input; dy rows past qh feed no input pixel and are cut, and missing ones are padded
 * (after the kh-1 rows of a full correlation on top).
 */
export function phaseInput(dy: tf.Tensor4D, g: ConvGeometry, kh: number, kw: number): { d: tf.Tensor4D; qh: number; qw: number; pads: Pads4 } {
  const s = g.strideHeight;
  const qh = Math.floor((g.inHeight - 1 + g.padTop) / s) + 1;
  const qw = Math.floor((g.inWidth - 1 + g.padLeft) / s) + 1;
  const d = qh < g.outHeight || qw < g.outWidth ? dy.slice([0, 0, 0, 0], [-1, Math.min(qh, g.outHeight), Math.min(qw, g.outWidth), -1]) : dy;
  return { d, qh, qw, pads: [[0, 0], [kh - 1, Math.max(0, qh - g.outHeight)], [kw - 1, Math.max(0, qw - g.outWidth)], [0, 0]] };
}

/** A filter [fh, fw, ...] zero-padded to whole multiples of the stride, so it splits into s*s phases. */
export function padFilterToStride(filter: tf.Tensor4D, s: number): { w: tf.Tensor4D; kh: number; kw: number } {
  const [fh, fw] = filter.shape;
  const kh = Math.ceil(fh / s);
  const kw = Math.ceil(fw / s);
  const w = kh * s !== fh || kw * s !== fw ? tf.pad(filter, [[0, kh * s - fh], [0, kw * s - fw], [0, 0], [0, 0]]) : filter;
  return { w, kh, kw };
}
