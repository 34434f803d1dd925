// The library's one-way flow: a module may import only from its own room or from rooms on a
// lower floor. Rooms on the same floor are independent of each other. This test parses every
// relative import of every non-test module under src/ and fails on one that goes against it.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/**
 * Floor of each room (a folder under src/, or a file directly in it). Lower floors never import
 * higher ones; a room imports nothing from another room on its own floor.
 */
export const FLOORS: Record<string, number> = {
  util: 0, // safe file writes, seeded random, progress bars, event-loop yield
  record: 0, // the record contract between matchers (writers) and reporter (reader)
  data: 1, // datasets, Samples, input checks, blur and noise
  backend: 2, // tfjs backend choice and kernels
  models: 3, // classifiers, model files, layer lookup (models' frozen head uses backend kernels)
  attacks: 4,
  attribution: 4,
  train: 5, // training, adversarial training (uses attacks)
  metrics: 5, // accuracy, density, bootstrap, robustness curves (uses attacks)
  workers: 6, // worker threads for attacks, attributions and training (registers itself with each)
  snapshots: 6,
  arbitraries: 6,
  matchers: 7,
  report: 8, // HTML, JUnit, Markdown, gate, shards
  'reporter.ts': 9, // the Vitest reporter, built on report/
  plugin: 10, // the Vitest plugin, which installs the reporter
  cli: 10,
  'setup.ts': 10, // the setup entry: backend and matchers
  'index.ts': 11, // the package's public barrel
  'test-support': 12, // helpers of the tests; nothing in the library may import it
};

/**
 * Imports against the flow that are known and not fixed yet, as 'from-file -> to-file' (paths
 * under src/), each with the reason. Empty: keep it so.
 */
const KNOWN: Record<string, string> = {};

/** The room of a path under src/: its first folder, or the file itself when it sits in src/. */
export function roomOf(pathInSrc: string): string {
  return pathInSrc.split(sep).join('/').split('/')[0]!;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Module specifiers of static imports, re-exports and dynamic imports. */
export function importsOf(code: string): string[] {
  const out: string[] = [];
  const patterns = [/\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[1]!);
  return out;
}

/** Every import of a module under `root` that goes against {@link FLOORS}, as 'from -> to: why'. */
export function violations(root: string): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(root)) {
    const from = relative(root, file).split(sep).join('/');
    const fromRoom = roomOf(from);
    const fromFloor = FLOORS[fromRoom];
    if (fromFloor === undefined) {
      found.push(`${from}: room '${fromRoom}' has no floor in FLOORS (src/layering.test.ts); add it`);
      continue;
    }
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = relative(root, resolve(dirname(file), spec)).split(sep).join('/').replace(/\.js$/, '.ts');
      if (target.startsWith('..')) {
        found.push(`${from} -> ${spec}: imports from outside src/`);
        continue;
      }
      const toRoom = roomOf(target);
      if (toRoom === fromRoom) continue;
      const toFloor = FLOORS[toRoom];
      const key = `${from} -> ${target}`;
      if (KNOWN[key]) continue;
      if (toFloor === undefined) found.push(`${key}: room '${toRoom}' has no floor in FLOORS; add it`);
      else if (toFloor > fromFloor) found.push(`${key}: ${fromRoom} (floor ${fromFloor}) imports from ${toRoom}, a higher floor (${toFloor})`);
      else if (toFloor === fromFloor) found.push(`${key}: ${fromRoom} and ${toRoom} share floor ${fromFloor} and must not import each other`);
    }
  }
  return found;
}

describe('layering', () => {
  it('every import in src/ follows util/record -> data -> backend -> models -> attacks/attribution -> train/metrics -> workers/snapshots/arbitraries -> matchers -> report -> reporter -> plugin/CLI', () => {
    expect(violations(SRC)).toEqual([]);
  });

  it('the parser sees the kinds of import the sources use', () => {
    const code = ["import * as tf from '@tensorflow/tfjs';", "import { a, b } from '../data/samples.js';", "import type { X } from './types.js';", "export { y } from '../record/record.js';", "export * from './util/index.js';", "import './side.js';", "const m = await import('../report/write.js');", "import {\n  c,\n  d,\n} from '../models/io.js';"].join('\n');
    expect(importsOf(code).sort()).toEqual(['../data/samples.js', '../models/io.js', '../record/record.js', '../report/write.js', './side.js', './types.js', './util/index.js', '@tensorflow/tfjs'].sort());
  });

  it('KNOWN exemptions are all still needed', () => {
    // A stale exemption would let the same import come back unnoticed.
    const all = sourceFiles(SRC).flatMap((f) => importsOf(readFileSync(f, 'utf8')).map((s) => `${relative(SRC, f).split(sep).join('/')} -> ${relative(SRC, resolve(dirname(f), s)).split(sep).join('/').replace(/\.js$/, '.ts')}`));
    expect(Object.keys(KNOWN).filter((k) => !all.includes(k))).toEqual([]);
  });
});
