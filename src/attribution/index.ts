// Public names of src/attribution, re-exported by src/index.ts.
export type { Attribution, AttributionCommon } from './common.js';
export { ATTRIBUTION_COMMON_DEFAULTS } from './common.js';
export { gradcam, GRADCAM_DEFAULTS } from './gradcam.js';
export type { GradCamParams } from './gradcam.js';
export { occlusion, patchOffsets, OCCLUSION_DEFAULTS } from './occlusion.js';
export type { OcclusionParams } from './occlusion.js';
export { saliency, SALIENCY_DEFAULTS } from './saliency.js';
export type { SaliencyParams } from './saliency.js';
export { integratedGradients, INTEGRATED_GRADIENTS_DEFAULTS } from './integratedGradients.js';
export type { IntegratedGradientsParams } from './integratedGradients.js';
export { attributions, getAttribution, ATTRIBUTION_NAMES } from './registry.js';
export type { AttributionName } from './registry.js';
export { normalizeMaps, resizeMaps, colormapRgb, colorize, heatmapToPng, writeHeatmapPng, overlayHeatmap, imageToPng, writeImagePng } from './heatmap.js';
export type { NormalizeMode, ColormapName, MapData, HeatmapPngOptions, OverlayOptions } from './heatmap.js';
export { modelOf } from './provenance.js';
