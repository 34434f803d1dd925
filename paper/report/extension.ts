// The paper's part of the robustness report, through the reporter's extension point: at the end
// of a run whose paper specs wrote claims it rebuilds reports/paper.md from the claim files, and adds the
// "Paper reproduction" section to reports/index.html.
import type { ReportExtension } from 'vitest-robustness/plugin';
import { claimsWrittenSince, PAPER_CLAIM_IDS, readClaims, writePaperReport } from './claims.js';
import { renderPaperHtml } from './html.js';

/** The report extension the workbench's vitest config gives the plugin (by this module's path). */
export default function paperReport(): ReportExtension {
  return {
    name: 'paper reproduction',
    onReport({ root, startedAt }) {
      // A damaged claim file throws here: the reporter says so, and the run keeps its own report.
      const claims = readClaims(root);
      if (claims.length === 0) return undefined;
      const fresh = claimsWrittenSince(startedAt, root);
      // reports/paper.md is rebuilt only by a run that measured a claim (npm run paper, or one
      // paper spec): a unit-test run leaves the committed report as it is.
      const paper = fresh ? writePaperReport(root) : undefined;
      if (paper && fresh) console.log(`\n[paper] paper reproduction: ${claims.length} of ${PAPER_CLAIM_IDS.length} claims; report: ${paper.markdown}`);
      return { sections: [{ id: 'paper', title: 'paper reproduction', html: renderPaperHtml(claims, root) }], updated: fresh };
    },
  };
}
