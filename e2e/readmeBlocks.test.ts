import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { onlyBlock, readmeBlocks, workflowRunSteps } from './readmeBlocks.js';

const fence = '```';

describe('readmeBlocks', () => {
  it('reads marked blocks verbatim, with their kind, path and line, and leaves unmarked ones alone', () => {
    const md = ['# t', '', `${fence}ts`, 'not marked', fence, '<!-- e2e: file specs/a.spec.ts -->', `${fence}ts`, 'line 1', '  line 2', fence, 'text', '<!-- e2e: install -->', `${fence}sh`, 'npm i x', fence].join('\n');
    expect(readmeBlocks(md)).toEqual([
      { kind: 'file', path: 'specs/a.spec.ts', lang: 'ts', text: 'line 1\n  line 2\n', line: 6 },
      { kind: 'install', path: undefined, lang: 'sh', text: 'npm i x\n', line: 12 },
    ]);
  });

  it('refuses a marker without a block, an unknown marker, a path outside the project and a file given twice', () => {
    expect(() => readmeBlocks('<!-- e2e: file a.ts -->\n\n```ts\nx\n```')).toThrow(/line 1: the marker must be followed directly by a fenced code block/);
    expect(() => readmeBlocks('<!-- e2e: flie a.ts -->\n```ts\nx\n```')).toThrow(/unknown marker/);
    expect(() => readmeBlocks('<!-- e2e: file ../a.ts -->\n```ts\nx\n```')).toThrow(/a path inside the project/);
    expect(() => readmeBlocks('<!-- e2e: file a.ts -->\n```ts\nx\n```\n<!-- e2e: file a.ts -->\n```ts\ny\n```')).toThrow(/line 5: a second block for a.ts \(the first is at line 1\)/);
    expect(() => readmeBlocks('<!-- e2e: install -->\n```sh\nnpm i')).toThrow(/never closed/);
  });

  it('finds exactly one install and one ci-job block', () => {
    expect(() => onlyBlock([], 'install')).toThrow(/exactly one '<!-- e2e: install -->' block; found 0/);
  });

  it('lists a workflow\'s one-line run steps without their comments, and refuses multi-line ones', () => {
    const yaml = 'steps:\n  - uses: a@v1\n  - run: npm ci\n  - run: npx vitest run   # a comment\n';
    expect(workflowRunSteps(yaml)).toEqual(['npm ci', 'npx vitest run']);
    expect(() => workflowRunSteps('  - run: |\n      a\n')).toThrow(/one-line 'run:' steps/);
  });

  it('parses this repository\'s README: one install block, one CI job, and the files a project needs', () => {
    const blocks = readmeBlocks(readFileSync(new URL('../README.md', import.meta.url), 'utf8'));
    onlyBlock(blocks, 'install');
    onlyBlock(blocks, 'ci-job');
    const files = blocks.filter((b) => b.kind === 'file').map((b) => b.path);
    expect(files).toEqual(expect.arrayContaining(['vitest.config.ts', 'robustness.thresholds.json', 'tsconfig.json']));
    expect(files.some((f) => f!.endsWith('.spec.ts'))).toBe(true);
  });
});
