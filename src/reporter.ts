// `vitest-robustness/reporter`: gathers every robustness matcher call of a run into
// reports/robustness.json and a self-contained reports/index.html.
import { clearResults, readResults } from './report/record.js';
import { writeReport } from './report/write.js';

export interface RobustnessReporterOptions {
  /** Leave out records of spec files whose path (relative to the root) matches this regex. */
  ignore?: string;
}

export default class RobustnessReporter {
  private root = process.cwd();
  private readonly ignore: RegExp | undefined;

  constructor(options: RobustnessReporterOptions = {}) {
    this.ignore = options.ignore ? new RegExp(options.ignore) : undefined;
  }

  onInit(ctx: { config?: { root?: string } }): void {
    this.root = ctx.config?.root ?? process.cwd();
    clearResults(this.root);
  }

  onTestRunEnd(): void {
    const records = readResults(this.root).filter((r) => !this.ignore?.test(r.spec));
    if (records.length === 0) return;
    const { html } = writeReport(records, this.root);
    console.log(`\n[vitest-robustness] ${records.length} robustness checks; report: ${html}`);
  }
}
