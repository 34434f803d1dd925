export { initBackend, currentBackend, describeBackend, backendFromEnv, BACKEND_CHOICES } from './select.js';
export type { BackendChoice, BackendInfo, InitBackendOptions } from './select.js';
export { withLeakCheck, TensorLeakError } from './leaks.js';
export * from './kernels/index.js';
export { announceOncePerRun, announceMarker } from './announce.js';
export { silenceNodeBanner } from './banner.js';
