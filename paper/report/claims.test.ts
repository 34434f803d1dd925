import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { writeReport, type RobustnessRecord } from 'vitest-robustness';
import RobustnessReporter from 'vitest-robustness/reporter';
import { firstSentence, readClaims, validateClaim, writeClaim, writePaperReport, type PaperClaim } from './claims.js';
import paperReport from './extension.js';
import { markdownToHtml } from './html.js';

/** The paper's sections of the report, as the reporter gets them from the extension. */
const paperSections = (root: string) => paperReport().onReport({ root, reportDir: join(root, 'reports'), records: [], startedAt: 0 })?.sections ?? [];

const roots: string[] = [];
function freshRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'paper-'));
  roots.push(root);
  return root;
}
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="red"/></svg>\n';

function claim(over: Partial<PaperClaim> = {}): PaperClaim {
  return {
    id: 'fig1',
    title: 'Fig. 1: average density',
    claim: 'The regularization encourages the Average Density to decrease, but the accuracy of the less dense models are just as accurate.',
    verdict: 'partly reproduced',
    summary: 'Density falls from 0.170 to 0.088 between lambda 0 and 1e-4. Accuracy holds (58.1-60.3% vs 60.1%).',
    why: 'At lambda 1e-7 the penalty is too small to act within 5 epochs.',
    setup: 'cnn1, 5 epochs, 1,000 test images for density (seed 1), 5,000 for accuracy.',
    markdown: '| lambda | density (paper) | density (ours) |\n| --- | --- | --- |\n| 0 | n/a | 0.170 |\n| 1e-4 | n/a | 0.088 |\n',
    figures: [{ file: 'fig1.svg', caption: 'density and accuracy against lambda' }],
    measuredAt: '2026-11-25T06:00:00.000Z',
    ...over,
  };
}

function withFigure(root: string, file = 'fig1.svg'): void {
  mkdirSync(join(root, 'reports', 'paper'), { recursive: true });
  writeFileSync(join(root, 'reports', 'paper', file), SVG);
}

function card(root: string, name: string, finished: boolean, extra: object = {}): void {
  const dir = join(root, 'fixtures', 'models', name);
  mkdirSync(dir, { recursive: true });
  const c = {
    name,
    spec: { arch: 'resnet', width: 0.5, depth: 20, numClasses: 10, inputShape: [32, 32, 3], regularizer: { name: 'l1', l1: 0.01, l2: 0 }, seed: 1 },
    output: 'logits',
    activityL1: null,
    data: { name: 'cifar10', caveat: 'CIFAR-10, JPEG q75 copy' },
    training: { epochs: 10, batchSize: 64, optimizer: 'adam', learningRate: 0.001, schedule: 'cosine', augmentation: 'flip', seed: 1, trainImages: 45000, validationImages: 5000, seconds: 5066, imagesPerSecond: 89, backend: 'wasm' },
    parameters: 69570,
    createdAt: '2026-11-25T04:37:36.696Z',
    ...(finished ? { cleanAccuracy: { value: 0.7242, n: 5000 } } : {}),
    ...extra,
  };
  writeFileSync(join(dir, 'card.json'), JSON.stringify(c));
  if (!finished) writeFileSync(join(dir, 'optimizer.json'), '{}');
}

describe('paper claims', () => {
  it('are written one file per claim and read back in report order, whatever order they were written in', () => {
    const root = freshRoot();
    withFigure(root);
    const path3 = writeClaim(claim({ id: 'fig3', title: 'Fig. 3: training curves', figures: [] }), root);
    const path1 = writeClaim(claim(), root);
    expect(path1).toBe(join(root, 'reports', 'paper', 'fig1.claim.json'));
    expect(path3).toBe(join(root, 'reports', 'paper', 'fig3.claim.json'));
    const read = readClaims(root);
    expect(read.map((c) => c.id)).toEqual(['fig1', 'fig3']);
    expect(read[0]).toEqual(claim());
    expect(readdirSync(join(root, 'reports', 'paper')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it.each([
    [{ id: 'fig2' as PaperClaim['id'] }, /"id" must be one of fig1, table1, table1eps, fig3, table2 \(got "fig2"\)/],
    [{ verdict: 'mostly' as PaperClaim['verdict'] }, /"verdict" must be one of 'reproduced', 'partly reproduced', 'not reproduced', 'not measured'/],
    [{ why: undefined }, /verdict 'partly reproduced' needs a non-empty "why"/],
    // A claim not measured (its models still training) must say why.
    [{ verdict: 'not measured' as const, why: ' ' }, /verdict 'not measured' needs a non-empty "why"/],
    [{ summary: '  ' }, /"summary" is empty/],
    [{ figures: [{ file: '../index.html', caption: 'x' }] }, /figures\[0\]\.file must be an \.svg or \.png path relative to reports\/paper\//],
    [{ figures: [{ file: 'fig1.svg', caption: '' }] }, /figures\[0\]\.caption must be a non-empty string/],
    [{ measuredAt: 'yesterday' }, /"measuredAt" must be an ISO time/],
  ])('rejects a bad claim with a message naming the field: %o', (over, message) => {
    const root = freshRoot();
    withFigure(root);
    expect(() => writeClaim(claim(over), root)).toThrow(message);
    expect(existsSync(join(root, 'reports', 'paper', 'fig1.claim.json'))).toBe(false);
  });

  it('lists every problem at once, and a reproduced claim needs no why', () => {
    expect(() => validateClaim({ id: 'fig1', verdict: 'reproduced' }, 'x.json')).toThrow(/^x\.json is not valid: "title" must be a string \(got nothing\); "claim".*"figures" must be an array/);
    expect(validateClaim(claim({ verdict: 'reproduced', why: undefined })).verdict).toBe('reproduced');
    expect(() => validateClaim([], 'y')).toThrow(/y: expected an object .* got an array/);
  });

  it('refuses a claim whose figure has not been written yet', () => {
    const root = freshRoot();
    expect(() => writeClaim(claim(), root)).toThrow(/figure file\(s\) not found: .*fig1\.svg\. Write the figures into reports\/paper\/ before the claim/);
  });

  it('is written atomically: a failed write leaves neither a half file nor a temp file', () => {
    const root = freshRoot();
    withFigure(root);
    // A folder where the claim file should go makes the final rename fail.
    mkdirSync(join(root, 'reports', 'paper', 'fig1.claim.json'));
    expect(() => writeClaim(claim(), root)).toThrow();
    expect(readdirSync(join(root, 'reports', 'paper')).sort()).toEqual(['fig1.claim.json', 'fig1.svg']);
    expect(statSync(join(root, 'reports', 'paper', 'fig1.claim.json')).isDirectory()).toBe(true);
  });

  it('names a damaged claim file and the spec that rewrites it', () => {
    const root = freshRoot();
    withFigure(root);
    writeFileSync(join(root, 'reports', 'paper', 'table2.claim.json'), '{"id": "table2",');
    expect(() => readClaims(root)).toThrow(/table2\.claim\.json is not valid JSON .*rerun paper\/specs\/attribution\.spec\.ts/);
    writeFileSync(join(root, 'reports', 'paper', 'table2.claim.json'), JSON.stringify(claim()));
    expect(() => readClaims(root)).toThrow(/holds the claim "fig1"; a claim file must be named <id>\.claim\.json/);
  });

  it('first sentence: decimals and percentages do not end it', () => {
    expect(firstSentence('Density falls from 0.170 to 0.088 (n=1,000). Accuracy holds.')).toBe('Density falls from 0.170 to 0.088 (n=1,000).');
    expect(firstSentence('No full stop')).toBe('No full stop');
  });
});

describe('reports/paper.md', () => {
  it('is not written when no claim exists', () => {
    const root = freshRoot();
    expect(writePaperReport(root)).toBeUndefined();
    expect(existsSync(join(root, 'reports', 'paper.md'))).toBe(false);
  });

  it('holds the setup from the model cards, the verdict table, each claim with its tables and figures, and notes the missing claims', () => {
    const root = freshRoot();
    withFigure(root);
    card(root, 'resnet20-base', true);
    card(root, 'resnet20-l1', false);
    card(root, 'resnet20-l2', true, { weights: { dtype: 'float16' } });
    writeClaim(claim(), root);
    writeClaim(claim({ id: 'table2', title: 'Table 2: attribution stability', verdict: 'reproduced', why: undefined, summary: 'SSD falls from 26.3 to 18.5. More text.', figures: [] }), root);
    const { markdown } = writePaperReport(root)!;
    const md = readFileSync(markdown, 'utf8');
    expect(md).toMatch(/## Setup and how it differs from the paper/);
    expect(md).toMatch(/\| resnet20-base \| resnet-20 \| 0\.5 \| l1 \(l1 0\.01, l2 0\) \|.*\| 72\.42% \(n=5000\) \| wasm \| 84 \| finished \|/);
    expect(md).toMatch(/\| resnet20-l1 \|.*\| still training \|/);
    expect(md).toMatch(/\| resnet20-l2 \|.*\| 72\.42% \(n=5000, float16 weights\) \| wasm \|/);
    expect(md).toMatch(/CIFAR-10, JPEG q75 copy/);
    expect(md).toContain('| Fig. 1: average density | **partly reproduced** | Density falls from 0.170 to 0.088 between lambda 0 and 1e-4. |');
    expect(md).toContain('| Table 2: attribution stability | **reproduced** | SSD falls from 26.3 to 18.5. |');
    expect(md).toMatch(/\| Table 1: robustness under attack \| not measured in this run \|/);
    expect(md).toMatch(/## Fig\. 3: training curves\n\nNot measured in this run: reports\/paper\/fig3\.claim\.json is missing/);
    expect(md).toContain('| 1e-4 | n/a | 0.088 |');
    expect(md).toContain('![density and accuracy against lambda](paper/fig1.svg)');
    expect(md).toContain('**Why.** At lambda 1e-7');
    // Sections in the paper's order.
    expect(md.indexOf('## Fig. 1')).toBeLessThan(md.indexOf('## Table 1'));
    expect(md.indexOf('## Fig. 3')).toBeLessThan(md.indexOf('## Table 2'));
  });

  it('is left untouched when rebuilt from the same claims (a run that measured nothing changes nothing)', () => {
    const root = freshRoot();
    withFigure(root);
    writeClaim(claim(), root);
    const { markdown } = writePaperReport(root)!;
    utimesSync(markdown, new Date(0), new Date(0));
    writePaperReport(root);
    expect(statSync(markdown).mtimeMs).toBe(0);
  });
});

describe('the paper section of index.html', () => {
  const record: RobustnessRecord = {
    spec: 'specs/a.spec.ts',
    test: 't',
    matcher: 'toResistAttack',
    model: 'm',
    backend: 'wasm',
    method: 'pgd',
    params: {},
    metric: 'robustAccuracy',
    value: 0.5,
    threshold: { op: '>=', value: 0.3 },
    n: 10,
    pass: true,
    artefacts: [],
    time: '2026-11-25T00:00:00Z',
  };

  it('shows the verdicts, the claim tables as HTML tables and the figures inline', () => {
    const root = freshRoot();
    withFigure(root);
    writeClaim(claim(), root);
    const html = readFileSync(writeReport([record], root, paperSections(root)).html, 'utf8');
    expect(html).toContain('<section id="paper" class="extension">');
    expect(html).toContain('<h2>Paper reproduction</h2>');
    expect(html).toContain('<a href="#paper">paper reproduction</a>');
    expect(html).toMatch(/<td><a href="#paper-fig1">Fig\. 1: average density<\/a><\/td><td class="partly">partly reproduced<\/td>/);
    expect(html).toMatch(/<tr><td>Table 1: robustness under attack<\/td><td>not measured in this run<\/td>/);
    expect(html).toContain('<tr><th>lambda</th><th>density (paper)</th><th>density (ours)</th></tr>');
    expect(html).toContain('<tr><td>1e-4</td><td>n/a</td><td>0.088</td></tr>');
    expect(html).toContain(`src="data:image/svg+xml;base64,${Buffer.from(SVG).toString('base64')}"`);
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/);
  });

  it('is absent when no claim exists', () => {
    const root = freshRoot();
    expect(readFileSync(writeReport([record], root, paperSections(root)).html, 'utf8')).not.toContain('Paper reproduction');
  });

  it('markdown: raw HTML in a claim is shown as text, not run', () => {
    expect(markdownToHtml('a <script>alert(1)</script> **b** `c`')).toBe('<p>a &lt;script&gt;alert(1)&lt;/script&gt; <strong>b</strong> <code>c</code></p>');
    expect(markdownToHtml('### Head\n\n- one\n- two')).toBe('<h5>Head</h5>\n<ul><li>one</li><li>two</li></ul>');
    expect(markdownToHtml('| a \\| b | c |\n| --- | --- |\n| 1 | 2 |')).toContain('<th>a | b</th><th>c</th>');
  });
});

describe('the reporter', () => {
  const runReporter = async (root: string, between: () => void = () => undefined) => {
    const reporter = new RobustnessReporter({ extensions: [paperReport()] });
    reporter.onInit({ config: { root } });
    between();
    await reporter.onTestRunEnd();
  };

  it('writes paper.md and the paper section of index.html after a run whose specs wrote claims but made no matcher calls', async () => {
    const root = freshRoot();
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await runReporter(root, () => {
        withFigure(root);
        writeClaim(claim(), root);
      });
    } finally {
      log.mockRestore();
    }
    expect(readFileSync(join(root, 'reports', 'paper.md'), 'utf8')).toContain('**partly reproduced**');
    expect(readFileSync(join(root, 'reports', 'index.html'), 'utf8')).toContain('No robustness matcher checks were recorded in this run.');
    expect(existsSync(join(root, 'reports', 'robustness.json'))).toBe(false);
  });

  it('leaves index.html and paper.md alone after a run that measured nothing (the unit tests), and survives a broken claim file', async () => {
    const root = freshRoot();
    withFigure(root);
    const path = writeClaim(claim(), root);
    utimesSync(path, new Date(0), new Date(0));
    await runReporter(root);
    expect(existsSync(join(root, 'reports', 'index.html'))).toBe(false);
    expect(existsSync(join(root, 'reports', 'paper.md'))).toBe(false);
    // A committed paper.md stays byte for byte, though the models' training status may have changed.
    writeFileSync(join(root, 'reports', 'paper.md'), 'as committed\n');
    await runReporter(root);
    expect(readFileSync(join(root, 'reports', 'paper.md'), 'utf8')).toBe('as committed\n');

    writeFileSync(path, '{');
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await expect(runReporter(root)).resolves.toBeUndefined();
      expect(error.mock.calls.flat().join(' ')).toMatch(/report extension 'paper reproduction' failed, its part of the report is left out: .*fig1\.claim\.json is not valid JSON/);
    } finally {
      error.mockRestore();
    }
  });
});
