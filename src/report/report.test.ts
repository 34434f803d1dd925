import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../data/atomic.js';
import type { RobustnessRecord } from './record.js';
import { chromiumPath, screenshotReport } from './screenshot.js';
import { writeReport } from './write.js';

const root = mkdtempSync(join(tmpdir(), 'report-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function record(over: Partial<RobustnessRecord>): RobustnessRecord {
  return {
    spec: 'specs/a.spec.ts',
    test: 'resists pgd',
    matcher: 'toResistAttack',
    model: 'resnet20-base',
    backend: 'wasm',
    method: 'pgd',
    params: { eps: 0.031, steps: 10 },
    metric: 'robustAccuracy',
    value: 0.25,
    interval: { lower: 0.2, upper: 0.31, level: 0.95 },
    threshold: { op: '>=', value: 0.3 },
    n: 200,
    pass: false,
    artefacts: [],
    time: '2026-11-25T00:00:00Z',
    ...over,
  };
}

describe('HTML report', () => {
  it('is self-contained: tables of every check, images inline, nothing fetched', () => {
    mkdirSync(join(root, 'reports', 'worst'), { recursive: true });
    const png = new PNG({ width: 4, height: 4 });
    png.data.fill(200);
    writeFileAtomic(join(root, 'reports', 'worst', 'x.png'), PNG.sync.write(png));
    const { html, json } = writeReport([record({ artefacts: ['reports/worst/x.png'] }), record({ model: 'cnn1', metric: 'ssd', value: 12.5, pass: true, method: 'gradcam' })], root);
    const text = readFileSync(html, 'utf8');
    expect(text).toContain('data:image/png;base64,');
    expect(text).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/);
    expect(text).toMatch(/<td>resnet20-base<\/td>.*<td class="fail">0 \/ 1<\/td>/s);
    expect(JSON.parse(readFileSync(json, 'utf8')).records).toHaveLength(2);
  });

  it.runIf(chromiumPath())('renders in headless Chromium with its tables and images, and leaves a screenshot', async () => {
    const { html } = writeReport([record({ artefacts: ['reports/worst/x.png'] }), record({ model: 'cnn1', pass: true })], root);
    // Kept in reports/ (ignored by git) to look at; the committed one is of the example specs' report.
    const shot = resolve('reports', 'report-test-screenshot.png');
    mkdirSync(resolve('reports'), { recursive: true });
    const check = await screenshotReport(html, shot);
    expect(check).toEqual({ tables: 2, rows: 2, images: 1, brokenImages: 0 });
    expect(PNG.sync.read(readFileSync(shot)).width).toBe(1280);
  }, 60_000);
});
