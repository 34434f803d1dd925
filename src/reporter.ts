// `vitest-robustness/reporter` (the plugin adds it): gathers every robustness matcher call of a run
// into reports/robustness.json and a self-contained reports/index.html, checks the release gate
// when given a thresholds file, and rebuilds the paper reproduction report (reports/paper.md) from
// the claim files the paper specs write.
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { checkGate, parseThresholds } from './report/gate.js';
import { claimsWrittenSince, readClaims, writePaperReport } from './report/paper.js';
import { clearResults, isEmbeddedSample, readResults, type RobustnessRecord } from './record/record.js';
import { type Shard, writeShard } from './report/shard.js';
import { writeHtmlReport, writeReport, writeStepSummary } from './report/write.js';
import { obsoleteSnapshots, type SpecRun } from './snapshots/obsolete.js';

/** The parts of Vitest's TestModule (reporter API) used to tell which spec files ran completely. */
interface ModuleLike {
  moduleId: string;
  children: { allTests(): Iterable<{ result(): { state: string } }> };
}

export interface RobustnessReporterOptions {
  /** Leave out records of spec files whose path (relative to the root) matches this regex. */
  ignore?: string;
  /**
   * A thresholds file (`{ "rules": [...] }`, as `robustness gate` reads it), relative to the root.
   * When given, the gate is checked after every run and a breach (or a rule with no measurement)
   * fails the run. @defaultValue undefined: no gate in the run
   */
  thresholds?: string;
}

/** Brands the reporter so the plugin can tell it is already configured. */
export const ROBUSTNESS_REPORTER = Symbol.for('vitest-robustness.reporter');

export default class RobustnessReporter {
  private root = process.cwd();
  private started = Date.now();
  private readonly ignore: RegExp | undefined;
  private readonly thresholds: string | undefined;
  readonly [ROBUSTNESS_REPORTER] = true;
  private shard: Shard | undefined;

  constructor(options: RobustnessReporterOptions = {}) {
    this.ignore = options.ignore ? new RegExp(options.ignore) : undefined;
    this.thresholds = options.thresholds;
  }

  onInit(ctx: { config?: { root?: string; shard?: Shard } }): void {
    this.root = ctx.config?.root ?? process.cwd();
    this.shard = ctx.config?.shard;
    this.started = Date.now();
    clearResults(this.root);
  }

  onTestRunEnd(testModules: readonly ModuleLike[] = []): void {
    const records = readResults(this.root).filter((r) => !this.ignore?.test(r.spec));
    this.reportObsoleteSnapshots(testModules, records);
    if (this.shard) {
      // One shard's checks are not the run's: its own file, merged by `robustness merge` once
      // every shard is in; robustness.json, the page and the gate wait for that.
      const file = writeShard(records, this.shard, this.root);
      console.log(`\n[vitest-robustness] shard ${this.shard.index} of ${this.shard.count}: ${records.length} robustness checks in ${file}; combine the shards with \`npx robustness merge\`.`);
      // A shard lacks the other shards' checks, so its rules would read as unmeasured.
      if (this.thresholds) console.log(`[vitest-robustness] release gate left to the merged run: \`npx robustness merge && npx robustness gate --thresholds ${this.thresholds}\`.`);
      return;
    }
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
      writeStepSummary(records);
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
    if (this.thresholds) this.gate(records, this.thresholds);
  }

  /** The release gate over this run's records; a breach sets the exit code, as a failed test does. */
  private gate(records: readonly RobustnessRecord[], thresholds: string): void {
    const path = resolve(this.root, thresholds);
    try {
      if (!existsSync(path)) throw new Error(`the thresholds file ${path} does not exist; create it or remove the thresholds option.`);
      const rules = parseThresholds(JSON.parse(readFileSync(path, 'utf8')), thresholds);
      const breaches = checkGate(records, rules);
      if (breaches.length === 0) {
        console.log(`[vitest-robustness] release gate: all ${rules.length} rule(s) of ${thresholds} hold.`);
        return;
      }
      console.error(`\n[vitest-robustness] release gate: ${breaches.length} breach(es) of ${thresholds}:`);
      for (const b of breaches) console.error(`  - ${b.reason}`);
    } catch (err) {
      console.error(`\n[vitest-robustness] release gate not checked: ${(err as Error).message}`);
    }
    process.exitCode = 1;
  }

  /** Heatmap snapshots no test checked, said once per run the way Vitest reports obsolete snapshots. */
  private reportObsoleteSnapshots(testModules: readonly ModuleLike[], records: readonly { matcher: string; params: Record<string, unknown> }[]): void {
    const runs: SpecRun[] = testModules
      .map((m) => ({ spec: relative(this.root, m.moduleId), complete: [...m.children.allTests()].every((t) => t.result().state === 'passed') }))
      .filter((r) => !this.ignore?.test(r.spec));
    const checked = records.filter((r) => r.matcher === 'toMatchHeatmapSnapshot' && typeof r.params.snapshot === 'string').map((r) => r.params.snapshot as string);
    const obsolete = obsoleteSnapshots(runs, checked, this.root);
    if (obsolete.length) {
      console.log(`\n[vitest-robustness] ${obsolete.length} obsolete heatmap snapshot(s), checked by no test of their spec file: ${obsolete.join(', ')}. Delete them if the tests that wrote them are gone or renamed.`);
    }
  }
}
