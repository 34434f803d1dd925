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
export { writeClaim, readClaims, writePaperReport, validateClaim, renderPaperMarkdown, readFixtureFacts, claimsWrittenSince, paperDir, PAPER_CLAIM_IDS, PAPER_CLAIM_SOURCES, PAPER_VERDICTS } from './paper.js';
export type { PaperClaim, PaperClaimId, FixtureFacts } from './paper.js';
export { renderPaperHtml, markdownToHtml } from './paperHtml.js';
