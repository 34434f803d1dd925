export { installFastKernels, uninstallFastKernels, restoreStockKernels, FAST_KERNEL_BACKENDS } from './install.js';
export { conv2dBackpropInputFast } from './conv2dBackpropInput.js';
export { conv2dBackpropFilterFast } from './conv2dBackpropFilter.js';
export { depthwiseBackpropInputFast } from './depthwiseBackprop.js';
export { depthwiseBackpropInputWasm, depthwiseBackpropFilterWasm } from './depthwiseBackpropWasm.js';
export { maxPoolGradWasm } from './maxPoolGrad.js';
export { convGeometry } from './geometry.js';
export type { ConvGeometry } from './geometry.js';
