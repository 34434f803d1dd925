// Runs once in Vitest's main process: names the backend the workers will choose, once per run.
import { describeBackend, initBackend } from '../backend/index.js';

export default async function setup(): Promise<void> {
  const info = await initBackend({ announce: false });
  if (!process.env.ROBUSTNESS_QUIET) console.log(`[vitest-robustness] ${describeBackend(info)}`);
}
