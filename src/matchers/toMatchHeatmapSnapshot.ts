import { relative, resolve } from 'node:path';
import { writeHeatmapPng } from '../attribution/heatmap.js';
import { checkHeatmapOptions, compareHeatmapSnapshot, type HeatmapSnapshotOptions, type SnapshotUpdateMode } from '../snapshots/heatmapSnapshot.js';
import { reportDir } from '../record/reportDir.js';
import { snapshotDir } from '../snapshots/snapshotDir.js';
import { modelOf } from '../attribution/provenance.js';
import type { ImageNote } from '../record/record.js';
import { fileSafe, nextCall } from './callCounter.js';
import { type MatcherOutcome, type MatcherThis, record } from './shared.js';
import { countSnapshot } from './snapshotCounts.js';

export interface SnapshotThis extends MatcherThis {
  /** Vitest's SnapshotState: `snapshotUpdateState` is its public update mode (-u: 'all', CI=true: 'none'). */
  snapshotState?: { snapshotUpdateState?: string };
  /** The running test (Vitest's public matcher context): names are numbered per attempt of it, and its id keys the snapshot counters. */
  task?: unknown;
}

/** The snapshot update mode of the running test: Vitest's (-u is 'all', --ci 'none'), else 'none' in CI and 'new' locally. */
export function updateMode(ctx: SnapshotThis): SnapshotUpdateMode {
  const mode = ctx.snapshotState?.snapshotUpdateState;
  if (mode === 'all' || mode === 'new' || mode === 'none') return mode;
  return process.env.CI && process.env.CI !== 'false' ? 'none' : 'new';
}

/**
 * Makes a `toMatchHeatmapSnapshot` whose options default to `common` (per-call options win),
 * like jest-image-snapshot's configureToMatchImageSnapshot.
 */
export function configureToMatchHeatmapSnapshot(common: HeatmapSnapshotOptions = {}) {
  return async function toMatchHeatmapSnapshot(this: SnapshotThis, received: unknown, name?: string, options: HeatmapSnapshotOptions = {}): Promise<MatcherOutcome> {
    if (this.isNot) throw new Error('toMatchHeatmapSnapshot cannot be used with .not: a snapshot can only be matched or updated.');
    if (name !== undefined && (typeof name !== 'string' || !name)) {
      throw new TypeError(`toMatchHeatmapSnapshot: the name must be a non-empty string; got ${typeof name === 'object' ? JSON.stringify(name) : String(name)}. To give options without a name, pass undefined first: toMatchHeatmapSnapshot(undefined, options).`);
    }
    checkHeatmapOptions('toMatchHeatmapSnapshot', common);
    checkHeatmapOptions('toMatchHeatmapSnapshot', options);
    const spec = this.testPath ? relative(process.cwd(), this.testPath) : 'unknown-spec';
    // Unnamed snapshots are numbered within the test attempt, so a retry or rerun reuses its names.
    const file = `${name ? fileSafe(name) : `${fileSafe(this.currentTestName)}-${nextCall(this, 'heatmap snapshot')}`}.png`;
    const snapshotPath = resolve(snapshotDir(), spec, file);
    const diffPath = resolve(reportDir(), 'diffs', spec, file);
    const update = updateMode(this);
    const r = await compareHeatmapSnapshot(received as never, { snapshotPath, diffPath, update }, { ...common, ...options });
    const shown = (p: string) => relative(process.cwd(), p);
    countSnapshot(this.snapshotState, this.task, r.status);
    const ok = r.status !== 'missing' && r.status !== 'mismatch';
    const merged = { ...common, ...options };
    const ratio = merged.maxDiffRatio;
    const allowedPixels = ratio !== undefined ? Math.floor(ratio * r.totalPixels) : (merged.maxDiffPixels ?? 0);
    // The report embeds images from its own folder only, so the heatmap as received is saved there too.
    const heatmapPath = resolve(reportDir(), 'heatmaps', spec, file);
    await writeHeatmapPng(heatmapPath, received as never, { colormap: merged.colormap ?? 'jet' });
    const pct = ((100 * r.diffPixels) / r.totalPixels).toFixed(2);
    const outcome = verdict();
    const colormap = merged.colormap ?? 'jet';
    const images: ImageNote[] = r.diffPath
      ? [{ file: shown(r.diffPath), kind: 'snapshot', panels: ['expected', 'actual', 'diff'], colormap }]
      : [{ file: shown(heatmapPath), kind: 'snapshot', panels: [r.status === 'matched' ? 'heatmap (matches its snapshot)' : r.status === 'missing' ? 'heatmap (no snapshot to compare with)' : `heatmap (snapshot ${r.status})`], colormap }];
    // The map knows its model when one of this package's attribution methods made it.
    record(this, modelOf(received), {
      matcher: 'toMatchHeatmapSnapshot',
      method: 'heatmap snapshot',
      params: { snapshot: shown(snapshotPath), status: r.status, ...merged },
      metric: 'snapshotDiffPixels',
      value: r.diffPixels,
      threshold: { op: '<=', value: allowedPixels },
      n: r.totalPixels,
      pass: ok,
      artefacts: [shown(heatmapPath), ...(r.diffPath ? [shown(r.diffPath)] : [])],
      images,
      message: outcome.message(),
    });
    return outcome;

    function verdict(): MatcherOutcome {
      switch (r.status) {
        case 'written':
        case 'updated':
        case 'matched':
          return { pass: true, message: () => `heatmap ${r.status === 'matched' ? 'matches' : r.status} ${shown(snapshotPath)}` };
        case 'missing':
          return {
            pass: false,
            message: () => `heatmap snapshot ${shown(snapshotPath)} is missing, and snapshots are not written in CI (CI=true). Run the spec locally (or with -u) and commit the snapshot.`,
          };
        default:
          return {
            pass: false,
            message: () =>
              `heatmap differs from ${shown(snapshotPath)}: ${r.sizeNote ?? `${r.diffPixels} of ${r.totalPixels} pixels (${pct}%) differ`}` +
              `${ratio !== undefined ? `, allowed ratio ${ratio}` : `, allowed ${allowedPixels} pixels`}. ` +
              `Expected | actual | diff: ${shown(r.diffPath!)}. If the change is intended, run vitest -u.`,
            actual: r.diffPixels,
            expected: allowedPixels,
          };
      }
    }
  };
}

/** `await expect(map).toMatchHeatmapSnapshot(name?, options?)` with the default options. */
export const toMatchHeatmapSnapshot = configureToMatchHeatmapSnapshot();

