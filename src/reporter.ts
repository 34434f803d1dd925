// `vitest-robustness/reporter`: gathers every robustness matcher call of a run into
// reports/robustness.json and a self-contained reports/index.html, and rebuilds the paper
// reproduction report (reports/paper.md) from the claim files the paper specs write.
import { claimsWrittenSince, readClaims, writePaperReport } from './report/paper.js';
import { clearResults, isEmbeddedSample, readResults } from './report/record.js';
import { writeHtmlReport, writeReport } from './report/write.js';

export interface RobustnessReporterOptions {
  /** Leave out records of spec files whose path (relative to the root) matches this regex. */
  ignore?: string;
}

export default class RobustnessReporter {
  private root = process.cwd();
  private started = Date.now();
  private readonly ignore: RegExp | undefined;

  constructor(options: RobustnessReporterOptions = {}) {
    this.ignore = options.ignore ? new RegExp(options.ignore) : undefined;
  }

  onInit(ctx: { config?: { root?: string } }): void {
    this.root = ctx.config?.root ?? process.cwd();
    this.started = Date.now();
    clearResults(this.root);
  }

  onTestRunEnd(): void {
    const records = readResults(this.root).filter((r) => !this.ignore?.test(r.spec));
    let claims = 0;
    const fresh = claimsWrittenSince(this.started, this.root);
    try {
      claims = readClaims(this.root).length;
      const paper = writePaperReport(this.root);
      if (paper && fresh) console.log(`\n[vitest-robustness] paper reproduction: ${claims} of 4 claims; report: ${paper.markdown}`);
    } catch (err) {
      // A broken claim file must not cost the run its robustness report; say what to fix.
      console.error(`\n[vitest-robustness] reports/paper.md not written: ${(err as Error).message}`);
    }
    if (records.length > 0) {
      const { html } = writeReport(records, this.root);
      const onSample = records.filter(isEmbeddedSample).length;
      const sample = onSample ? ` (${onSample} on the embedded 200-image CIFAR-10 sample, not a full test split)` : '';
      console.log(`\n[vitest-robustness] ${records.length} robustness checks${sample}; report: ${html}`);
    } else if (claims > 0 && fresh) {
      // A run whose paper specs made no matcher calls still gets its paper section; the last
      // robustness.json is left alone. A run that measured nothing at all (the unit tests) leaves
      // index.html as the last spec run wrote it.
      const html = writeHtmlReport([], this.root);
      console.log(`[vitest-robustness] no robustness checks in this run; paper section: ${html}`);
    }
  }
}
