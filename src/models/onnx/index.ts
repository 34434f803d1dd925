// Public names of src/models/onnx, re-exported by src/models/index.ts.
export { loadOnnxModel, type LoadOptions } from './load.js';
export { OnnxModel, isOnnxModel, type FeatureMap } from './model.js';
export { PREPROCESSING_DEFAULTS, type Preprocessing } from './preprocessing.js';
export { cardPathFor, type ForeignModelCard } from './card.js';
export { OPERATORS as ONNX_OPERATORS } from './ops/index.js';
