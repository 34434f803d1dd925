// Vitest setup entry (`setupFiles: ['vitest-robustness/setup']`; the plugin adds it): chooses the
// tfjs backend (tfjs-node-gpu, tfjs-node, wasm, cpu, or ROBUSTNESS_BACKEND) and installs the fast
// gradient kernels before any test makes a tensor, names the backend once per run, and registers
// the matchers on expect.
import { announceOncePerRun } from './backend/announce.js';
import { initBackend } from './backend/select.js';
import { registerMatchers } from './matchers/register.js';
import { warmWorkerThreads } from './workers/pool.js';
import './workers/dataParallel.js';

export type { RobustnessMatchers } from './matchers/types.js';

announceOncePerRun(await initBackend({ announce: false }));
// The attack threads start now, beside the test's loading of data and model (src/workers/pool.ts).
warmWorkerThreads();
registerMatchers();
