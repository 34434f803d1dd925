import { createHash } from 'node:crypto';
import type { MatcherThis } from './shared.js';

/** The parts of Vitest's test task (the public `this.task` of a matcher) that tell attempts apart. */
interface TaskLike {
  result?: { retryCount?: number; repeatCount?: number };
}

const perTask = new WeakMap<object, Map<string, number>>();
const outsideTests = new Map<string, number>();

/**
 * The 1-based number of this call of kind `kind` within the current test attempt: 1, 2, ... for
 * the calls one attempt makes, starting again at 1 on a retry, a repeat and every new run (the
 * way @vitest/snapshot numbers `toMatchSnapshot` calls). Counters hang off Vitest's task object,
 * which a new run replaces, so a watch-mode rerun starts afresh too.
 */
export function nextCall(ctx: MatcherThis & { task?: unknown }, kind: string): number {
  const task = ctx.task as TaskLike | undefined;
  const attempt = `${task?.result?.retryCount ?? 0}:${task?.result?.repeatCount ?? 0}`;
  let counts: Map<string, number>;
  if (task && typeof task === 'object') {
    counts = perTask.get(task) ?? new Map();
    perTask.set(task, counts);
    // Only the current attempt's counts are kept: a retry starts again from 1.
    if (!counts.has(`attempt:${attempt}`)) {
      counts.clear();
      counts.set(`attempt:${attempt}`, 1);
    }
  } else {
    counts = outsideTests;
  }
  const key = task ? kind : `${ctx.testPath ?? ''}::${ctx.currentTestName ?? ''}::${kind}`;
  const n = (counts.get(key) ?? 0) + 1;
  counts.set(key, n);
  return n;
}

/**
 * A file-safe name for any text, distinct for distinct texts: a readable slug, plus a short hash
 * of the exact text whenever the slug lost something ("eps 8/255" and "eps 8-255" both slug to
 * "eps-8-255", so each gets its own hash).
 */
export function fileSafe(text: string | undefined, fallback = 'test'): string {
  const raw = text ?? fallback;
  const slug = raw.replace(/[^a-zA-Z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 80) || fallback;
  if (slug === raw) return slug;
  return `${slug}-${createHash('sha256').update(raw).digest('hex').slice(0, 8)}`;
}
