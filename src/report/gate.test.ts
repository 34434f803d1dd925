import { describe, expect, it } from 'vitest';
import { checkGate, parseThresholds } from './gate.js';
import type { RobustnessRecord } from './record.js';

const rec = (model: string, metric: string, method: string, value: number): RobustnessRecord => ({
  spec: 's.spec.ts', test: 't', matcher: 'm', model, backend: 'wasm', method, params: {}, metric, value, threshold: { op: '>=', value: 0 }, n: 100, pass: true, artefacts: [], time: '',
});

describe('release gate', () => {
  it('names every breached rule, and a rule with no measurement', () => {
    const rules = parseThresholds({
      rules: [
        { model: 'r20', metric: 'robustAccuracy', method: 'pgd', min: 0.3 },
        { model: '*', metric: 'ssd', max: 20 },
        { model: 'vgg', metric: 'density', max: 0.5 },
      ],
    });
    const breaches = checkGate([rec('r20', 'robustAccuracy', 'pgd', 0.25), rec('r20', 'robustAccuracy', 'fgsm', 0.1), rec('a', 'ssd', 'gradcam', 12), rec('b', 'ssd', 'occlusion', 31)], rules);
    expect(breaches.map((b) => b.reason)).toEqual([
      'r20 robustAccuracy (pgd): 0.2500 < min 0.3 (s.spec.ts > t, n=100)',
      '* ssd: 31.0000 > max 20 (s.spec.ts > t, n=100)',
      'vgg density: no measurement in the report; did the spec run?',
    ]);
    expect(checkGate([rec('r20', 'robustAccuracy', 'pgd', 0.4)], rules.slice(0, 1))).toEqual([]);
  });

  it('rejects an unknown metric or a rule without bounds', () => {
    expect(() => parseThresholds({ rules: [{ model: 'x', metric: 'accuracyy', min: 1 }] }, 't.json')).toThrow(/t\.json: rule 0 names an unknown metric "accuracyy". Known metrics: robustAccuracy, successRate, ssd/);
    expect(() => parseThresholds({ rules: [{ model: 'x', metric: 'ssd' }] })).toThrow(/needs "min" or "max"/);
    expect(() => parseThresholds({})).toThrow(/expected \{ "rules"/);
  });
});
