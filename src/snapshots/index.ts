// Public names of src/snapshots, re-exported by src/index.ts.
export { compareHeatmapSnapshot, checkHeatmapOptions } from './heatmapSnapshot.js';
export { obsoleteSnapshots } from './obsolete.js';
export type { SpecRun } from './obsolete.js';
export type { HeatmapSnapshotOptions, SnapshotOutcome, SnapshotUpdateMode } from './heatmapSnapshot.js';
export { snapshotDir } from './snapshotDir.js';
export { compareCurveSnapshot } from './curveSnapshot.js';
export type { CurveSnapshotOutcome, StoredCurve } from './curveSnapshot.js';
