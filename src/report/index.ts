// Public names of src/report.
export { recordResult, readResults, clearResults, resultsDir } from './record.js';
export type { RobustnessRecord } from './record.js';
export { renderHtml } from './html.js';
export { writeReport } from './write.js';
export { checkGate, parseThresholds, GATE_METRICS } from './gate.js';
export type { GateRule, GateBreach } from './gate.js';
export { screenshotReport, chromiumPath } from './screenshot.js';
