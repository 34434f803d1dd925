// Public names of src/report.
export { renderCurvePlot } from './curvePlot.js';
export { renderHtml } from './html.js';
export { checkGate, evaluateGate, gateTable, parseThresholds, ruleLabel, GATE_METRICS } from './gate.js';
export type { GateRule, GateBreach, GateRow, GateMetric } from './gate.js';
export { writeReport, writeStepSummary } from './write.js';
export { renderJunit } from './junit.js';
export { renderMarkdownSummary } from './markdown.js';
export { writeShard, readShard, mergeShards, shardFiles, shardPath } from './shard.js';
export type { Shard, ShardFile } from './shard.js';
export { screenshotReport, chromiumPath } from './screenshot.js';
export { writeHtmlReport } from './write.js';
export type { ReportExtension, ReportContext, ReportContribution, ReportSection } from './extension.js';
