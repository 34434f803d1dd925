import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { snapshotDir } from './snapshotDir.js';

/** A spec file as the reporter saw it: its path relative to the root, and whether every test in it ran and passed. */
export interface SpecRun {
  spec: string;
  /** False when a test was skipped, filtered out or failed: it may not have reached its snapshot calls. */
  complete: boolean;
}

/**
 * Heatmap snapshots no test checked in this run: PNGs under snapshots/<spec>/ for spec files that
 * ran completely (every test run and passed), minus the snapshots the run's matchers compared
 * (`checked`, paths relative to the root). Vitest reports its own snapshots of a removed or renamed
 * test the same way, as obsolete. They are listed, never deleted: a snapshot is the user's file.
 */
export function obsoleteSnapshots(runs: readonly SpecRun[], checked: Iterable<string>, root = process.cwd()): string[] {
  const seen = new Set([...checked].map((p) => resolve(root, p)));
  const out: string[] = [];
  for (const run of runs) {
    if (!run.complete) continue;
    const dir = resolve(snapshotDir(root), run.spec);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith('.png') && !seen.has(join(dir, f))) out.push(relative(root, join(dir, f)));
    }
  }
  return out;
}
