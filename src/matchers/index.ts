// Public names of src/matchers, re-exported by src/index.ts.
export {};
