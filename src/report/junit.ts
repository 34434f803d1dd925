// JUnit XML of the robustness checks, the format CI systems (GitHub, GitLab, Jenkins) read into
// their test views: one testcase per check, its measurement as properties.
import { budget, paramsLine } from './format.js';
import type { RobustnessRecord } from '../record/record.js';

const xml = (s: unknown) =>
  String(s)
    // Characters XML 1.0 cannot hold at all (a control character in a message).
    .replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '\ufffd')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

function properties(r: RobustnessRecord): string {
  const p: [string, unknown][] = [
    ['model', r.model],
    ['method', r.method],
    ['metric', r.metric],
    ['value', r.value],
    ['interval', r.interval ? `[${r.interval.lower}, ${r.interval.upper}] (${r.interval.level})` : undefined],
    ['threshold', r.threshold ? `${r.threshold.op} ${r.threshold.value}` : undefined],
    ['n', r.n],
    ['backend', r.backend],
    ['eps', typeof r.params?.eps === 'number' ? budget(r.params.eps) : undefined],
    ['params', paramsLine(r.params)],
    ['data', r.data],
    ...comparisonProperties(r),
  ];
  return p
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `      <property name="${k}" value="${xml(v)}"/>`)
    .join('\n');
}

/** A comparison's two models: who the baseline was, and each robust accuracy with its interval. */
function comparisonProperties(r: RobustnessRecord): [string, unknown][] {
  const c = r.comparison;
  if (!c || typeof c !== 'object' || !c.candidate || !c.baseline) return [];
  const side = (m: { robustAccuracy: unknown; lower: unknown; upper: unknown }) => `${m.robustAccuracy} [${m.lower}, ${m.upper}]`;
  return [
    ['baseline', c.baseline.model],
    ['candidate robust accuracy', side(c.candidate)],
    ['baseline robust accuracy', side(c.baseline)],
  ];
}

/**
 * The one-line reason a check failed. A comparison is decided on its paired interval, not on the
 * estimate (an estimate above 0 fails when the interval reaches 0), so its line gives the interval.
 */
function failureLine(r: RobustnessRecord): string {
  const d = r.comparison?.difference;
  if (d && [d.estimate, d.lower, d.upper, d.level].every((v) => typeof v === 'number' && Number.isFinite(v))) {
    return `${r.metric} ${d.estimate} with ${Math.round(d.level * 100)}% paired interval [${d.lower}, ${d.upper}]: the check needs the interval ${r.threshold?.op ?? '>'} ${r.threshold?.value ?? 0}`;
  }
  return `${r.metric} ${r.value} breaches ${r.threshold?.op} ${r.threshold?.value}`;
}

/** The checks as JUnit XML: a testsuite per spec file, a testcase per check, failures with their message. */
export function renderJunit(records: readonly RobustnessRecord[], generated: string): string {
  const specs = [...new Set(records.map((r) => r.spec))].sort();
  const suites = specs.map((spec) => {
    const rs = records.filter((r) => r.spec === spec);
    const failures = rs.filter((r) => r.pass !== true).length;
    const cases = rs.map((r) => {
      const failure = r.pass === true ? '' : `\n    <failure message="${xml(failureLine(r))}" type="robustness">${xml(r.message ?? '')}</failure>`;
      return `  <testcase classname="${xml(spec)}" name="${xml(`${r.test} [${r.model}${r.comparison?.baseline ? ` vs ${r.comparison.baseline.model}` : ''}: ${r.method}]`)}" time="0">\n    <properties>\n${properties(r)}\n    </properties>${failure}\n  </testcase>`;
    });
    return `<testsuite name="${xml(spec)}" tests="${rs.length}" failures="${failures}" errors="0" skipped="0" timestamp="${xml(generated)}">\n${cases.join('\n')}\n</testsuite>`;
  });
  const failures = records.filter((r) => r.pass !== true).length;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="vitest-robustness" tests="${records.length}" failures="${failures}" errors="0">\n${suites.join('\n')}\n</testsuites>\n`;
}
