import * as tf from '@tensorflow/tfjs';
import { cnn1 } from './architectures/cnn1.js';
import { context } from './architectures/common.js';
import { mobilenet } from './architectures/mobilenet.js';
import { resnet, resnet50 } from './architectures/resnet.js';
import { vgg16 } from './architectures/vgg16.js';
import { kernelRegularizer, regularizerSpec, type RegularizerName, type RegularizerSpec } from './regularizers.js';

/** The architectures this package builds. */
export type Arch = 'resnet' | 'resnet50' | 'mobilenet' | 'vgg16' | 'cnn1';

export const ARCHS: readonly Arch[] = ['resnet', 'resnet50', 'mobilenet', 'vgg16', 'cnn1'];

export interface ModelSpec {
  arch: Arch;
  /** Channel multiplier on every layer. @defaultValue 1 */
  width?: number;
  /** ResNet: total depth 6n+2 (@defaultValue 20); MobileNet: 512-channel middle blocks (@defaultValue 5). Ignored elsewhere. */
  depth?: number | null;
  /** @defaultValue 10 */
  numClasses?: number;
  /** @defaultValue [32, 32, 3] */
  inputShape?: [number, number, number];
  /** Kernel penalty on every Conv2D, DepthwiseConv2D and Dense kernel. @defaultValue 'base' */
  regularizer?: RegularizerName | RegularizerSpec;
  /** Seed of the weight initialisation. @defaultValue 0 */
  seed?: number;
}

/** The spec with every default filled in, as recorded in a model card. */
export interface ResolvedModelSpec {
  arch: Arch;
  width: number;
  depth: number | null;
  numClasses: number;
  inputShape: [number, number, number];
  regularizer: RegularizerSpec;
  seed: number;
}

/** Fills in the defaults of a {@link ModelSpec} and checks it. */
export function resolveModelSpec(spec: ModelSpec): ResolvedModelSpec {
  if (!ARCHS.includes(spec.arch)) throw new Error(`Unknown architecture '${spec.arch}'. Known: ${ARCHS.join(', ')}.`);
  const width = spec.width ?? 1;
  if (!(width > 0 && Number.isFinite(width))) throw new RangeError(`width must be a positive number, got ${width}.`);
  const depth = spec.arch === 'resnet' ? (spec.depth ?? 20) : spec.arch === 'mobilenet' ? (spec.depth ?? 5) : null;
  const regularizer = typeof spec.regularizer === 'object' ? spec.regularizer : regularizerSpec(spec.regularizer ?? 'base');
  return { arch: spec.arch, width, depth, numClasses: spec.numClasses ?? 10, inputShape: spec.inputShape ?? [32, 32, 3], regularizer, seed: spec.seed ?? 0 };
}

/**
 * Builds an untrained classifier that outputs logits.
 *
 * @example
 * const model = buildModel({ arch: 'resnet', depth: 20, width: 0.5, regularizer: 'elasticnet' });
 */
export function buildModel(spec: ModelSpec): tf.LayersModel {
  const s = resolveModelSpec(spec);
  const ctx = context(s.inputShape, s.numClasses, s.width, kernelRegularizer(s.regularizer), s.seed);
  const [input, output] =
    s.arch === 'resnet' ? resnet(ctx, s.depth!) : s.arch === 'resnet50' ? resnet50(ctx) : s.arch === 'mobilenet' ? mobilenet(ctx, s.depth!) : s.arch === 'vgg16' ? vgg16(ctx) : cnn1(ctx);
  const r = s.regularizer;
  const tag = r.name === 'base' ? 'base' : `${r.name}`;
  return tf.model({ inputs: input!, outputs: output!, name: `${s.arch}${s.depth ?? ''}_w${s.width}_${tag}` });
}
