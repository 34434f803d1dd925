// `vitest-robustness/reporter` (the plugin adds it): gathers every robustness matcher call of a run
// into reports/robustness.json and a self-contained reports/index.html, with the sections and
// files of the report extensions it is given, and checks the release gate when given a
// thresholds file.
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkExtensions, loadExtensions, runExtensions, type ReportExtensionRef } from './report/extension.js';
import { checkGate, parseThresholds } from './report/gate.js';
import { clearResults, isEmbeddedSample, readResults, type RobustnessRecord } from './record/record.js';
import { reportDir } from './record/reportDir.js';
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
  /**
   * Extensions that add sections to index.html and pages or files of their own, from the run's
   * records: objects (see ReportExtension), or paths of modules whose default export is one
   * (imported through Vitest's module runner). @defaultValue []
   */
  extensions?: readonly ReportExtensionRef[];
}

/** Brands the reporter so the plugin can tell it is already configured. */
export const ROBUSTNESS_REPORTER = Symbol.for('vitest-robustness.reporter');

export default class RobustnessReporter {
  private root = process.cwd();
  private started = Date.now();
  private readonly ignore: RegExp | undefined;
  private readonly thresholds: string | undefined;
  private readonly extensions: readonly ReportExtensionRef[];
  private importer: ((id: string) => Promise<unknown>) | undefined;
  readonly [ROBUSTNESS_REPORTER] = true;
  private shard: Shard | undefined;

  constructor(options: RobustnessReporterOptions = {}) {
    this.ignore = options.ignore ? new RegExp(options.ignore) : undefined;
    this.thresholds = options.thresholds;
    this.extensions = checkExtensions(options.extensions, 'RobustnessReporter');
  }

  onInit(ctx: { config?: { root?: string; shard?: Shard }; import?: (id: string) => Promise<unknown> }): void {
    this.root = ctx.config?.root ?? process.cwd();
    this.importer = ctx.import?.bind(ctx);
    this.shard = ctx.config?.shard;
    this.started = Date.now();
    clearResults(this.root);
  }

  async onTestRunEnd(testModules: readonly ModuleLike[] = []): Promise<void> {
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
    // A module path goes through Vitest (TypeScript, the config's aliases); without Vitest, Node.
    const load = (path: string) => (this.importer ? this.importer(resolve(this.root, path)) : import(pathToFileURL(resolve(this.root, path)).href));
    const contributions = runExtensions(await loadExtensions(this.extensions, load), { root: this.root, reportDir: reportDir(this.root), records, startedAt: this.started });
    const sections = contributions.flatMap((c) => c.sections ?? []);
    if (records.length > 0) {
      const { html } = writeReport(records, this.root, sections);
      writeStepSummary(records, process.env, contributions.flatMap((c) => (c.markdown ? [c.markdown] : [])));
      const onSample = records.filter(isEmbeddedSample).length;
      const sample = onSample ? ` (${onSample} on the embedded 200-image CIFAR-10 sample, not a full test split)` : '';
      console.log(`\n[vitest-robustness] ${records.length} robustness checks${sample}; report: ${html}`);
    } else if (contributions.some((c) => c.updated)) {
      // An extension wrote something this run though no matcher was called: its sections get a
      // page; the last robustness.json is left alone. A run that measured nothing at all (the
      // unit tests) leaves index.html as the last spec run wrote it.
      const html = writeHtmlReport([], this.root, undefined, sections);
      console.log(`[vitest-robustness] no robustness checks in this run; report extensions' sections: ${html}`);
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
