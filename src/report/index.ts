// Public names of src/report, re-exported by src/index.ts.
export {};
