// Vitest setup entry (`setupFiles: ['vitest-robustness/setup']`): registers the robustness matchers.
import { expect } from 'vitest';
import { toBeInvariantTo, toHaveAverageDensityBelow, toHaveStableAttribution, toMatchHeatmapSnapshot, toResistAttack } from './matchers/index.js';

expect.extend({ toResistAttack, toHaveStableAttribution, toHaveAverageDensityBelow, toMatchHeatmapSnapshot, toBeInvariantTo });
