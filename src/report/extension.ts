// The reporter's extension point: a project adds its own sections to the HTML report and its own
// pages and files beside it, from the run's records, without the library knowing what they are.
import type { RobustnessRecord } from '../record/record.js';

/** What an extension's hook receives at the end of a run. */
export interface ReportContext {
  /** The project root (Vitest's). */
  root: string;
  /** The report folder, absolute (reports/ unless configured). */
  reportDir: string;
  /** Every robustness check of the run (spec files matched by `ignore` left out). */
  records: readonly RobustnessRecord[];
  /** When the run started (ms since the epoch): a file written since then is this run's. */
  startedAt: number;
}

/** A section the extension adds to index.html, after the checks. */
export interface ReportSection {
  /** The section's anchor (the report's header links to #id); letters, digits, - and _. */
  id: string;
  /** The link text in the report's header. */
  title: string;
  /** The section's HTML, inserted as given: escape whatever text you put in it. */
  html: string;
}

/** What a hook returns: all optional. */
export interface ReportContribution {
  /** Sections for index.html. */
  sections?: readonly ReportSection[];
  /** Markdown appended to the run's summary on GitHub Actions ($GITHUB_STEP_SUMMARY). */
  markdown?: string;
  /**
   * The extension wrote something this run: index.html is rewritten with its sections even when
   * the run made no matcher call (otherwise such a run leaves the last report alone).
   */
  updated?: boolean;
}

/**
 * An extension of the robustness reporter, given to the plugin (`robustness({ extensions })`) or
 * the reporter. `onReport` runs once at the end of every run that is not one shard of several,
 * before the report is written; write extra pages or files there (under `ctx.reportDir`). A hook
 * that throws costs only its own contribution, and says so on stderr.
 */
export interface ReportExtension {
  /** Names the extension in messages. */
  name: string;
  onReport(ctx: ReportContext): ReportContribution | undefined | void;
}

/**
 * An extension, or the path (relative to the project root) of a module whose default export is
 * one or makes one (a function without arguments). A path is imported through Vitest's module
 * runner at the end of the run, so it may be TypeScript and use the config's aliases, and a
 * vitest.config.ts that names it does not load it (nor what it imports) itself.
 */
export type ReportExtensionRef = ReportExtension | string;

const SECTION_ID = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** Whether `s` is a well-formed section: { id (letters, digits, - and _), title, html }. */
export function isReportSection(s: unknown): s is ReportSection {
  const x = s as Partial<ReportSection> | null;
  return typeof x === 'object' && x !== null && SECTION_ID.test(typeof x.id === 'string' ? x.id : '') && typeof x.title === 'string' && typeof x.html === 'string';
}

function checkExtension(x: unknown, where: string): ReportExtension {
  const e = x as Partial<ReportExtension> | null;
  if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || e.name.trim() === '' || typeof e.onReport !== 'function') {
    throw new TypeError(`${where} must be an object { name: string, onReport(ctx) }; got ${e === null ? 'null' : typeof e === 'object' ? `keys ${Object.keys(e).join(', ') || 'none'}` : typeof e}.`);
  }
  return e as ReportExtension;
}

/** Throws unless `value` is a list of extensions or module paths (checked when the plugin or reporter is set up). */
export function checkExtensions(value: unknown, who: string): readonly ReportExtensionRef[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new TypeError(`${who}: extensions must be an array of { name, onReport(ctx) } or module paths; got ${value === null ? 'null' : typeof value}.`);
  return value.map((e: unknown, i) => {
    if (typeof e === 'string') {
      if (e.trim() === '') throw new TypeError(`${who}: extensions[${i}] is an empty path.`);
      return e;
    }
    return checkExtension(e, `${who}: extensions[${i}]`);
  });
}

/** The extensions, with each module path imported by `load` (Vitest's module runner in the reporter). */
export async function loadExtensions(refs: readonly ReportExtensionRef[], load: (path: string) => Promise<unknown>): Promise<ReportExtension[]> {
  const out: ReportExtension[] = [];
  for (const ref of refs) {
    if (typeof ref !== 'string') {
      out.push(ref);
      continue;
    }
    try {
      const mod = (await load(ref)) as { default?: unknown } | undefined;
      const value = typeof mod?.default === 'function' ? (mod.default as () => unknown)() : mod?.default;
      out.push(checkExtension(value, `the default export of ${ref}`));
    } catch (err) {
      console.error(`\n[vitest-robustness] report extension ${ref} could not be loaded, its part of the report is left out: ${(err as Error).message}`);
    }
  }
  return out;
}

/**
 * Runs every extension's hook; a hook that throws, or returns sections that are not well formed,
 * is reported on stderr and left out, so one extension cannot cost the run its report.
 */
export function runExtensions(extensions: readonly ReportExtension[], ctx: ReportContext): ReportContribution[] {
  const out: ReportContribution[] = [];
  const ids = new Set<string>();
  for (const ext of extensions) {
    try {
      const c = ext.onReport(ctx) ?? {};
      for (const s of c.sections ?? []) {
        if (!isReportSection(s)) throw new TypeError(`a section must be { id (letters, digits, - and _), title, html }; got ${JSON.stringify(s).slice(0, 80)}`);
        if (ids.has(s.id)) throw new Error(`the section id '${s.id}' is already used by another section`);
        ids.add(s.id);
      }
      if (c.markdown !== undefined && typeof c.markdown !== 'string') throw new TypeError('markdown must be a string');
      out.push(c);
    } catch (err) {
      console.error(`\n[vitest-robustness] report extension '${ext.name}' failed, its part of the report is left out: ${(err as Error).message}`);
    }
  }
  return out;
}
