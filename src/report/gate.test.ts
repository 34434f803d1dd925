import { describe, expect, it } from 'vitest';
import { checkGate, evaluateGate, gateTable, parseThresholds } from './gate.js';
import type { RobustnessRecord } from '../record/record.js';

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

describe('release gate: a thresholds file that cannot mean what it says is refused', () => {
  const bad: [string, unknown, RegExp][] = [
    ['a bound written as a percentage', { model: 'x', metric: 'robustAccuracy', min: '90%' }, /"min" must be a number; got "90%" \(write a fraction: 0\.9 for 90%\)/],
    ['a bound that is not a number', { model: 'x', metric: 'robustAccuracy', min: 'abc' }, /"min" must be a number; got "abc"/],
    ['a misspelt key beside a real bound', { model: 'x', metric: 'robustAccuracy', mn: 0.3, max: 1 }, /rule 0 \(x robustAccuracy\) has unknown key "mn". Known keys: model, metric, method, eps/],
    ['a null bound', { model: 'x', metric: 'ssd', max: null }, /"max" is null. Give a number/],
    ['null bounds only', { model: 'x', metric: 'ssd', min: null, max: null }, /"min" is null/],
    ['a fraction metric bounded outside [0, 1]', { model: 'x', metric: 'robustAccuracy', min: 90 }, /"min" is 90, but robustAccuracy is a fraction in \[0, 1\]/],
    ['a negative SSD bound', { model: 'x', metric: 'ssd', max: -1 }, /"max" is -1, but ssd is never negative/],
    ['min above max', { model: 'x', metric: 'density', min: 0.6, max: 0.4 }, /"min" 0\.6 is above "max" 0\.4/],
    ['an eps that is not a budget', { model: 'x', metric: 'robustAccuracy', eps: '8 of 255', min: 0.1 }, /"eps" must be a number in \(0, 1\] or a fraction such as "8\/255"; got "8 of 255"/],
    ['params that are not an object', { model: 'x', metric: 'robustAccuracy', params: 10, min: 0.1 }, /"params" must be a non-empty object/],
    ['a method that is not a string', { model: 'x', metric: 'robustAccuracy', method: 3, min: 0.1 }, /"method" must be a non-empty string; got 3/],
    ['a rule that is not an object', null, /rule 0 is null/],
    ['an empty model name', { model: '', metric: 'ssd', max: 1 }, /rule 0 has no "model"/],
  ];
  for (const [what, rule, message] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => parseThresholds({ rules: [rule] }, 't.json')).toThrow(message);
    });
  }

  it('refuses an empty rule list, which would pass any report', () => {
    expect(() => parseThresholds({ rules: [] }, 't.json')).toThrow(/"rules" is empty, so the gate would pass any report/);
  });

  it('refuses unknown top-level keys (a rule list under a misspelt name)', () => {
    expect(() => parseThresholds({ rules: [{ model: 'x', metric: 'ssd', max: 1 }], rule: [] }, 't.json')).toThrow(/unknown top-level key "rule"/);
  });
});

describe('release gate: a measurement that is not a number, or of nothing, breaches', () => {
  it('treats a null value (NaN in JSON) as a breach under a max rule and a min rule', () => {
    const nan = { ...rec('m', 'ssd', 'gradcam', 0), value: null as unknown as number };
    expect(checkGate([nan], parseThresholds({ rules: [{ model: 'm', metric: 'ssd', max: 20 }] })).map((b) => b.reason)).toEqual([
      'm ssd: the value is null, not a finite number (NaN or Infinity in the run), so the rule cannot hold (s.spec.ts > t, n=100)',
    ]);
    expect(checkGate([nan], parseThresholds({ rules: [{ model: 'm', metric: 'ssd', min: 0 }] }))).toHaveLength(1);
    expect(checkGate([{ ...nan, value: Number.NaN }], parseThresholds({ rules: [{ model: 'm', metric: 'ssd', max: 20 }] }))).toHaveLength(1);
    expect(checkGate([{ ...nan, value: Number.POSITIVE_INFINITY }], parseThresholds({ rules: [{ model: 'm', metric: 'ssd', min: 0 }] }))).toHaveLength(1);
  });

  it('treats a measurement on n = 0 samples as a breach', () => {
    const empty = { ...rec('m', 'successRate', 'pgd', 0), n: 0 };
    expect(checkGate([empty], parseThresholds({ rules: [{ model: 'm', metric: 'successRate', max: 0.5 }] }))[0]?.reason).toMatch(/measured on n=0 samples, which shows nothing/);
  });
});

describe('release gate: selectors by eps, attack parameters, test and spec', () => {
  const at = (eps: number, steps: number, test: string): RobustnessRecord => ({ ...rec('r20', 'robustAccuracy', 'pgd', eps < 0.02 ? 0.5 : 0.2), params: { eps, steps }, test });
  const records = [at(4 / 255, 10, 'gate > eps 4/255'), at(8 / 255, 10, 'gate > eps 8/255'), at(8 / 255, 2, 'gate > quick')];

  it('applies a rule only to the eps it names (a number or "a/b")', () => {
    const strict = parseThresholds({ rules: [{ model: 'r20', metric: 'robustAccuracy', method: 'pgd', eps: '4/255', min: 0.4 }] });
    expect(checkGate(records, strict)).toEqual([]);
    const byNumber = parseThresholds({ rules: [{ model: 'r20', metric: 'robustAccuracy', eps: 0.0313725, min: 0.4 }] });
    expect(checkGate(records, byNumber).map((b) => b.reason)).toEqual([
      'r20 robustAccuracy (eps 0.0313725): 0.2000 < min 0.4 (s.spec.ts > gate > eps 8/255, n=100)',
      'r20 robustAccuracy (eps 0.0313725): 0.2000 < min 0.4 (s.spec.ts > gate > quick, n=100)',
    ]);
  });

  it('selects by attack parameters and by test name', () => {
    expect(checkGate(records, parseThresholds({ rules: [{ model: 'r20', metric: 'robustAccuracy', params: { steps: 2 }, min: 0.2 }] }))).toEqual([]);
    expect(checkGate(records, parseThresholds({ rules: [{ model: 'r20', metric: 'robustAccuracy', test: 'gate > eps 4/255', min: 0.5 }] }))).toEqual([]);
    expect(checkGate(records, parseThresholds({ rules: [{ model: 'r20', metric: 'robustAccuracy', spec: 'other.spec.ts', min: 0 }] }))[0]?.reason).toMatch(/no measurement in the report/);
  });

  it('says which eps values the report has when an eps selector matches nothing', () => {
    const [b] = checkGate(records, parseThresholds({ rules: [{ model: 'r20', metric: 'robustAccuracy', eps: 0.031, min: 0.1 }] }));
    expect(b?.reason).toMatch(/r20 robustAccuracy \(eps 0\.031\): no measurement in the report; did the spec run\? The report has r20 robustAccuracy for: pgd eps 0\.01568627 in "gate > eps 4\/255"; pgd eps 0\.03137255 in "gate > eps 8\/255"/);
  });

  it('prints a table of every rule and measurement', () => {
    const rows = evaluateGate(records, parseThresholds({ rules: [{ model: 'r20', metric: 'robustAccuracy', eps: '8/255', min: 0.3 }, { model: 'vgg', metric: 'ssd', max: 20 }] }));
    const lines = gateTable(rows).split('\n');
    expect(lines[0]).toMatch(/^rule\s+value\s+bound\s+verdict\s+measured in$/);
    expect(lines[1]).toMatch(/^r20 robustAccuracy \(eps 8\/255\)\s+0\.2000\s+>= 0\.3\s+BREACH\s+s\.spec\.ts > gate > eps 8\/255 \(n=100\)$/);
    expect(lines[3]).toMatch(/^vgg ssd\s+missing\s+<= 20\s+BREACH\s+-$/);
  });
});
