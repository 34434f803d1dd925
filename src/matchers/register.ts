// Registers the matchers on Vitest's expect, each guarded against a forgotten `await`.
import { chai, expect, onTestFinished } from 'vitest';
import { toBeInvariantTo } from './toBeInvariantTo.js';
import { toBeMoreRobustThan } from './toBeMoreRobustThan.js';
import { toHaveAverageDensityBelow } from './toHaveAverageDensityBelow.js';
import { toHaveRobustnessCurve } from './toHaveRobustnessCurve.js';
import { toHaveStableAttribution } from './toHaveStableAttribution.js';
import { toMatchHeatmapSnapshot } from './toMatchHeatmapSnapshot.js';
import { toResistAttack } from './toResistAttack.js';

/** Every matcher the setup entry registers, by name. */
const MATCHERS = { toResistAttack, toHaveStableAttribution, toHaveAverageDensityBelow, toMatchHeatmapSnapshot, toBeInvariantTo, toBeMoreRobustThan, toHaveRobustnessCurve };

const GUARDED = Symbol.for('vitest-robustness.awaitGuard');

/**
 * Where the guarded call below collects what its matcher measured: Vitest's own wrapper resolves
 * an asynchronous matcher to undefined, so each matcher hands its outcome's `actual` (robust
 * accuracy, the curve, the comparison) to the slot that was open when it was called (synchronously,
 * inside the guarded call), and the guarded call resolves to it.
 */
let openSlot: { actual?: unknown } | undefined;

type MatcherFn = (this: unknown, ...args: unknown[]) => unknown;

function capturing(fn: MatcherFn): MatcherFn {
  return function (this: unknown, ...args: unknown[]) {
    const slot = openSlot;
    openSlot = undefined;
    const out = fn.apply(this, args);
    if (!slot || !isThenable(out)) return out;
    return Promise.resolve(out).then((o) => {
      slot.actual = (o as { actual?: unknown } | undefined)?.actual;
      return o;
    });
  };
}

const CAPTURING = Object.fromEntries(Object.entries(MATCHERS).map(([k, fn]) => [k, capturing(fn as MatcherFn)]));

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
 * `expect.extend` with the robustness matchers, then the await guard around each; an awaited call
 * resolves to the matcher's measurement (`toResistAttack`: the value; `toHaveRobustnessCurve`: the
 * curve; `toBeMoreRobustThan`: the comparison), with or without `.not`. Safe to call
 * more than once (the setup entry may be listed twice, by name and by the plugin).
 */
export function registerMatchers(): void {
  expect.extend(CAPTURING as typeof MATCHERS);
  const proto = chai.Assertion.prototype as unknown as Record<string, Method & { [GUARDED]?: boolean }>;
  for (const name of Object.keys(MATCHERS)) {
    const extended = proto[name];
    if (!extended || extended[GUARDED]) continue;
    const guarded = function (this: object, ...args: unknown[]): unknown {
      const slot: { actual?: unknown } = {};
      openSlot = slot;
      let result: unknown;
      try {
        result = extended.apply(this, args);
      } finally {
        openSlot = undefined;
      }
      if (!isThenable(result)) return result;
      const not = chai.util.flag(this, 'negate') ? 'not.' : '';
      // Resolves, once the verdict holds, to what the matcher measured (its outcome's `actual`).
      return guardAwait(Promise.resolve(result).then(() => slot.actual), `expect(...).${not}${name}(...)`);
    };
    chai.util.addMethod(chai.Assertion.prototype, name, guarded);
    (proto[name] as { [GUARDED]?: boolean })[GUARDED] = true;
  }
}
