// Reads the README's marked code blocks, so the end-to-end test runs exactly what the README shows.
//
// The convention (for anyone adding a block the test should run): an HTML comment on the line
// right before a fenced code block says what the block is. Markdown renders neither the comment
// nor anything else of it.
//
//   <!-- e2e: file PATH -->   the block is written, verbatim, to PATH in the user's project
//   <!-- e2e: install -->     the block is the install command; the test runs it with the package
//                             name replaced by the packed tarball
//   <!-- e2e: ci-job -->      the block is a GitHub Actions workflow; the test runs its `run:` steps
//                             in order (the ones it cannot run are listed in the test, with why)
//
// A marker not followed by a fenced block, an unknown marker and two blocks for one file are
// errors, so a typo cannot quietly drop a block from the test.

export type ReadmeBlockKind = 'file' | 'install' | 'ci-job';

export interface ReadmeBlock {
  kind: ReadmeBlockKind;
  /** The project-relative path, for `file` blocks. */
  path?: string;
  /** The fence's info string ('ts', 'json', 'yaml', 'sh', ...). */
  lang: string;
  /** The block's text, with a final newline. */
  text: string;
  /** 1-based line of the marker in the README. */
  line: number;
}

const MARKER = /^<!--\s*e2e:\s*(.*?)\s*-->\s*$/;

function parseMarker(body: string, line: number): Pick<ReadmeBlock, 'kind' | 'path'> {
  const [kind, ...rest] = body.split(/\s+/);
  if (kind === 'file') {
    const path = rest.join(' ');
    if (!path || path.startsWith('/') || path.split('/').includes('..')) throw new Error(`README line ${line}: 'e2e: file' needs a path inside the project, e.g. <!-- e2e: file vitest.config.ts -->; got '${path}'.`);
    return { kind, path };
  }
  if ((kind === 'install' || kind === 'ci-job') && rest.length === 0) return { kind };
  throw new Error(`README line ${line}: unknown marker '<!-- e2e: ${body} -->'. Known: 'e2e: file PATH', 'e2e: install', 'e2e: ci-job' (see e2e/readmeBlocks.ts).`);
}

/** Every marked block of a README, in order. Throws naming the line of a malformed marker. */
export function readmeBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: ReadmeBlock[] = [];
  const files = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const m = MARKER.exec(lines[i]!.trim());
    if (!m) continue;
    const line = i + 1;
    const { kind, path } = parseMarker(m[1]!, line);
    const fence = /^(```+|~~~+)\s*([\w-]*)\s*$/.exec(lines[i + 1] ?? '');
    if (!fence) throw new Error(`README line ${line}: the marker must be followed directly by a fenced code block (line ${line + 1} is '${lines[i + 1] ?? ''}').`);
    const close = lines.findIndex((l, j) => j > i + 1 && l.trim() === fence[1]);
    if (close < 0) throw new Error(`README line ${line + 1}: the code block is never closed.`);
    if (path) {
      if (files.has(path)) throw new Error(`README line ${line}: a second block for ${path} (the first is at line ${files.get(path)}).`);
      files.set(path, line);
    }
    blocks.push({ kind, path, lang: fence[2] ?? '', text: `${lines.slice(i + 2, close).join('\n')}\n`, line });
    i = close;
  }
  return blocks;
}

/** The one block of a kind (for `install` and `ci-job`), or a clear error when it is missing or doubled. */
export function onlyBlock(blocks: readonly ReadmeBlock[], kind: ReadmeBlockKind): ReadmeBlock {
  const found = blocks.filter((b) => b.kind === kind);
  if (found.length !== 1) throw new Error(`README: expected exactly one '<!-- e2e: ${kind} -->' block; found ${found.length}.`);
  return found[0]!;
}

/**
 * The `run:` steps of a GitHub Actions workflow, in order. Only the one-line form
 * (`- run: command  # comment`) is read; a multi-line `run: |` step is an error, so no step is
 * silently skipped.
 */
export function workflowRunSteps(yaml: string): string[] {
  const steps: string[] = [];
  for (const [i, raw] of yaml.split('\n').entries()) {
    const m = /^\s*-?\s*run:\s*(.*)$/.exec(raw);
    if (!m) continue;
    const command = m[1]!.replace(/\s+#.*$/, '').trim();
    if (command === '' || command === '|' || command === '>') throw new Error(`ci-job line ${i + 1}: only one-line 'run:' steps are supported by the README test; got '${raw.trim()}'.`);
    steps.push(command);
  }
  return steps;
}
