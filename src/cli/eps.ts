import { numberFlag, UsageError } from './args.js';

/**
 * Parses `--eps` as people write it: one Linf budget in (0, 1], a decimal (`0.031`) or a fraction
 * (`8/255`), or a comma-separated list of them (`2/255,4/255,8/255`). Returns the values in the
 * order given, with the text each came from for display.
 * @throws UsageError naming the entry that is not a budget, an empty entry or a repeated one
 */
export function parseEpsList(text: string, command = 'eval'): { value: number; text: string }[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) throw new UsageError(`--eps: empty entry in '${text}'; give budgets separated by commas, e.g. 2/255,4/255,8/255.`);
  const out = parts.map((p) => ({ value: numberFlag(command, 'eps', p, { min: 0, minExclusive: true, max: 1, fraction: true })!, text: p }));
  const seen = new Set<number>();
  for (const e of out) {
    if (seen.has(e.value)) throw new UsageError(`--eps: ${e.text} is given twice in '${text}'.`);
    seen.add(e.value);
  }
  return out;
}
