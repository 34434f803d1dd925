// Vitest setup entry (`setupFiles: ['vitest-robustness/setup']`): registers the robustness matchers.
import { expect } from 'vitest';
import * as matchers from './matchers/index.js';

expect.extend(matchers as unknown as Parameters<typeof expect.extend>[0]);
