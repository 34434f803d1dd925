// The package's public surface: each part's barrel, in the order data flows.
export * from './util/index.js';
export * from './record/index.js';
export * from './backend/index.js';
export * from './workers/index.js';
export * from './data/index.js';
export * from './models/index.js';
export * from './train/index.js';
export * from './attacks/index.js';
export * from './attribution/index.js';
export * from './metrics/index.js';
export * from './arbitraries/index.js';
export * from './snapshots/index.js';
export * from './matchers/index.js';
export * from './report/index.js';
export * from './cli/index.js';
