import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { backendFromEnv, describeBackend, initBackend } from './select.js';

describe('backend selection', () => {
  it('picks a working backend and names the ones it skipped', async () => {
    const info = await initBackend({ announce: false });
    expect(['tensorflow', 'wasm', 'cpu']).toContain(info.name);
    expect(tf.getBackend()).toBe(info.name);
    expect(describeBackend(info)).toContain(info.name);
    if (info.name !== 'tensorflow') expect(info.skipped.map((s) => s.package)).toContain('@tensorflow/tfjs-node');
  });

  it('honours a forced backend, and switches back', async () => {
    const cpu = await initBackend({ backend: 'cpu', announce: false });
    expect(cpu).toMatchObject({ name: 'cpu', forced: true });
    expect(tf.getBackend()).toBe('cpu');
    const wasm = await initBackend({ backend: 'wasm', announce: false });
    expect(wasm.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    await initBackend({ announce: false });
  });

  it('fails with a reason when a forced backend cannot load', async () => {
    let tfjsNode = true;
    try {
      await import(/* @vite-ignore */ ['@tensorflow', 'tfjs-node'].join('/'));
    } catch {
      tfjsNode = false;
    }
    if (tfjsNode) return; // this machine has libtensorflow: the failure path cannot be shown here
    await expect(initBackend({ backend: 'tensorflow', announce: false })).rejects.toThrow(/ROBUSTNESS_BACKEND=tensorflow.*not installed.*unset ROBUSTNESS_BACKEND/s);
    await initBackend({ announce: false });
  });

  it('reads ROBUSTNESS_BACKEND and rejects unknown names with the list', () => {
    expect(backendFromEnv({ ROBUSTNESS_BACKEND: 'WASM' })).toBe('wasm');
    expect(backendFromEnv({ ROBUSTNESS_BACKEND: 'tfjs-node' })).toBe('tensorflow');
    expect(backendFromEnv({})).toBeUndefined();
    expect(() => backendFromEnv({ ROBUSTNESS_BACKEND: 'webgpu' })).toThrow(/webgpu.*tensorflow, wasm, cpu/);
  });
});
