// The one-way dependence between the library and the paper workbench: nothing under src/ imports
// from paper/, and paper/ reaches the library only through its public entries ('vitest-robustness',
// '/plugin', '/setup', '/reporter'), as a user's project does.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const PUBLIC = new Set(['vitest-robustness', 'vitest-robustness/plugin', 'vitest-robustness/setup', 'vitest-robustness/reporter']);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ts|js|mjs|cjs)$/.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
export function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\sfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push((m[1] ?? m[2])!);
  return out;
}

/** Where the file at `file` (relative to the root) reaches with a relative specifier, relative to the root. */
const target = (file: string, spec: string) => relative(ROOT, resolve(ROOT, dirname(file), spec));

/** Import lines that break the boundary, as "file: specifier". */
export function violations(files: ReadonlyMap<string, string>): string[] {
  const bad: string[] = [];
  for (const [file, text] of files) {
    for (const spec of specifiers(text)) {
      const rel = spec.startsWith('.') ? target(file, spec) : undefined;
      if (file.startsWith('src/')) {
        // The library: never the workbench, by path or by any name that leads there.
        if ((rel !== undefined && (rel === 'paper' || rel.startsWith('paper/'))) || /(^|\/)paper\//.test(spec)) bad.push(`${file}: ${spec} (the library imports the paper workbench)`);
      } else if (file.startsWith('paper/')) {
        if (rel !== undefined && !(rel === 'paper' || rel.startsWith('paper/'))) bad.push(`${file}: ${spec} (the workbench reaches into ${rel}; import the library by its public name)`);
        else if (spec.startsWith('vitest-robustness') && !PUBLIC.has(spec)) bad.push(`${file}: ${spec} (not a public entry of the package)`);
      }
    }
  }
  return bad;
}

describe('library and paper workbench', () => {
  it('src/ never imports paper/, and paper/ imports the library only by its public entries', () => {
    const files = new Map([...sources('src'), ...sources('paper')].map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]));
    expect(files.size).toBeGreaterThan(100);
    expect([...files.keys()].some((f) => f.startsWith('paper/'))).toBe(true);
    expect(violations(files)).toEqual([]);
  });

  it('names each kind of bad import', () => {
    const files = new Map([
      ['src/report/html.ts', "import { renderPaperHtml } from '../../paper/report/html.js';\nexport * from '../../paper/constants.js';"],
      ['src/reporter.ts', "const m = await import('../paper/report/extension.js');"],
      ['paper/specs/x.spec.ts', "import { gradcam } from '../../src/attribution/gradcam.js';\nimport type { Samples } from 'vitest-robustness/dist/data/samples.js';"],
      ['paper/cli/ok.ts', "import { train } from 'vitest-robustness';\nimport type { ReportExtension } from 'vitest-robustness/plugin';\nimport { writeClaim } from '../report/claims.js';"],
    ]);
    expect(violations(files)).toEqual([
      'src/report/html.ts: ../../paper/report/html.js (the library imports the paper workbench)',
      'src/report/html.ts: ../../paper/constants.js (the library imports the paper workbench)',
      'src/reporter.ts: ../paper/report/extension.js (the library imports the paper workbench)',
      'paper/specs/x.spec.ts: ../../src/attribution/gradcam.js (the workbench reaches into src/attribution/gradcam.js; import the library by its public name)',
      'paper/specs/x.spec.ts: vitest-robustness/dist/data/samples.js (not a public entry of the package)',
    ]);
  });
});
