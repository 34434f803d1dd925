import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../data/atomic.js';
import type { RobustnessRecord } from './record.js';
import { chromiumPath, screenshotReport } from './screenshot.js';
import { renderHtml } from './html.js';
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

describe('HTML report: values from a report are data, never markup or a way out of reports/', () => {
  it('escapes every value from a record, and survives values that are not numbers', () => {
    const evil = '<script>alert(1)</script>';
    const html = renderHtml(
      [
        record({
          model: `<img src=x onerror=alert(1)>`,
          test: evil,
          method: evil,
          value: evil as unknown as number,
          n: `"><script>x</script>` as unknown as number,
          threshold: { op: evil as '>=', value: evil as unknown as number },
          interval: { lower: evil as unknown as number, upper: 1, level: 0.95 },
          params: { eps: evil },
          card: { cleanAccuracy: { value: evil, n: evil }, spec: { arch: evil } },
        }),
        record({ value: null as unknown as number }),
      ],
      { generated: evil, root },
    );
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<script>x');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toMatch(/<td>null<\/td>/);
  });

  it('embeds only PNGs inside reports/, not a path that leads out of it', () => {
    mkdirSync(join(root, 'reports', 'worst'), { recursive: true });
    const png = new PNG({ width: 2, height: 2 });
    png.data.fill(100);
    const bytes = PNG.sync.write(png);
    writeFileAtomic(join(root, 'secret.png'), bytes);
    writeFileAtomic(join(root, 'reports', 'worst', 'ok.png'), bytes);
    writeFileAtomic(join(root, 'reports', 'notes.txt'), 'not an image');
    symlinkSync(join(root, 'secret.png'), join(root, 'reports', 'worst', 'link.png'));
    const artefacts = ['reports/worst/ok.png', 'secret.png', '../secret.png', join(root, 'secret.png'), 'reports/../secret.png', 'reports/notes.txt', 'reports/worst/link.png'];
    const html = renderHtml([record({ artefacts })], { generated: 'now', root });
    expect(html.match(/data:image\/png;base64,/g)).toHaveLength(1);
    expect(html.match(/is not embedded: only PNG files under reports\/ are/g)).toHaveLength(5);
    expect(html).toContain('reports/worst/link.png is not embedded: it links outside reports/');
  });
});
