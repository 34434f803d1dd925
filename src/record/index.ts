// Public names of src/record: the contract between the matchers, which write one record per
// check, and the reporter, gate and CLI, which read them (ground floor: imports nothing but node).
export { recordResult, readResults, clearResults, resultsDir, isEmbeddedSample } from './record.js';
export type { RobustnessRecord, ImageNote, ClassCall, RecordedCurve, RecordedCurvePoint, RecordedFlag, RecordedComparison } from './record.js';
export { reportDir } from './reportDir.js';
