import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import RobustnessReporter from '../reporter.js';
import { DEFAULT_TIMEOUT, resolvePluginOptions } from './options.js';
import { GLOBAL_SETUP_FILE, robustness, SETUP_FILE } from './robustness.js';

type TestConfig = { setupFiles?: string | string[]; globalSetup?: string | string[]; testTimeout?: number; hookTimeout?: number };
type Hooks = { config: (c: { root?: string; test?: TestConfig }) => void; configureVitest: (ctx: { vitest: { config: { reporters: unknown[] } } }) => void };

const hooks = (options?: Parameters<typeof robustness>[0]) => robustness(options) as unknown as Hooks;

const savedEnv = { ...process.env };
afterEach(() => {
  for (const k of ['ROBUSTNESS_REPORT_DIR', 'ROBUSTNESS_SNAPSHOT_DIR']) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

describe('resolvePluginOptions', () => {
  it('fills the default timeout and keeps the rest', () => {
    expect(resolvePluginOptions()).toEqual({ timeout: DEFAULT_TIMEOUT });
    expect(resolvePluginOptions({ reportDir: 'out', thresholds: 't.json' })).toEqual({ reportDir: 'out', thresholds: 't.json', timeout: DEFAULT_TIMEOUT });
  });

  it('accepts any positive whole number of ms as timeout and refuses every other number', () => {
    fc.assert(fc.property(fc.integer({ min: 1 }), (t) => resolvePluginOptions({ timeout: t }).timeout === t));
    fc.assert(
      fc.property(fc.oneof(fc.integer({ max: 0 }), fc.double().filter((d) => !Number.isInteger(d))), (t) => {
        expect(() => resolvePluginOptions({ timeout: t })).toThrow(/timeout must be a positive whole number of milliseconds/);
      }),
    );
  });

  it('refuses unknown options, empty paths and a bad ignore pattern, naming them', () => {
    expect(() => resolvePluginOptions({ reportdir: 'x' } as never)).toThrow(/unknown option 'reportdir'; known: reportDir, snapshotDir, thresholds, timeout, ignore/);
    expect(() => resolvePluginOptions({ snapshotDir: ' ' })).toThrow(/snapshotDir must be a non-empty path/);
    expect(() => resolvePluginOptions({ thresholds: 3 } as never)).toThrow(/thresholds must be a non-empty path/);
    expect(() => resolvePluginOptions({ ignore: '(' })).toThrow(/ignore must be a regular expression/);
    expect(() => robustness({ timeout: 0 })).toThrow(/timeout/);
  });
});

describe('robustness() plugin', () => {
  it('points at the setup entry and global setup that exist beside it', () => {
    expect(existsSync(SETUP_FILE)).toBe(true);
    expect(existsSync(GLOBAL_SETUP_FILE)).toBe(true);
  });

  it('puts its setup entry ahead of yours, adds its global setup, and sets timeouts only where you set none', () => {
    const config: { test?: TestConfig } = {};
    hooks().config(config);
    expect(config.test).toEqual({ setupFiles: [SETUP_FILE], globalSetup: [GLOBAL_SETUP_FILE], testTimeout: DEFAULT_TIMEOUT, hookTimeout: DEFAULT_TIMEOUT });

    const mine = { test: { setupFiles: './my-setup.ts', globalSetup: './my-global.ts', testTimeout: 1234 } };
    hooks({ timeout: 99_000 }).config(mine);
    expect(mine.test).toEqual({ setupFiles: [SETUP_FILE, './my-setup.ts'], globalSetup: ['./my-global.ts', GLOBAL_SETUP_FILE], testTimeout: 1234, hookTimeout: 99_000 });

    // A second application (the plugin in a project that extends the root) adds nothing twice.
    hooks().config(mine);
    expect(mine.test.setupFiles).toEqual([SETUP_FILE, './my-setup.ts']);
    expect(mine.test.globalSetup).toEqual(['./my-global.ts', GLOBAL_SETUP_FILE]);
  });

  it('hands the report and snapshot folders to every process as absolute paths, unless already set', () => {
    delete process.env.ROBUSTNESS_REPORT_DIR;
    delete process.env.ROBUSTNESS_SNAPSHOT_DIR;
    hooks({ reportDir: 'out/reports', snapshotDir: 'snaps' }).config({ root: '/project' });
    expect(process.env.ROBUSTNESS_REPORT_DIR).toBe(resolve('/project/out/reports'));
    expect(process.env.ROBUSTNESS_SNAPSHOT_DIR).toBe(resolve('/project/snaps'));
    hooks({ reportDir: 'elsewhere' }).config({ root: '/project' });
    expect(process.env.ROBUSTNESS_REPORT_DIR).toBe(resolve('/project/out/reports'));
  });

  it('adds one robustness reporter beside the configured ones, and none when one is already there', () => {
    const reporters: unknown[] = [['default', {}]];
    hooks().configureVitest({ vitest: { config: { reporters } } });
    hooks().configureVitest({ vitest: { config: { reporters } } });
    expect(reporters).toHaveLength(2);
    expect(reporters[1]).toBeInstanceOf(RobustnessReporter);

    const byName: unknown[] = [['default', {}], ['vitest-robustness/reporter', {}]];
    hooks().configureVitest({ vitest: { config: { reporters: byName } } });
    expect(byName).toHaveLength(2);
  });
});
