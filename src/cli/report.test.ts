import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeReport } from '../report/write.js';
import { main } from './main.js';

// The command works in the current folder (reports/ under it); Vitest runs each test file in its
// own process, so changing folder here touches no other test.
const root = mkdtempSync(join(tmpdir(), 'cli-report-'));
const home = process.cwd();
beforeEach(() => process.chdir(root));
afterEach(() => process.chdir(home));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const record = (model: string) => ({
  spec: 's.spec.ts',
  test: 't',
  matcher: 'toResistAttack',
  model,
  backend: 'wasm',
  method: 'pgd',
  params: {},
  metric: 'robustAccuracy',
  value: 0.5,
  threshold: { op: '>=', value: 0.3 },
  n: 10,
  pass: true,
  artefacts: [],
  time: '2026-12-01T00:00:00Z',
});

describe('robustness report', () => {
  it('--report other.json rebuilds the page from that file and leaves reports/robustness.json as it was', async () => {
    mkdirSync('reports', { recursive: true });
    const mine = `${JSON.stringify({ generated: 'x', records: [record('mine')] })}\n`;
    writeFileSync('reports/robustness.json', mine);
    writeFileSync('other.json', JSON.stringify({ generated: '2026-12-01T00:00:00Z', records: [record('theirs')] }));
    expect(await main(['report', '--report', 'other.json'])).toBe(0);
    expect(readFileSync('reports/robustness.json', 'utf8')).toBe(mine);
    expect(readFileSync('reports/index.html', 'utf8')).toContain('theirs');
  });

  it("rebuilds the report extensions' sections the run kept in robustness.json", async () => {
    rmSync('reports', { recursive: true, force: true });
    const sections = [{ id: 'paper', title: 'paper reproduction', html: '<p>Table 1 across eps</p>' }];
    writeReport([record('mine') as never], root, sections);
    const written = readFileSync('reports/index.html', 'utf8');
    expect(written).toContain('<p>Table 1 across eps</p>');
    expect(JSON.parse(readFileSync('reports/robustness.json', 'utf8')).sections).toEqual(sections);
    rmSync('reports/index.html');
    expect(await main(['report'])).toBe(0);
    const rebuilt = readFileSync('reports/index.html', 'utf8');
    expect(rebuilt).toContain('<section id="paper" class="extension">');
    expect(rebuilt).toContain('<p>Table 1 across eps</p>');
    expect(rebuilt).toBe(written);
  });

  it.each([
    ['sections that are not a list', JSON.stringify({ records: [record('a')], sections: {} }), /bad\.json: "sections" is not a list of \{ id, title, html \} strings/],
    ['a section without html', JSON.stringify({ records: [record('a')], sections: [{ id: 'x', title: 'x' }] }), /bad\.json: "sections" is not a list/],
    ['not JSON', '{"records": [', /bad\.json is not valid JSON \(.*\); it is not a report of `npx vitest specs`\. Run the specs again, or give --report the right file\. Nothing was written\./],
    ['null', 'null', /bad\.json is not a robustness report: it has no "records" list of checks/],
    ['records not a list', '{"records": {}}', /bad\.json is not a robustness report/],
    ['a record that is not an object', '{"records": [1]}', /bad\.json is not a robustness report/],
    ['a record without a threshold', JSON.stringify({ records: [record('a'), { ...record('b'), threshold: undefined }] }), /bad\.json: record 1 \(model "b", test "t"\) lacks threshold or has the wrong type there/],
  ])('a report file that is %s: names the file, writes nothing', async (_what, text, message) => {
    rmSync('reports', { recursive: true, force: true });
    writeFileSync('bad.json', text);
    await expect(main(['report', '--report', 'bad.json'])).rejects.toThrow(message);
    expect(existsSync('reports')).toBe(false);
  });
});
