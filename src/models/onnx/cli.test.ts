// `robustness eval --model model.onnx`: the CLI takes an ONNX file, with its card's preprocessing.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../cli/eval.js';

afterEach(() => vi.restoreAllMocks());

describe('robustness eval on an ONNX file', () => {
  it('evaluates it and prints its card name and preprocessing', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    expect(await run(['--model', 'fixtures/onnx/resnet.onnx', '--n', '20', '--attack', 'fgsm', '--eps', '0.004'])).toBe(0);
    const out = lines.join('\n');
    expect(out).toMatch(/^resnet-onnx: fgsm .*n=20 .*preprocessing \{"inputRange":\[0,1\],"mean":\[0\.4914,0\.4822,0\.4465\],"std":\[0\.247,0\.2435,0\.2616\],"layout":"NCHW"\}/m);
    expect(out).toMatch(/\| clean \| \d+\.\d\d% \|/);
  });

  it('names the missing file and how to make one', async () => {
    await expect(run(['--model', 'nowhere/model.onnx', '--n', '5'])).rejects.toThrow(/No model at .*nowhere\/model\.onnx.*torch\.onnx\.export/);
  });
});
