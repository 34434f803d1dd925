import * as tf from '@tensorflow/tfjs';

/** Four variants: no penalty, L1, L2, and both (elastic net). */
export type RegularizerName = 'base' | 'l1' | 'l2' | 'elasticnet';

export const REGULARIZER_NAMES: readonly RegularizerName[] = ['base', 'l1', 'l2', 'elasticnet'];

/** A kernel penalty: l1 * sum|w| + l2 * sum w^2 on every Conv2D, DepthwiseConv2D and Dense kernel. */
export interface RegularizerSpec {
  name: RegularizerName;
  l1: number;
  l2: number;
}

/** The penalty factor when none is given. */
const DEFAULT_FACTOR = 0.01;

/**
 * Resolves a variant name and factors. `factor` sets both l1 and l2 where the variant uses
 * them; `l1`/`l2` override separately (elastic net with different weights).
 *
 * @defaultValue factor 0.01
 */
export function regularizerSpec(name: RegularizerName, factors: { factor?: number; l1?: number; l2?: number } = {}): RegularizerSpec {
  if (!REGULARIZER_NAMES.includes(name)) throw new Error(`Unknown regularizer '${name}'. Use one of ${REGULARIZER_NAMES.join(', ')}.`);
  const f = factors.factor ?? DEFAULT_FACTOR;
  for (const [k, v] of Object.entries({ factor: f, l1: factors.l1, l2: factors.l2 })) {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new RangeError(`Regularizer ${k} must be a finite number >= 0, got ${v}.`);
  }
  const l1 = name === 'l1' || name === 'elasticnet' ? (factors.l1 ?? f) : 0;
  const l2 = name === 'l2' || name === 'elasticnet' ? (factors.l2 ?? f) : 0;
  return { name, l1, l2 };
}

/** The tfjs regularizer for a kernel (kept in the saved model's config), or undefined for base. */
export function kernelRegularizer(spec: RegularizerSpec): ReturnType<typeof tf.regularizers.l1l2> | undefined {
  if (spec.l1 === 0 && spec.l2 === 0) return undefined;
  return tf.regularizers.l1l2({ l1: spec.l1, l2: spec.l2 });
}

interface SerializedRegularizer {
  className?: string;
  config?: { l1?: number; l2?: number };
}

const KERNEL_KEYS: Record<string, [regularizerKey: string, weightSuffix: string][]> = {
  Conv2D: [['kernelRegularizer', 'kernel']],
  Dense: [['kernelRegularizer', 'kernel']],
  DepthwiseConv2D: [['depthwiseRegularizer', 'depthwise_kernel']],
  SeparableConv2D: [
    ['depthwiseRegularizer', 'depthwise_kernel'],
    ['pointwiseRegularizer', 'pointwise_kernel'],
  ],
};

function layersOf(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.flatMap((l) => (l instanceof tf.LayersModel ? layersOf(l) : [l]));
}

/**
 * The kernel penalty of a model, read from its layers' regularizer configs: exactly
 * sum over kernels of l1 * sum|w| + l2 * sum w^2. tfjs-layers adds these only inside `fit`, so a
 * custom training loop adds this term itself. Returns a scalar (0 when nothing is regularized).
 */
export function regularizationLoss(model: tf.LayersModel): tf.Scalar {
  return tf.tidy(() => {
    let total: tf.Scalar = tf.scalar(0);
    for (const layer of layersOf(model)) {
      const keys = KERNEL_KEYS[layer.getClassName()];
      if (!keys) continue;
      const config = layer.getConfig() as Record<string, SerializedRegularizer | null | undefined>;
      for (const [regKey, suffix] of keys) {
        const reg = config[regKey];
        const l1 = reg?.config?.l1 ?? 0;
        const l2 = reg?.config?.l2 ?? 0;
        if (!l1 && !l2) continue;
        const w = layer.trainableWeights.find((v) => v.originalName.endsWith(`/${suffix}`) || v.originalName === suffix);
        if (!w) continue;
        const t = w.read();
        if (l1) total = total.add(t.abs().sum().mul(l1));
        if (l2) total = total.add(t.square().sum().mul(l2));
      }
    }
    return total;
  });
}
