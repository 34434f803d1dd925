// Public names of src/arbitraries, re-exported by src/index.ts.
export {};
