// Public names of src/snapshots, re-exported by src/index.ts.
export { compareHeatmapSnapshot } from './heatmapSnapshot.js';
export type { HeatmapSnapshotOptions, SnapshotOutcome, SnapshotUpdateMode } from './heatmapSnapshot.js';
export { snapshotDir } from './snapshotDir.js';
