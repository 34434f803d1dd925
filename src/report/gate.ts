import type { RobustnessRecord } from '../record/record.js';

export const GATE_METRICS = ['robustAccuracy', 'successRate', 'ssd', 'density', 'snapshotDiffPixels', 'invariance'] as const;
export type GateMetric = (typeof GATE_METRICS)[number];

/** Metrics that are fractions: a bound outside [0, 1] can never be met or never be breached. */
const FRACTION_METRICS: ReadonlySet<string> = new Set(['robustAccuracy', 'successRate', 'density', 'invariance']);

/** The keys a rule may have; any other is refused, so a typo ("mn") cannot silently drop a bound. */
const RULE_KEYS = ['model', 'metric', 'method', 'eps', 'params', 'test', 'spec', 'min', 'max'] as const;

/**
 * One release-gate rule: a model's metric (optionally for one method, eps, attack parameters,
 * test or spec file) must stay within bounds.
 */
export interface GateRule {
  /** Model name from its card; '*' for every model. */
  model: string;
  metric: GateMetric;
  /** 'pgd', 'gradcam', ...; any method when left out. */
  method?: string;
  /** Only measurements at this eps (the attack's `params.eps`); a number, or a fraction such as "8/255". */
  eps?: number | string;
  /** Only measurements whose recorded parameters have these values, e.g. { "steps": 10 }. */
  params?: Record<string, string | number | boolean>;
  /** Only the measurement of this test (its full name as in the report, e.g. "gate > resists pgd"). */
  test?: string;
  /** Only measurements from this spec file (relative path as in the report). */
  spec?: string;
  min?: number;
  max?: number;
}

export interface GateBreach {
  rule: GateRule;
  reason: string;
}

/** One line of the gate's verdict: a rule against one matching measurement (or none). */
export interface GateRow {
  rule: GateRule;
  /** The rule as a person reads it: model, metric and selectors. */
  label: string;
  record?: RobustnessRecord;
  ok: boolean;
  /** Why it breached; undefined when it holds. */
  reason?: string;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON value as a person reads it in an error ("90%", null, [1]). */
const shown = (v: unknown) => (v === undefined ? 'undefined' : JSON.stringify(v));

/** 8/255 cannot be written in JSON; "8/255" can. Returns NaN for anything else. */
function epsValue(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)\s*$/.exec(v);
  return m ? Number(m[1]) / Number(m[2]) : Number.NaN;
}

/** Budgets and parameters written by hand are compared up to rounding in their 7th significant digit. */
function sameValue(want: unknown, got: unknown): boolean {
  if (typeof want === 'number' && typeof got === 'number') return Math.abs(want - got) <= 1e-6 * Math.max(1, Math.abs(want), Math.abs(got));
  return want === got;
}

function checkBound(v: unknown, key: 'min' | 'max', metric: string, where: string): void {
  if (v === undefined) return;
  if (v === null) throw new Error(`${where}: "${key}" is null. Give a number (null is what NaN becomes in JSON), or leave the key out.`);
  if (typeof v !== 'number') throw new Error(`${where}: "${key}" must be a number; got ${shown(v)}${typeof v === 'string' && /%\s*$/.test(v) ? ` (write a fraction: ${Number.parseFloat(v) / 100} for ${v})` : ''}.`);
  if (!Number.isFinite(v)) throw new Error(`${where}: "${key}" must be a finite number; got ${v}.`);
  if (FRACTION_METRICS.has(metric) && !(v >= 0 && v <= 1)) throw new Error(`${where}: "${key}" is ${v}, but ${metric} is a fraction in [0, 1] (write 0.9 for 90%).`);
  if (!FRACTION_METRICS.has(metric) && v < 0) throw new Error(`${where}: "${key}" is ${v}, but ${metric} is never negative.`);
}

/**
 * Checks a thresholds document and returns its rules, or throws naming the problem and the fix:
 * unknown keys, bounds that are not finite numbers in the metric's range, null, min above max,
 * malformed selectors, and a file with no rules (which would pass anything).
 */
export function parseThresholds(doc: unknown, source = 'thresholds'): GateRule[] {
  const form = '{ "rules": [ { "model", "metric", "method"?, "eps"?, "params"?, "test"?, "spec"?, "min"?, "max"? }, ... ] }';
  if (!isPlainObject(doc) || !Array.isArray(doc.rules)) throw new Error(`${source}: expected ${form}.`);
  const extra = Object.keys(doc).filter((k) => k !== 'rules');
  if (extra.length) throw new Error(`${source}: unknown top-level key ${extra.map((k) => `"${k}"`).join(', ')}; the file holds only "rules".`);
  if (doc.rules.length === 0) throw new Error(`${source}: "rules" is empty, so the gate would pass any report. Add at least one rule: ${form}.`);
  return doc.rules.map((r, i) => {
    if (!isPlainObject(r)) throw new Error(`${source}: rule ${i} is ${shown(r)}; each rule is an object ${form.slice(15, -9)}.`);
    const where = `${source}: rule ${i}${typeof r.model === 'string' && typeof r.metric === 'string' ? ` (${r.model} ${r.metric})` : ''}`;
    const unknown = Object.keys(r).filter((k) => !(RULE_KEYS as readonly string[]).includes(k));
    if (unknown.length) throw new Error(`${where} has unknown key ${unknown.map((k) => `"${k}"`).join(', ')}. Known keys: ${RULE_KEYS.join(', ')}.`);
    if (typeof r.model !== 'string' || !r.model) throw new Error(`${source}: rule ${i} has no "model" (a model name, or "*").`);
    if (!(GATE_METRICS as readonly string[]).includes(r.metric as string)) throw new Error(`${source}: rule ${i} names an unknown metric ${shown(r.metric)}. Known metrics: ${GATE_METRICS.join(', ')}.`);
    for (const key of ['method', 'test', 'spec'] as const) {
      if (r[key] !== undefined && (typeof r[key] !== 'string' || !r[key])) throw new Error(`${where}: "${key}" must be a non-empty string; got ${shown(r[key])}.`);
    }
    if (r.eps !== undefined) {
      const e = typeof r.eps === 'number' || typeof r.eps === 'string' ? epsValue(r.eps) : Number.NaN;
      if (!(e > 0 && e <= 1)) throw new Error(`${where}: "eps" must be a number in (0, 1] or a fraction such as "8/255"; got ${shown(r.eps)}.`);
    }
    if (r.params !== undefined) {
      if (!isPlainObject(r.params) || Object.keys(r.params).length === 0) throw new Error(`${where}: "params" must be a non-empty object of parameter values, e.g. { "steps": 10 }; got ${shown(r.params)}.`);
      for (const [k, v] of Object.entries(r.params)) {
        if (!(typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)))) throw new Error(`${where}: params.${k} must be a string, a finite number or a boolean; got ${shown(v)}.`);
      }
      if ('eps' in r.params) throw new Error(`${where}: give eps as the rule's own "eps" key, not in "params".`);
    }
    if (r.min === undefined && r.max === undefined) throw new Error(`${where} needs "min" or "max".`);
    checkBound(r.min, 'min', r.metric as string, where);
    checkBound(r.max, 'max', r.metric as string, where);
    if (typeof r.min === 'number' && typeof r.max === 'number' && r.min > r.max) throw new Error(`${where}: "min" ${r.min} is above "max" ${r.max}, so no measurement could pass.`);
    return r as unknown as GateRule;
  });
}

/** The rule as a person reads it. */
export function ruleLabel(rule: GateRule): string {
  const sel = [rule.method, rule.eps !== undefined ? `eps ${rule.eps}` : '', ...Object.entries(rule.params ?? {}).map(([k, v]) => `${k} ${v}`), rule.spec ? `spec ${rule.spec}` : '', rule.test ? `test "${rule.test}"` : ''].filter(Boolean);
  return `${rule.model} ${rule.metric}${sel.length ? ` (${sel.join(', ')})` : ''}`;
}

function matches(rule: GateRule, r: RobustnessRecord): boolean {
  if (!(rule.model === '*' || r.model === rule.model) || r.metric !== rule.metric) return false;
  if (rule.method !== undefined && r.method !== rule.method) return false;
  if (rule.test !== undefined && r.test !== rule.test) return false;
  if (rule.spec !== undefined && r.spec !== rule.spec) return false;
  const params = isPlainObject(r.params) ? r.params : {};
  if (rule.eps !== undefined && !sameValue(epsValue(rule.eps), params.eps)) return false;
  return Object.entries(rule.params ?? {}).every(([k, v]) => sameValue(v, params[k]));
}

/** What the report holds for the rule's model and metric, to point at a selector that matched nothing. */
function nearMisses(rule: GateRule, records: readonly RobustnessRecord[]): string {
  const near = records.filter((r) => (rule.model === '*' || r.model === rule.model) && r.metric === rule.metric);
  if (near.length === 0) return '';
  const seen = [...new Set(near.map((r) => `${r.method}${isPlainObject(r.params) && typeof r.params.eps === 'number' ? ` eps ${Number(r.params.eps.toPrecision(7))}` : ''} in "${r.test}"`))];
  return ` The report has ${rule.model === '*' ? '' : `${rule.model} `}${rule.metric} for: ${seen.slice(0, 5).join('; ')}${seen.length > 5 ? `; and ${seen.length - 5} more` : ''}.`;
}

/**
 * Every rule against every measurement it selects. A rule that selects nothing is a breach (the
 * spec did not run, or a selector is wrong); so is a value that is not a finite number (NaN and
 * Infinity become null in JSON), whatever the bound.
 */
export function evaluateGate(records: readonly RobustnessRecord[], rules: readonly GateRule[]): GateRow[] {
  const rows: GateRow[] = [];
  for (const rule of rules) {
    const label = ruleLabel(rule);
    const matching = records.filter((r) => matches(rule, r));
    if (matching.length === 0) {
      rows.push({ rule, label, ok: false, reason: `${label}: no measurement in the report; did the spec run?${nearMisses(rule, records)}` });
      continue;
    }
    for (const r of matching) {
      const where = `(${r.spec} > ${r.test}, n=${r.n})`;
      const v = r.value as unknown;
      let reason: string | undefined;
      if (typeof v !== 'number' || !Number.isFinite(v)) reason = `${label}: the value is ${shown(v)}, not a finite number (NaN or Infinity in the run), so the rule cannot hold ${where}`;
      else if (typeof r.n === 'number' && r.n < 1) reason = `${label}: ${v.toFixed(4)} measured on n=${r.n} samples, which shows nothing ${where}`;
      else if (rule.min !== undefined && v < rule.min) reason = `${label}: ${v.toFixed(4)} < min ${rule.min} ${where}`;
      else if (rule.max !== undefined && v > rule.max) reason = `${label}: ${v.toFixed(4)} > max ${rule.max} ${where}`;
      rows.push({ rule, label, record: r, ok: reason === undefined, reason });
    }
  }
  return rows;
}

/** Every breached rule: a value outside its bounds or not a number, or no measurement at all. */
export function checkGate(records: readonly RobustnessRecord[], rules: readonly GateRule[]): GateBreach[] {
  return evaluateGate(records, rules).flatMap((row) => (row.ok ? [] : [{ rule: row.rule, reason: row.reason! }]));
}

/** The gate's verdict as a short text table: rule, measured value, bound, verdict, where. */
export function gateTable(rows: readonly GateRow[]): string {
  const bound = (rule: GateRule) => [rule.min !== undefined ? `>= ${rule.min}` : '', rule.max !== undefined ? `<= ${rule.max}` : ''].filter(Boolean).join(', ');
  const value = (row: GateRow) => (!row.record ? 'missing' : typeof row.record.value === 'number' && Number.isFinite(row.record.value) ? row.record.value.toFixed(4) : String(row.record.value));
  const cells = [['rule', 'value', 'bound', 'verdict', 'measured in'], ...rows.map((row) => [row.label, value(row), bound(row.rule), row.ok ? 'ok' : 'BREACH', row.record ? `${row.record.spec} > ${row.record.test} (n=${row.record.n})` : '-'])];
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((r) => r[c]!.length)));
  return cells.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n');
}
