// Public names of src/attribution, re-exported by src/index.ts.
export {};
