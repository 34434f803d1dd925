import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../util/atomic.js';
import { syntheticReport } from '../test-support/syntheticReport.js';
import { budget, paramsLine } from './format.js';
import type { RobustnessRecord } from '../record/record.js';
import { chromiumPath, screenshotReport } from './screenshot.js';
import { renderHtml } from './html.js';
import { writeReport } from './write.js';
import { renderJunit } from './junit.js';

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

describe('report formatting', () => {
  it('writes pixel budgets as k/255 when they are one, and objects spelt out', () => {
    expect(budget(8 / 255)).toBe('8/255');
    expect(budget(1 / 255)).toBe('1/255');
    expect(budget(0.03)).toBe('0.03');
    expect(paramsLine({ eps: 8 / 255, stepSize: 2 / 255, steps: 10, change: { from: 4, to: 2 }, seed: undefined })).toBe('eps 8/255, stepSize 2/255, steps 10, change { from: 4, to: 2 }');
  });
});

describe('robustness curve plot', () => {
  const eps = [1, 2, 4, 8].map((e) => e / 255);
  const points = eps.map((e, i) => ({ eps: e, robustAccuracy: 0.6 - 0.15 * i, lower: 0.5 - 0.15 * i, upper: 0.7 - 0.15 * i }));
  const curveRecord = (curve: unknown, over: Partial<RobustnessRecord> = {}) =>
    record({ matcher: 'toHaveRobustnessCurve', metric: 'robustnessCurve', params: { eps }, value: 0.15, curve: curve as RobustnessRecord['curve'], ...over });
  const section = (html: string, i: number) => html.slice(html.indexOf(`id="check-${i}"`), html.indexOf('</section>', html.indexOf(`id="check-${i}"`)));

  it('draws an inline SVG in the check section: a point and an error bar per eps, k/255 ticks, the band, the stored curve and the minimums', () => {
    const stored = points.map((p) => ({ ...p, robustAccuracy: p.robustAccuracy + 0.05 }));
    const html = renderHtml([curveRecord({ attack: 'pgd', points, min: [0.5, 0.4, 0.2, 0.1], snapshot: { path: 'snapshots/a/gate.curve.json', status: 'matched', points: stored } })], { generated: 'now', root });
    const s = section(html, 0);
    expect(s).toMatch(/<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="curve"/);
    expect(s.match(/<circle class="pt"/g)).toHaveLength(4);
    expect(s.match(/<line class="bar"/g)).toHaveLength(4);
    expect(s.match(/<circle class="stored-pt"/g)).toHaveLength(4);
    expect(s.match(/<line class="min"/g)).toHaveLength(4);
    expect(s).toContain('<polygon class="band"');
    for (const k of ['1/255', '2/255', '4/255', '8/255']) expect(s).toContain(`>${k}</text>`);
    expect(s).toContain('snapshots/a/gate.curve.json');
    // Self-contained: nothing the plot draws is fetched.
    expect(s).not.toMatch(/(src|href)="https?:/);
    // Higher accuracy is drawn higher: the first point's y is smaller than the last's.
    const ys = [...s.matchAll(/<circle class="pt" cx="[\d.]+" cy="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(ys[0]).toBeLessThan(ys[3]!);
  });

  it('draws nothing for a record without a curve, says so for a damaged one, and escapes what it shows', () => {
    const html = renderHtml(
      [record({}), curveRecord({ attack: 'pgd', points: 'x' }), curveRecord({ attack: '<b>x</b>', points, snapshot: { path: '<img src=x>', status: '<i>', points: [{ eps: 'no' }] } })],
      { generated: 'now', root },
    );
    expect(section(html, 0)).not.toContain('<svg');
    expect(section(html, 1)).not.toContain('<svg');
    expect(section(html, 1)).toContain('robustness curve of this check is not drawn');
    const s = section(html, 2);
    expect(s.match(/<circle class="pt"/g)).toHaveLength(4);
    expect(s).not.toContain('stored-pt');
    expect(s).not.toContain('<img src=x>');
    expect(s).not.toContain('<b>x</b>');
    expect(s).toContain('&lt;img src=x&gt;');
    expect(s).toContain('its stored points are damaged');
  });
});

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
    expect(text).toMatch(/<td>resnet20-base<details>|<td>resnet20-base<\/td>.*<td class="fail">0 \/ 1<\/td>/s);
    expect(JSON.parse(readFileSync(json, 'utf8')).records).toHaveLength(2);
  });

  it('states each failure message, counts every check of a model (snapshots too), and names invariance methods', () => {
    const records = syntheticReport(root);
    const text = readFileSync(writeReport(records, root).html, 'utf8');
    // The synthetic mobilenet fails PGD, SSD, invariance and its snapshot: 1 of 5 passed.
    expect(text).toMatch(/<td>shapes-mobilenet.*?<td class="fail">1 \/ 5<\/td>/s);
    expect(text).not.toContain('unnamed model');
    expect(text).not.toContain('[object Object]');
    expect(text).toContain('flips sample 4 (shape-4) from &#39;circle&#39; to &#39;square&#39;');
    expect(text).toContain('at eps 8/255');
    expect(text).toContain('id="comparison"');
  });

  it('refuses to inline a file outside reports/, and inlines one named ..x.png inside', () => {
    const text = readFileSync(writeReport([record({ artefacts: ['../../etc/passwd', 'package.json', 'reports/../package.json'] })], root).html, 'utf8');
    expect(text).toContain('is not embedded');
    expect(text).not.toContain('data:image/png');
    const png = new PNG({ width: 2, height: 2 });
    writeFileAtomic(join(root, 'reports', '..x.png'), PNG.sync.write(png));
    expect(readFileSync(writeReport([record({ artefacts: ['reports/..x.png'] })], root).html, 'utf8')).toContain('data:image/png');
  });

  it.runIf(chromiumPath())(
    'works in headless Chromium: every row links to its images, the failures filter hides passes, no console errors',
    async () => {
      const records = syntheticReport(root);
      const { html } = writeReport(records, root);
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath: chromiumPath()!, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
      try {
        const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        const errors: string[] = [];
        page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.goto(pathToFileURL(html).href);
        // Each row's link points at a section that holds that check's images, all decoded.
        const links = (await page.evaluate(`[...document.querySelectorAll('#checks tbody tr')].map((tr) => {
          const a = tr.querySelector('a.to-images');
          const target = a && document.querySelector(a.getAttribute('href'));
          const imgs = target ? [...target.querySelectorAll('img')] : [];
          const crops = target ? target.querySelectorAll('.crop').length : 0;
          return { id: tr.id, target: target ? target.id : null, images: imgs.length + crops, broken: imgs.filter((i) => !i.complete || i.naturalWidth === 0).length };
        })`)) as { id: string; target: string | null; images: number; broken: number }[];
        expect(links).toHaveLength(records.length);
        for (const [i, l] of links.entries()) {
          expect(l.target).toBe(`check-${l.id.slice(4)}`);
          expect(l.broken).toBe(0);
          const r = records[Number(l.id.slice(4))]!;
          expect(l.images > 0, `${r.test} of ${r.model} (row ${i})`).toBe(r.artefacts.length > 0);
        }
        await page.click('a[href="#check-1"]');
        expect(await page.evaluate('location.hash')).toBe('#check-1');
        const visible = () => page.evaluate(`[...document.querySelectorAll('#checks tbody tr')].filter((tr) => tr.offsetParent !== null).length`);
        expect(await visible()).toBe(records.length);
        await page.check('#failures-only');
        expect(await visible()).toBe(records.filter((r) => !r.pass).length);
        await page.uncheck('#failures-only');
        // The snapshot slider moves the boundary between expected and actual.
        const slider = page.locator('input[type=range]').first();
        await slider.fill('20');
        expect(await page.evaluate(`document.getElementById(document.querySelector('input[type=range]').dataset.target).style.width`)).toBe('80%');
        expect(errors).toEqual([]);
        // Kept in reports/ (ignored by git) to look at; reports/screenshot*.png are copies of these.
        mkdirSync(resolve('reports'), { recursive: true });
        await page.evaluate('window.scrollTo(0, 0)');
        await page.screenshot({ path: resolve('reports', 'report-test-first-screen.png') });
        await page.locator('section.check.fail').filter({ hasText: 'heatmap differs' }).screenshot({ path: resolve('reports', 'report-test-snapshot.png') });
        await page.locator('section.check.fail').first().screenshot({ path: resolve('reports', 'report-test-failure.png') });
        // The curve check draws its plot: an SVG laid out at its size, a point per budget.
        const curve = page.locator('section.check').filter({ hasText: 'keeps its robustness curve' });
        const box = await curve.locator('svg.curve').boundingBox();
        expect(box && box.width > 400 && box.height > 200).toBe(true);
        expect(await curve.locator('svg.curve circle.pt').count()).toBe(4);
        await curve.screenshot({ path: resolve('reports', 'report-test-curve.png') });
      } finally {
        await browser.close();
      }
    },
    60_000,
  );

  it.runIf(chromiumPath())('screenshotReport renders the page and counts its images', async () => {
    const { html } = writeReport(syntheticReport(root), root);
    const shot = join(root, 'shot.png');
    const check = await screenshotReport(html, shot);
    expect(check.rows).toBe(12);
    expect(check.brokenImages).toBe(0);
    expect(PNG.sync.read(readFileSync(shot)).width).toBeGreaterThanOrEqual(1280);
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
    // A null value shows as null, before its interval.
    expect(html).toMatch(/<td>null <span class="ci">/);
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

describe('HTML report of a damaged or hostile robustness.json', () => {
  it('escapes every value and builds the page even when fields have the wrong type', () => {
    const bad = record({
      test: '<script>alert(1)</script>',
      value: '<img src=x onerror=alert(1)>' as never,
      n: null as never,
      threshold: undefined as never,
      message: '<b>boom</b>',
      params: { eps: '<i>' } as never,
      images: [{ file: 'reports/none.png', kind: 'attack', panels: ['<u>'], before: { class: '<s>', confidence: 'high' as never } }, { nonsense: true } as never],
    });
    const text = readFileSync(writeReport([bad], root).html, 'utf8');
    expect(text).not.toMatch(/<(img|i|u|s|b) /);
    expect(text).not.toContain('<script>alert');
    expect(text).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });
});

describe('model comparison section', () => {
  const comparison = {
    candidate: { model: 'resnet20-base-adv', robustAccuracy: 0.27, lower: 0.193, upper: 0.364, clean: 0.66 },
    baseline: { model: 'resnet20-base', robustAccuracy: 0.09, lower: 0.048, upper: 0.162, clean: 0.75 },
    difference: { estimate: 0.18, lower: 0.11, upper: 0.26, level: 0.95 },
    onlyCandidate: 18,
    onlyBaseline: 0,
    perClass: [{ label: 3, class: 'cat', n: 10, candidate: { clean: 0.5, robust: 0.2 }, baseline: { clean: 0.6, robust: 0 } }],
  };
  const cmpRecord = (over: Partial<RobustnessRecord> = {}) =>
    record({ matcher: 'toBeMoreRobustThan', model: 'resnet20-base-adv', metric: 'robustAccuracyDifference', params: { eps: 2 / 255, steps: 10, baseline: 'resnet20-base' }, value: 0.18, interval: { lower: 0.11, upper: 0.26, level: 0.95 }, threshold: { op: '>', value: 0 }, n: 100, pass: true, comparison, samples: 'reports/samples/x/pgd-0.007843-vs-resnet20-base.json', ...over });
  const section = (html: string, i: number) => html.slice(html.indexOf(`id="check-${i}"`), html.indexOf('</section>', html.indexOf(`id="check-${i}"`)));

  it('shows a row with both models and a section with candidate, baseline, difference [interval] and the verdict', () => {
    const html = renderHtml([cmpRecord(), cmpRecord({ comparison: { ...comparison, difference: { estimate: 0.02, lower: -0.03, upper: 0.07, level: 0.95 } }, pass: false })], { generated: 'now', root });
    const row = html.slice(html.indexOf('id="row-0"'), html.indexOf('</tr>', html.indexOf('id="row-0"')));
    expect(row).toContain('resnet20-base-adv <span class="vs">vs resnet20-base</span>');
    expect(row).toContain('&gt; 0');
    const s = section(html, 0);
    expect(s).toMatch(/<td>candidate<\/td><td>resnet20-base-adv<\/td><td>0\.270 <span class="ci">\[0\.193, 0\.364\]<\/span><\/td><td>66\.0%<\/td>/);
    expect(s).toMatch(/<td>baseline<\/td><td>resnet20-base<\/td><td>0\.090 <span class="ci">\[0\.048, 0\.162\]<\/span>/);
    expect(s).toMatch(/<td>difference<\/td><td>candidate - baseline \(paired bootstrap 95% interval\)<\/td><td>0\.180 <span class="ci">\[0\.110, 0\.260\]<\/span>/);
    expect(s).toContain('candidate more robust: the interval lies above 0; samples only the candidate stayed correct on: 18, only the baseline: 0');
    expect(s).toMatch(/<td>cat<\/td><td>10<\/td><td>50\.0%<\/td><td>20\.0%<\/td><td>60\.0%<\/td><td>0\.0%<\/td>/);
    expect(s).toContain('reports/samples/x/pgd-0.007843-vs-resnet20-base.json');
    expect(section(html, 1)).toContain('no difference shown: the interval contains 0');
  });

  it('says so for a damaged comparison and escapes what it holds', () => {
    const html = renderHtml([cmpRecord({ comparison: { difference: 1 } as never }), cmpRecord({ comparison: { ...comparison, baseline: { ...comparison.baseline, model: '<img src=x onerror=alert(1)>' } } })], { generated: 'now', root });
    expect(section(html, 0)).toContain('The comparison of this check is not shown');
    expect(html).not.toContain('<img src=x onerror');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('names the baseline and both robust accuracies in JUnit', () => {
    const xml = renderJunit([cmpRecord({ pass: false })], 'x');
    expect(xml).toContain('name="resists pgd [resnet20-base-adv vs resnet20-base: pgd]"');
    expect(xml).toContain('<property name="baseline" value="resnet20-base"/>');
    expect(xml).toContain('<property name="candidate robust accuracy" value="0.27 [0.193, 0.364]"/>');
    expect(xml).toContain('<property name="threshold" value="&gt; 0"/>');
    // Decided on the paired interval, not the estimate: the failure line gives the interval.
    expect(xml).toContain('<failure message="robustAccuracyDifference 0.18 with 95% paired interval [0.11, 0.26]: the check needs the interval &gt; 0"');
    const tie = renderJunit([cmpRecord({ pass: false, value: 0.02, comparison: { ...comparison, difference: { estimate: 0.02, lower: -0.03, upper: 0.07, level: 0.95 } } })], 'x');
    expect(tie).toContain('<failure message="robustAccuracyDifference 0.02 with 95% paired interval [-0.03, 0.07]: the check needs the interval &gt; 0"');
    // A damaged comparison falls back to the plain line.
    expect(renderJunit([cmpRecord({ pass: false, comparison: { ...comparison, difference: { estimate: 'x' } as never } })], 'x')).toContain('<failure message="robustAccuracyDifference 0.18 breaches &gt; 0"');
  });
});
