// Public names of src/attacks, re-exported by src/index.ts.
export {};
