// Public names of src/util (the ground floor: no imports from any other part), re-exported by src/index.ts.
export { createProgress } from './progress.js';
export type { Progress, ProgressOptions } from './progress.js';
export { writeFileAtomic } from './atomic.js';
export { mulberry32, shuffleInPlace } from './random.js';
