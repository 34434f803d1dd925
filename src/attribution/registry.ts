import type { Attribution } from './common.js';
import { gradcam } from './gradcam.js';
import { integratedGradients } from './integratedGradients.js';
import { occlusion } from './occlusion.js';
import { saliency } from './saliency.js';

/** The built-in attribution methods by name. */
export const attributions = Object.freeze({ gradcam, occlusion, saliency, integratedGradients });

/** Names of the built-in attribution methods. */
export type AttributionName = keyof typeof attributions;

/** The built-in attribution names, in registry order. */
export const ATTRIBUTION_NAMES = Object.keys(attributions) as AttributionName[];

/**
 * The attribution method called `name`, or `method` itself when given a function with the
 * {@link Attribution} signature `(model, x, params) => Promise<Tensor3D>` (a user's own).
 * @throws Error listing the known names for an unknown one
 * @example `const maps = await getAttribution('gradcam')(model, images);`
 */
export function getAttribution(method: AttributionName | string | Attribution<any>): Attribution<any> {
  if (typeof method === 'function') return method;
  if (typeof method === 'string' && Object.hasOwn(attributions, method)) return attributions[method as AttributionName] as Attribution<any>;
  throw new Error(
    `Unknown attribution method ${JSON.stringify(String(method))}; known methods: ${ATTRIBUTION_NAMES.map((n) => `'${n}'`).join(', ')}. A custom method is a function (model, images, params) => Promise<Tensor3D> of [N, H, W] maps in [0, 1].`,
  );
}
