// Public names of src/models, re-exported by src/index.ts.
export * from './classifier.js';
export { buildModel, resolveModelSpec, ARCHS } from './build.js';
export type { Arch, ModelSpec, ResolvedModelSpec } from './build.js';
export { regularizerSpec, kernelRegularizer, regularizationLoss, REGULARIZER_NAMES } from './regularizers.js';
export type { RegularizerName, RegularizerSpec } from './regularizers.js';
export { saveModel, loadModel, loadClassifier, readCard, cardOf, modelArtifacts, replaceDirAtomic, recoverModelDir, trainingStatus, isFinished, type SaveOptions, type TrainingStatus } from './io.js';
export { toFloat16Bits, float32ToFloat16 } from './float16.js';
export { epochsText } from './card.js';
export type { ModelCard } from './card.js';
export * from './onnx/index.js';
export { flattenLayers, findLayerByName, findGradCamLayer, withLayerHook, featureMapSize, CONV_LAYER_CLASSES } from './layers.js';
