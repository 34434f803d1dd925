// Public names of src/metrics, re-exported by src/index.ts.
export {};
