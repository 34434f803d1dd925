// Public names of src/data, re-exported by src/index.ts.
export { makeSamples, assertUnitRange } from './samples.js';
export type { Samples } from './samples.js';
