import type { RobustnessRecord } from './record.js';

export const GATE_METRICS = ['robustAccuracy', 'successRate', 'ssd', 'density', 'snapshotDiffPixels', 'invariance'] as const;

/** One release-gate rule: a model's metric (optionally for one method) must stay within bounds. */
export interface GateRule {
  /** Model name from its card; '*' for every model. */
  model: string;
  metric: (typeof GATE_METRICS)[number];
  /** 'pgd', 'gradcam', ...; any method when left out. */
  method?: string;
  min?: number;
  max?: number;
}

export interface GateBreach {
  rule: GateRule;
  reason: string;
}

/** Checks a thresholds document and returns its rules, or throws naming the problem. */
export function parseThresholds(doc: unknown, source = 'thresholds'): GateRule[] {
  const rules = (doc as { rules?: unknown })?.rules;
  if (!Array.isArray(rules)) throw new Error(`${source}: expected { "rules": [ { "model", "metric", "method"?, "min"?, "max"? }, ... ] }.`);
  return rules.map((r, i) => {
    const rule = r as GateRule;
    if (typeof rule.model !== 'string') throw new Error(`${source}: rule ${i} has no "model" (a model name, or "*").`);
    if (!(GATE_METRICS as readonly string[]).includes(rule.metric)) throw new Error(`${source}: rule ${i} names an unknown metric ${JSON.stringify(rule.metric)}. Known metrics: ${GATE_METRICS.join(', ')}.`);
    if (rule.min === undefined && rule.max === undefined) throw new Error(`${source}: rule ${i} (${rule.model} ${rule.metric}) needs "min" or "max".`);
    return rule;
  });
}

/** Every breached rule: a value outside its bounds, or no measurement at all. */
export function checkGate(records: readonly RobustnessRecord[], rules: readonly GateRule[]): GateBreach[] {
  const breaches: GateBreach[] = [];
  for (const rule of rules) {
    const matching = records.filter((r) => (rule.model === '*' || r.model === rule.model) && r.metric === rule.metric && (!rule.method || r.method === rule.method));
    const label = `${rule.model} ${rule.metric}${rule.method ? ` (${rule.method})` : ''}`;
    if (matching.length === 0) {
      breaches.push({ rule, reason: `${label}: no measurement in the report; did the spec run?` });
      continue;
    }
    for (const r of matching) {
      if (rule.min !== undefined && r.value < rule.min) breaches.push({ rule, reason: `${label}: ${r.value.toFixed(4)} < min ${rule.min} (${r.spec} > ${r.test}, n=${r.n})` });
      if (rule.max !== undefined && r.value > rule.max) breaches.push({ rule, reason: `${label}: ${r.value.toFixed(4)} > max ${rule.max} (${r.spec} > ${r.test}, n=${r.n})` });
    }
  }
  return breaches;
}
