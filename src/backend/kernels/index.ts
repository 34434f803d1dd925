export { installFastKernels, uninstallFastKernels, FAST_KERNEL_BACKENDS } from './install.js';
export { conv2dBackpropInputFast } from './conv2dBackpropInput.js';
export { conv2dBackpropFilterFast } from './conv2dBackpropFilter.js';
export { depthwiseBackpropInputFast, depthwiseBackpropFilterFast } from './depthwiseBackprop.js';
export { convGeometry } from './geometry.js';
export type { ConvGeometry } from './geometry.js';
