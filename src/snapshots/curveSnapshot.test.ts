import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareCurveSnapshot, type StoredCurve } from './curveSnapshot.js';

const root = mkdtempSync(join(tmpdir(), 'curve-snap-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const curve = (acc: number[], width = 0.05): StoredCurve => ({
  attack: 'apgd',
  n: 200,
  points: acc.map((a, i) => ({ eps: (i + 1) / 255, robustAccuracy: a, lower: a - width, upper: a + width })),
});

describe('curve snapshots', () => {
  it('writes a missing snapshot locally, refuses to in CI, and matches an equal or better curve', () => {
    const path = join(root, 'a', 'gate.curve.json');
    expect(compareCurveSnapshot(curve([0.5, 0.3]), { snapshotPath: path, update: 'none' }).status).toBe('missing');
    expect(compareCurveSnapshot(curve([0.5, 0.3]), { snapshotPath: path, update: 'new' }).status).toBe('written');
    expect(JSON.parse(readFileSync(path, 'utf8')).points[1].robustAccuracy).toBe(0.3);
    expect(compareCurveSnapshot(curve([0.5, 0.3]), { snapshotPath: path, update: 'none' }).status).toBe('matched');
    expect(compareCurveSnapshot(curve([0.6, 0.35]), { snapshotPath: path, update: 'none' }).status).toBe('matched');
    // Lower, but the intervals overlap: within the noise.
    expect(compareCurveSnapshot(curve([0.45, 0.25]), { snapshotPath: path, update: 'none' }).status).toBe('matched');
  });

  it('fails where the new curve lies below the stored one beyond the intervals, and names those budgets', () => {
    const path = join(root, 'b', 'gate.curve.json');
    compareCurveSnapshot(curve([0.5, 0.3, 0.2]), { snapshotPath: path, update: 'new' });
    const r = compareCurveSnapshot(curve([0.48, 0.15, 0.19]), { snapshotPath: path, update: 'new' });
    expect(r.status).toBe('regressed');
    expect(r.regressions.map((x) => x.eps)).toEqual([Number((2 / 255).toPrecision(6))]);
    // -u takes the new curve.
    expect(compareCurveSnapshot(curve([0.48, 0.15, 0.19]), { snapshotPath: path, update: 'all' }).status).toBe('updated');
    expect(compareCurveSnapshot(curve([0.48, 0.15, 0.19]), { snapshotPath: path, update: 'none' }).status).toBe('matched');
  });

  it('refuses to compare curves over other budgets or of another attack', () => {
    const path = join(root, 'c', 'gate.curve.json');
    compareCurveSnapshot(curve([0.5, 0.3]), { snapshotPath: path, update: 'new' });
    expect(compareCurveSnapshot(curve([0.5, 0.3, 0.1]), { snapshotPath: path, update: 'new' }).status).toBe('budgets-differ');
    expect(compareCurveSnapshot({ ...curve([0.5, 0.3]), attack: 'pgd' }, { snapshotPath: path, update: 'new' }).status).toBe('budgets-differ');
    writeFileSync(path, '{"attack":"apgd"}');
    expect(compareCurveSnapshot(curve([0.5, 0.3]), { snapshotPath: path, update: 'new' }).status).toBe('budgets-differ');
  });
});
