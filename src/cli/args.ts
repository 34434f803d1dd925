import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * A mistake in how a command was called (an unknown flag, a missing or malformed value): the
 * command exits 2, as usage errors do, and 1 stays for a run that went wrong.
 */
export class UsageError extends Error {
  readonly exitCode = 2;
  override name = 'UsageError';
}

/**
 * node:util's parseArgs errors are terse and end with advice about `--` that does not fit a
 * subcommand; this names the command and points at --help instead.
 */
export function argError(command: string, err: unknown): UsageError {
  return new UsageError(`${(err as Error).message.replace(/\. To specify.*$/s, '')}. See \`${commandLine(command)} --help\`.`);
}

/** How a command is called: a subcommand of `robustness`, or, given with spaces, as written. */
export function commandLine(command: string): string {
  return command.includes(' ') ? command : `robustness ${command}`;
}

/**
 * parseArgs, with its errors as {@link argError}s, and a flag given twice refused: parseArgs
 * keeps the last one silently, so `--epochs 10 ... --epochs 1` in a script would train 1 epoch.
 */
export function parseFlags<T extends ParseArgsConfig>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  let parsed;
  try {
    parsed = parseArgs({ ...config, tokens: true });
  } catch (err) {
    throw argError(command, err);
  }
  const seen = new Set<string>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== 'option') continue;
    if (seen.has(t.name)) throw new UsageError(`--${t.name} is given twice; give it once. See \`${commandLine(command)} --help\`.`);
    seen.add(t.name);
  }
  return parsed as ReturnType<typeof parseArgs<T>>;
}

/** What a numeric flag accepts. */
export interface NumberRule {
  /** Whole numbers only. */
  integer?: boolean;
  /** Lowest allowed value. */
  min?: number;
  /** Whether `min` itself is refused (a learning rate must be above 0, not 0). */
  minExclusive?: boolean;
  /** Highest allowed value (inclusive). */
  max?: number;
  /** Also accept a fraction `a/b` of two decimals, as budgets are written (8/255). */
  fraction?: boolean;
}

// Plain decimal notation only: Number() also takes '0x1', '0b1', '' and ' 1 ', which are typos
// more often than intent.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function ruleText(rule: NumberRule): string {
  const kind = rule.integer ? 'a whole number' : 'a number';
  if (rule.min !== undefined && rule.max !== undefined) return `${kind} in ${rule.minExclusive ? '(' : '['}${rule.min}, ${rule.max}]`;
  if (rule.min !== undefined) return rule.min === 0 && rule.minExclusive ? `${kind} above 0` : `${kind} ${rule.minExclusive ? 'above' : 'of at least'} ${rule.min}`;
  return kind;
}

/**
 * The value of a numeric flag, strictly: decimal notation (or `a/b` where allowed), finite, and
 * within the rule; anything else is a {@link UsageError} that names the flag, what it got and
 * what it takes. Undefined when the flag was not given.
 */
export function numberFlag(command: string, name: string, raw: string | undefined, rule: NumberRule = {}): number | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  let value = Number.NaN;
  if (DECIMAL.test(text)) value = Number(text);
  else if (rule.fraction) {
    const parts = text.split('/');
    if (parts.length === 2 && parts.every((p) => DECIMAL.test(p))) value = Number(parts[0]) / Number(parts[1]);
  }
  const wanted = ruleText(rule);
  const fail = (why: string) => new UsageError(`--${name} must be ${wanted}${rule.fraction ? ' (decimal, or a fraction like 8/255)' : ''}; got '${raw}'${why}. See \`${commandLine(command)} --help\`.`);
  if (!Number.isFinite(value)) throw fail('');
  if (rule.integer && !Number.isInteger(value)) throw fail('');
  if (rule.min !== undefined && (rule.minExclusive ? value <= rule.min : value < rule.min)) throw fail('');
  if (rule.max !== undefined && value > rule.max) throw fail('');
  return value;
}

/** Shorthands for the rules flags share. */
export const RULES = {
  count: { integer: true, min: 1 },
  countOrZero: { integer: true, min: 0 },
  seed: { integer: true, min: 0 },
  positive: { min: 0, minExclusive: true },
  nonNegative: { min: 0 },
} satisfies Record<string, NumberRule>;

/**
 * What an interrupted `robustness train` or `adv-train` tells the user: how many epochs are on
 * disk and how to go on. With none kept there is nothing to resume from, so it says to start over.
 */
export function interruptedMessage(epochsKept: number, out: string): string {
  return epochsKept > 0
    ? `interrupted: ${epochsKept} epoch(s) kept in ${out}; continue with --resume.`
    : `interrupted before the first epoch ended: nothing was saved in ${out}; run the same command again (without --resume) to start over.`;
}
