// Public names of src/arbitraries, re-exported by src/index.ts.
export { perturbations } from './perturbation.js';
export type { Perturbation } from './perturbation.js';
