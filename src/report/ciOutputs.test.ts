import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticReport } from '../test-support/syntheticReport.js';
import { renderJunit } from './junit.js';
import { renderMarkdownSummary } from './markdown.js';
import { writeReport, writeStepSummary } from './write.js';

const root = mkdtempSync(join(tmpdir(), 'ci-outputs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const records = syntheticReport(root);

describe('JUnit XML', () => {
  it('has one testcase per check with its measurement as properties, and a failure per failed check', () => {
    const xml = renderJunit(records, '2026-12-02T10:00:00Z');
    const cases = xml.match(/<testcase [\s\S]*?<\/testcase>/g)!;
    expect(cases).toHaveLength(records.length);
    for (const [name, v] of [['value', '0.18'], ['interval', '[0.0'], ['threshold', '&gt;= 0.3'], ['n', '64'], ['backend', 'wasm'], ['eps', '8/255']]) {
      expect(cases[3]).toContain(`<property name="${name}" value="${v}`);
    }
    expect(xml.match(/<failure /g)).toHaveLength(records.filter((r) => !r.pass).length);
    expect(xml).toMatch(/<testsuites name="vitest-robustness" tests="12" failures="4"/);
    // Quotes, markup and control characters in names and messages stay well-formed XML.
    const odd = renderJunit([{ ...records[0]!, test: 'a "b" <c> & \u0001d', pass: false, message: '</failure>' }], 'x');
    expect(odd).toContain('name="a &quot;b&quot; &lt;c&gt; &amp; \ufffdd [shapes-resnet: pgd]"');
    expect(odd).toContain('&lt;/failure&gt;</failure>');
  });

  it('is written beside robustness.json', () => {
    const { junit } = writeReport(records, root);
    expect(readFileSync(junit, 'utf8')).toContain('<testsuite name="specs/release.spec.ts" tests="12" failures="4"');
  });
});

describe('Markdown summary', () => {
  it('counts per model and lists failures first with value, interval, threshold and n', () => {
    const md = renderMarkdownSummary(records);
    expect(md).toContain('### Robustness: 8 of 12 checks passed, **4 failed**');
    expect(md).toContain('| shapes-mobilenet | ❌ 1 / 5 |');
    const rows = md.split('\n').filter((l) => /^\| (✅|❌) \|/.test(l));
    expect(rows).toHaveLength(12);
    expect(rows.slice(0, 4).every((r) => r.startsWith('| ❌'))).toBe(true);
    expect(md).toContain('| ❌ | shapes-mobilenet | resists PGD at eps 8/255 | pgd eps 8/255 robustAccuracy | 0.180 [0.070, 0.300] | >= 0.3 | 64 |');
  });

  it('is appended to $GITHUB_STEP_SUMMARY when it is set, and nothing is written otherwise', () => {
    const file = join(root, 'summary.md');
    writeFileSync(file, 'earlier step\n');
    expect(writeStepSummary(records, { GITHUB_STEP_SUMMARY: file })).toBe(file);
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('earlier step\n### Robustness')).toBe(true);
    expect(writeStepSummary(records, {})).toBeUndefined();
  });
});
