// Runs once per run in Vitest's own process (the plugin adds it): names a fresh marker file for the
// workers' one backend line (backend/announce.ts) and removes it when the run ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): (() => void) | undefined {
  // With several projects each runs this; the first one's marker serves the run.
  if (process.env.ROBUSTNESS_ANNOUNCE_MARKER) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'vitest-robustness-'));
  process.env.ROBUSTNESS_ANNOUNCE_MARKER = join(dir, 'announced');
  return () => {
    delete process.env.ROBUSTNESS_ANNOUNCE_MARKER;
    rmSync(dir, { recursive: true, force: true });
  };
}
