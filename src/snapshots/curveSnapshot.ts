import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import type { SnapshotUpdateMode } from './heatmapSnapshot.js';

/** What a curve snapshot stores: the measured points with their intervals. */
export interface StoredCurve {
  attack: string;
  n: number;
  points: { eps: number; robustAccuracy: number; lower: number; upper: number }[];
}

export interface CurveSnapshotOutcome {
  status: 'written' | 'updated' | 'matched' | 'regressed' | 'budgets-differ' | 'missing';
  snapshotPath: string;
  /** Budgets where the new curve's interval lies wholly below the stored one's. */
  regressions: { eps: number; stored: StoredCurve['points'][number]; now: StoredCurve['points'][number] }[];
  stored?: StoredCurve;
}

const round = (v: number) => Number(v.toPrecision(6));

/**
 * Compares a robustness curve with the one stored at `snapshotPath` (JSON). A later release fails
 * where its curve falls below the stored one beyond the intervals: at some budget its upper
 * bound lies under the stored lower bound. Better or overlapping curves match (the stored one
 * stays until `-u`). A missing snapshot is written unless the update mode is 'none' (CI); with
 * 'all' (`vitest -u`) a differing snapshot is rewritten. Writes are atomic.
 */
export function compareCurveSnapshot(curve: StoredCurve, where: { snapshotPath: string; update: SnapshotUpdateMode }): CurveSnapshotOutcome {
  const { snapshotPath, update } = where;
  const now: StoredCurve = { attack: curve.attack, n: curve.n, points: curve.points.map((p) => ({ eps: round(p.eps), robustAccuracy: round(p.robustAccuracy), lower: round(p.lower), upper: round(p.upper) })) };
  const text = `${JSON.stringify(now, null, 2)}\n`;
  if (!existsSync(snapshotPath)) {
    if (update === 'none') return { status: 'missing', snapshotPath, regressions: [] };
    writeFileAtomic(snapshotPath, text);
    return { status: 'written', snapshotPath, regressions: [] };
  }
  const stored = JSON.parse(readFileSync(snapshotPath, 'utf8')) as StoredCurve;
  if (update === 'all') {
    if (readFileSync(snapshotPath, 'utf8') === text) return { status: 'matched', snapshotPath, regressions: [], stored };
    writeFileAtomic(snapshotPath, text);
    return { status: 'updated', snapshotPath, regressions: [], stored };
  }
  const sameBudgets = stored.points?.length === now.points.length && stored.points.every((p, i) => p.eps === now.points[i]!.eps);
  if (!sameBudgets || stored.attack !== now.attack) return { status: 'budgets-differ', snapshotPath, regressions: [], stored };
  const regressions = now.points.flatMap((p, i) => (p.upper < stored.points[i]!.lower ? [{ eps: p.eps, stored: stored.points[i]!, now: p }] : []));
  return { status: regressions.length ? 'regressed' : 'matched', snapshotPath, regressions, stored };
}
