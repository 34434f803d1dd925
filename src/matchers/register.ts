// Registers the matchers on Vitest's expect, each guarded against a forgotten `await`.
import { chai, expect, onTestFinished } from 'vitest';
import { toBeInvariantTo } from './toBeInvariantTo.js';
import { toBeMoreRobustThan } from './toBeMoreRobustThan.js';
import { toHaveAverageDensityBelow } from './toHaveAverageDensityBelow.js';
import { toHaveRobustnessCurve } from './toHaveRobustnessCurve.js';
import { toHaveStableAttribution } from './toHaveStableAttribution.js';
import { toMatchHeatmapSnapshot } from './toMatchHeatmapSnapshot.js';
import { toResistAttack } from './toResistAttack.js';
import type { MatcherOutcome } from './shared.js';

interface Slot {
  measurement?: unknown;
}
/** The slot of the matcher call being started (see registerMatchers). */
let pending: Slot | undefined;

/**
 * A matcher whose outcome's measurement (or, without one, its `actual`) goes to the slot of its
 * call, so that `await expect(x).toResistAttack(...)` resolves to what was measured.
 */
function measured<T, A extends unknown[]>(fn: (this: T, received: unknown, ...args: A) => Promise<MatcherOutcome> | MatcherOutcome) {
  return function (this: T, received: unknown, ...args: A): Promise<MatcherOutcome> | MatcherOutcome {
    const slot = pending;
    pending = undefined;
    const out = fn.call(this, received, ...args);
    const keep = (o: MatcherOutcome) => {
      if (slot) slot.measurement = o.measurement ?? o.actual;
      return o;
    };
    return out instanceof Promise ? out.then(keep) : keep(out);
  };
}

/** Every matcher the setup entry registers, by name. */
const MATCHERS = {
  toResistAttack: measured(toResistAttack),
  toHaveStableAttribution: measured(toHaveStableAttribution),
  toHaveAverageDensityBelow: measured(toHaveAverageDensityBelow),
  toMatchHeatmapSnapshot: measured(toMatchHeatmapSnapshot),
  toBeInvariantTo: measured(toBeInvariantTo),
  toBeMoreRobustThan: measured(toBeMoreRobustThan),
  toHaveRobustnessCurve: measured(toHaveRobustnessCurve),
};

const GUARDED = Symbol.for('vitest-robustness.awaitGuard');

type Method = (this: object, ...args: unknown[]) => unknown;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * Wraps the promise a matcher call returns so that a call nobody awaits fails its test with a
 * message that says so, instead of running on after the test (and the file) ended: Vitest then
 * tears the worker down under a running attack ("Worker exited unexpectedly") and the check is never
 * counted. Awaiting means calling `then` (await, return, Promise.all and .resolves all do); the
 * same test is the one Vitest uses for its own asynchronous assertions.
 */
function guardAwait(promise: PromiseLike<unknown>, call: string): PromiseLike<unknown> {
  let awaited = false;
  // Made now, so the failure points at the spec line that forgot the await.
  const callSite = new Error(call);
  // Settles either way, so a rejection nobody awaits is not also an unhandled rejection.
  const settled = Promise.resolve(promise).then(
    () => undefined,
    (err: unknown) => err,
  );
  try {
    onTestFinished(async () => {
      if (awaited) return;
      const err = await settled;
      const outcome = err === undefined ? 'It passed, but a check nobody awaits cannot fail a test.' : `It failed after the test had ended: ${err instanceof Error ? err.message : String(err)}`;
      const message = `${call} was not awaited. Robustness matchers are asynchronous: write \`await ${call}\`. ${outcome}`;
      callSite.stack = `Error: ${message}\n${(callSite.stack ?? '').split('\n').slice(1).join('\n')}`;
      callSite.message = message;
      throw callSite;
    });
  } catch {
    // Not inside a running test (a hook or the module body): Vitest reports what happens there.
  }
  const mark = () => {
    awaited = true;
  };
  return {
    then(onFulfilled, onRejected) {
      mark();
      return promise.then(onFulfilled, onRejected);
    },
    catch(onRejected: (reason: unknown) => unknown) {
      mark();
      return Promise.resolve(promise).catch(onRejected);
    },
    finally(onFinally: () => void) {
      mark();
      return Promise.resolve(promise).finally(onFinally);
    },
    [Symbol.toStringTag]: 'Promise',
  } as PromiseLike<unknown>;
}

/**
 * `expect.extend` with the robustness matchers, then the await guard around each. Safe to call
 * more than once (the setup entry may be listed twice, by name and by the plugin).
 */
export function registerMatchers(): void {
  expect.extend(MATCHERS);
  const proto = chai.Assertion.prototype as unknown as Record<string, Method & { [GUARDED]?: boolean }>;
  for (const name of Object.keys(MATCHERS)) {
    const extended = proto[name];
    if (!extended || extended[GUARDED]) continue;
    const guarded = function (this: object, ...args: unknown[]): unknown {
      // The matcher takes this slot synchronously, before its first await, and fills it with its
      // measurement; the awaited call resolves to it.
      const slot: Slot = {};
      pending = slot;
      let result: unknown;
      try {
        result = extended.apply(this, args);
      } finally {
        pending = undefined;
      }
      if (!isThenable(result)) return result;
      const not = chai.util.flag(this, 'negate') ? 'not.' : '';
      return guardAwait(
        Promise.resolve(result).then(() => slot.measurement),
        `expect(...).${not}${name}(...)`,
      );
    };
    chai.util.addMethod(chai.Assertion.prototype, name, guarded);
    (proto[name] as { [GUARDED]?: boolean })[GUARDED] = true;
  }
}
