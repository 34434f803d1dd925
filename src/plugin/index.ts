// `vitest-robustness/plugin`: the Vitest plugin and its options.
export { robustness, SETUP_FILE } from './robustness.js';
export { resolvePluginOptions, DEFAULT_TIMEOUT } from './options.js';
export type { RobustnessPluginOptions } from './options.js';
export type { RobustnessMatchers } from '../matchers/types.js';
export type { ReportExtension, ReportContext, ReportContribution, ReportSection } from '../report/extension.js';
