// Public names of src/snapshots, re-exported by src/index.ts.
export {};
