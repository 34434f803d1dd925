import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { numberFlag, RULES, UsageError } from './args.js';
import { main } from './main.js';

/** The error a promise rejects with (or a failure when it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error & { exitCode?: number }> {
  return p.then(
    () => expect.unreachable('expected the command to refuse its arguments'),
    (err: Error) => err,
  );
}

describe('numberFlag', () => {
  it('reads every decimal a finite double prints as, exactly', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        expect(numberFlag('t', 'x', String(x))).toBe(x === 0 ? 0 : x);
      }),
    );
  });

  it('refuses what Number() would quietly turn into a number: hex, binary, octal, empty, Infinity', () => {
    for (const raw of ['0x1', '0b1', '0o7', '', ' ', 'Infinity', '1_000', '1,5', '--1', '1e', 'NaN', 'ten']) {
      expect(() => numberFlag('eval', 'eps', raw), raw).toThrow(new RegExp(`^--eps must be a number; got '${raw.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'. See \`robustness eval --help\`.$`));
    }
  });

  it('holds to its rule and says which', () => {
    expect(() => numberFlag('train', 'train-count', '0', RULES.count)).toThrow(/--train-count must be a whole number of at least 1; got '0'/);
    expect(() => numberFlag('train', 'epochs', '2.5', RULES.count)).toThrow(/--epochs must be a whole number of at least 1; got '2.5'/);
    expect(() => numberFlag('train', 'lr', '-1', RULES.positive)).toThrow(/--lr must be a number above 0; got '-1'/);
    expect(() => numberFlag('train', 'lr', '0', RULES.positive)).toThrow(/--lr must be a number above 0; got '0'/);
    expect(() => numberFlag('train', 'val', '-5', RULES.countOrZero)).toThrow(/--val must be a whole number of at least 0; got '-5'/);
    expect(() => numberFlag('eval', 'eps', '1.5', { min: 0, minExclusive: true, max: 1, fraction: true })).toThrow(/--eps must be a number in \(0, 1\] \(decimal, or a fraction like 8\/255\); got '1.5'/);
    expect(numberFlag('eval', 'eps', '8/255', { min: 0, minExclusive: true, max: 1, fraction: true })).toBe(8 / 255);
    expect(() => numberFlag('eval', 'eps', '8/0', { min: 0, minExclusive: true, max: 1, fraction: true })).toThrow(/got '8\/0'/);
    expect(numberFlag('train', 'val', '0', RULES.countOrZero)).toBe(0);
    expect(numberFlag('train', 'lr', '1e-3', RULES.positive)).toBe(1e-3);
    expect(numberFlag('train', 'lr', undefined, RULES.positive)).toBeUndefined();
    const err = (() => {
      try {
        numberFlag('train', 'seed', '-1', RULES.seed);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
  });
});

describe('every command refuses a bad flag before touching data or models, with exit code 2', () => {
  // Each case names a missing model and data folder, so before strict parsing a bad number got
  // past the flags and failed later on something else (or, with data present, trained).
  const cases: [string[], RegExp][] = [
    [['eval', '--model', '/nonexistent/m', '--eps', '0x1'], /--eps must be a number in \(0, 1\] \(decimal, or a fraction like 8\/255\); got '0x1'/],
    [['eval', '--model', '/nonexistent/m', '--n', '0'], /--n must be a whole number of at least 1; got '0'/],
    [['eval', '--model', '/nonexistent/m', '--steps', 'abc'], /--steps must be a whole number of at least 1; got 'abc'/],
    [['eval', '--model', '/nonexistent/m', '--seed', '1.5'], /--seed must be a whole number of at least 0; got '1.5'/],
    [['eval', '--model', '/nonexistent/m', '--attack', 'deepfool', '--steps', '3'], /--steps: deepfool takes no steps; drop it/],
    [['eval', '--model', '/nonexistent/m', '--attack', 'bim'], /--attack: Unknown attack "bim"/],
    [['eval', '--bogus'], /Unknown option '--bogus'/],
    [['report', '--bogus'], /Unknown option '--bogus'/],
    [['data', '--bogus'], /Unknown option '--bogus'/],
    [['eval', '--model', '/nonexistent/m', '--eps', '0.1', '--eps=0.3'], /--eps is given twice/],
    [['data', 'cifar10', '--cache', 'a', '--cache', 'b'], /--cache is given twice/],
    [['data', 'cifar10', 'extra'], /robustness data takes one of cifar10, decode; got 'cifar10 extra'/],
    [['data', 'mnist'], /robustness data takes one of cifar10, decode; got 'mnist'/],
    [['eval'], /--model is required/],
  ];
  it.each(cases)('robustness %s', async (args, message) => {
    const err = await rejection(main(args));
    expect(err.message).toMatch(message);
    expect(err.exitCode).toBe(2);
  });
});
