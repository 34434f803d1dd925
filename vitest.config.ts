import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { robustness } from './src/plugin/index.js';

const src = (p: string) => fileURLToPath(new URL(`./src/${p}`, import.meta.url));

// The project's own specs import the package by name, the way a user's specs do; these aliases
// point those imports at the sources so no build is needed to run them.
const alias = [
  { find: /^vitest-robustness\/setup$/, replacement: src('setup.ts') },
  { find: /^vitest-robustness\/reporter$/, replacement: src('reporter.ts') },
  { find: /^vitest-robustness\/plugin$/, replacement: src('plugin/index.ts') },
  { find: /^vitest-robustness$/, replacement: src('index.ts') },
];

export default defineConfig({
  // The plugin a user's project uses, loaded from the sources: setup entry (backend, kernels,
  // matchers), reporter, timeouts. The robustness report gathers the specs' checks; this package's
  // own unit tests of the matchers (under src/) are left out of it. The paper workbench adds its
  // section and reports/paper.md through the reporter's extension point.
  plugins: [robustness({ ignore: '^(src|paper/(cli|report))/', extensions: ['paper/report/extension.ts'] })],
  resolve: { alias },
  test: {
    benchmark: { include: ['bench/**/*.bench.ts'] },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'paper/**/*.test.ts', 'e2e/readmeBlocks.test.ts'],
          // Unit tests never reach the dataset authors' site: the first-use download is tested
          // against a server on 127.0.0.1, with this lifted inside the test.
          // Attacks and attributions run in each test's own thread (Vitest already runs a file per
          // core); src/workers/pool.test.ts turns the worker threads on and compares.
          env: { ROBUSTNESS_OFFLINE: '1', ROBUSTNESS_WORKERS: '0' },
          setupFiles: [src('test-support/setup-env.ts')],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'specs',
          include: ['specs/**/*.spec.ts'],
          setupFiles: [src('test-support/setup-env.ts')],
          testTimeout: 30 * 60_000,
          hookTimeout: 30 * 60_000,
        },
      },
      {
        extends: true,
        test: {
          // The paper workbench's claims (npm run paper): they attack and explain for minutes per test.
          name: 'paper',
          include: ['paper/specs/**/*.spec.ts'],
          setupFiles: [src('test-support/setup-env.ts')],
          testTimeout: 30 * 60_000,
          hookTimeout: 30 * 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.e2e.test.ts'],
          testTimeout: 10 * 60_000,
          hookTimeout: 10 * 60_000,
        },
      },
    ],
  },
});
