// Heatmap snapshots in Vitest's own "Snapshots" summary line: each outcome is added to the
// counters of the test file's SnapshotState, the counters Vitest's own toMatchSnapshot uses.
import type { SnapshotOutcome } from '../snapshots/heatmapSnapshot.js';

type SnapshotStatus = SnapshotOutcome['status'];

interface Counter {
  increment(key: string): void;
}

/** The SnapshotState counters (@vitest/snapshot: CounterMaps keyed by test id). */
interface Counters {
  added?: Counter;
  updated?: Counter;
  matched?: Counter;
  unmatched?: Counter;
}

const isCounter = (c: unknown): c is Counter => typeof (c as Counter | undefined)?.increment === 'function';

/**
 * Counts one heatmap snapshot outcome the way Vitest counts its own: written as added, updated,
 * matched, and a mismatch or a snapshot missing in CI as unmatched (failed). Counted per test id,
 * so a retried test's counts are cleared with Vitest's. Does nothing outside a Vitest test.
 */
export function countSnapshot(state: unknown, task: unknown, status: SnapshotStatus): void {
  const counters = state as Counters | undefined;
  const id = (task as { id?: unknown } | undefined)?.id;
  if (!counters || typeof id !== 'string') return;
  const counter = { written: counters.added, updated: counters.updated, matched: counters.matched, mismatch: counters.unmatched, missing: counters.unmatched }[status];
  if (isCounter(counter)) counter.increment(id);
}
