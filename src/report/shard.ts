// Sharded runs: each `vitest --shard=i/n` machine writes its checks to its own file; merging them
// gives the one robustness.json (and page) the gate judges.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { reportDir } from '../record/reportDir.js';
import type { RobustnessRecord } from '../record/record.js';

export interface Shard {
  index: number;
  count: number;
}

export interface ShardFile {
  generated: string;
  shard: Shard;
  records: RobustnessRecord[];
}

/** <report folder>/shards/robustness-<i>-of-<n>.json: distinct per shard, so CI can gather them into one folder. */
export function shardPath(shard: Shard, root = process.cwd()): string {
  return join(reportDir(root), 'shards', `robustness-${shard.index}-of-${shard.count}.json`);
}

/** Writes this shard's checks (also when it has none: the merge must tell "ran, no checks" from "missing"). */
export function writeShard(records: readonly RobustnessRecord[], shard: Shard, root = process.cwd()): string {
  const path = shardPath(shard, root);
  writeFileAtomic(path, `${JSON.stringify({ generated: new Date().toISOString(), shard, records }, null, 2)}\n`);
  return path;
}

/** Reads one shard file, refusing anything that is not one. */
export function readShard(path: string): ShardFile {
  let data: Partial<ShardFile>;
  try {
    data = JSON.parse(readFileSync(path, 'utf8')) as Partial<ShardFile>;
  } catch (err) {
    throw new Error(`${path} is not a readable shard file (${(err as Error).message}). Shard files are what \`vitest --shard=i/n\` writes under reports/shards/.`);
  }
  const s = data.shard;
  if (!s || !Number.isInteger(s.index) || !Number.isInteger(s.count) || s.index < 1 || s.index > s.count || !Array.isArray(data.records)) {
    throw new Error(`${path} is not a shard file: it needs { shard: { index, count }, records: [...] }, as \`vitest --shard=i/n\` writes under reports/shards/.`);
  }
  return data as ShardFile;
}

/** The shard files among paths: files as given, and every robustness-*-of-*.json inside a folder. */
export function shardFiles(paths: readonly string[]): string[] {
  return paths.flatMap((p) => {
    if (!existsSync(p)) throw new Error(`${p} does not exist. Give the shard files (or the folder holding them), e.g. reports/shards.`);
    if (!statSync(p).isDirectory()) return [p];
    return readdirSync(p)
      .filter((f) => /^robustness-\d+-of-\d+\.json$/.test(f))
      .sort()
      .map((f) => join(p, f));
  });
}

/**
 * The checks of every shard of one run, in shard order. Refuses a set with a shard missing, twice,
 * or from a run with another shard count: a merged report without a shard's checks would let the
 * gate pass on what was never measured.
 */
export function mergeShards(files: readonly { path: string; data: ShardFile }[]): RobustnessRecord[] {
  if (!files.length) throw new Error('No shard files to merge. Each `vitest --shard=i/n` run writes reports/shards/robustness-<i>-of-<n>.json; gather them into one folder first.');
  const counts = [...new Set(files.map((f) => f.data.shard.count))];
  if (counts.length > 1) throw new Error(`The shard files come from runs split ${counts.join(' and ')} ways: ${files.map((f) => f.path).join(', ')}. Merge the files of one run.`);
  const count = counts[0]!;
  const seen = new Map<number, string>();
  for (const f of files) {
    const other = seen.get(f.data.shard.index);
    if (other) throw new Error(`Shard ${f.data.shard.index} of ${count} is given twice (${other} and ${f.path}). Merge each shard once.`);
    seen.set(f.data.shard.index, f.path);
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  if (missing.length) throw new Error(`Shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${count} ${missing.length > 1 ? 'are' : 'is'} missing; the merged report would lack their checks. Gather every shard's reports/shards/ file (did a shard job fail before its reporter ran?).`);
  return [...files].sort((a, b) => a.data.shard.index - b.data.shard.index).flatMap((f) => f.data.records);
}
