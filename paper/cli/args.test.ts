// The workbench's commands refuse a bad flag before touching data or models, with exit code 2.
import { describe, expect, it } from 'vitest';
import { main } from '../cli.js';

/** The error a command rejects with. */
async function rejection(p: Promise<unknown>): Promise<Error & { exitCode?: number }> {
  return p.then(
    () => {
      throw new Error('expected the command to fail');
    },
    (err: Error & { exitCode?: number }) => err,
  );
}

describe('every workbench command refuses a bad flag before touching data or models, with exit code 2', () => {
  // Each case names a missing model and data folder, so a bad number that got past the flags
  // would fail later on something else (or, with data present, train).
  const cases: [string[], RegExp][] = [
    [['train', '--arch', 'cnn1', '--out', '/nonexistent/x', '--train-count', '0'], /--train-count must be a whole number of at least 1; got '0'/],
    [['train', '--arch', 'cnn1', '--out', '/nonexistent/x', '--lr=-1'], /--lr must be a number above 0; got '-1'/],
    [['train', '--arch', 'cnn1', '--out', '/nonexistent/x', '--epochs', '0x10'], /--epochs must be a whole number of at least 1; got '0x10'/],
    [['train', '--arch', 'cnn1', '--out', '/nonexistent/x', '--width', '0'], /--width must be a number above 0; got '0'/],
    [['train', '--arch', 'cnn1', '--out', '/nonexistent/x', '--factor=-0.01'], /--factor must be a number of at least 0; got '-0.01'/],
    [['train', '--arch', 'cnn1', '--out', '/nonexistent/x', '--batch', '1.5'], /--batch must be a whole number of at least 1; got '1.5'/],
    [['train', '--arch', 'cnn1', '--out', '/nonexistent/x', '--seed', ''], /--seed must be a whole number of at least 0; got ''/],
    [['train', '--arch', 'cnn2', '--out', '/nonexistent/x'], /--arch must be one of resnet, .*got 'cnn2'/],
    [['train', '--arch', 'cnn1', '--reg', 'l3', '--out', '/nonexistent/x'], /--reg must be one of .*got 'l3'/],
    [['adv-train', '--from', '/nonexistent/a', '--out', '/nonexistent/b', '--count', '0'], /--count must be a whole number of at least 1; got '0'/],
    [['adv-train', '--from', '/nonexistent/a', '--out', '/nonexistent/b', '--clean=-1'], /--clean must be a whole number of at least 0; got '-1'/],
    [['adv-train', '--from', '/nonexistent/a', '--out', '/nonexistent/b', '--lr', '0'], /--lr must be a number above 0; got '0'/],
    [['train', '--bogus'], /Unknown option '--bogus'/],
    [['compact', '--model', 'x', '--bogus'], /Unknown option '--bogus'/],
    [['models', '--bogus'], /Unknown option '--bogus'/],
    [['adv-train', '--bogus'], /Unknown option '--bogus'/],
    [['train', 'extra'], /Unexpected argument 'extra'/],
    [['train', '--arch', 'cnn1', '--epochs', '10', '--out', '/nonexistent/x', '--epochs', '1'], /--epochs is given twice; give it once\. See `npm run workbench -- train --help`\./],
    [['adv-train', '--from', '/nonexistent/a', '--out', '/nonexistent/b', '--resume', '--resume'], /--resume is given twice/],
    [['train', '--out', '/nonexistent/x'], /--arch is required/],
    [['compact'], /--model is required/],
  ];
  it.each(cases)('npm run workbench -- %s', async (args, message) => {
    const err = await rejection(main(args));
    expect(err.message).toMatch(message);
    expect(err.exitCode).toBe(2);
  });
});
