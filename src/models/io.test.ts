import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModel, type Arch } from './build.js';
import { isFinished, loadModel, readCard, saveModel, trainingStatus } from './io.js';
import { regularizationLoss, type RegularizerName } from './regularizers.js';

const root = mkdtempSync(join(tmpdir(), 'io-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const input = () => tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 5);

/** Outputs and the kernel penalty of a model, as plain numbers. */
async function fingerprint(model: tf.LayersModel): Promise<{ out: Float32Array; penalty: number }> {
  const x = input();
  const y = model.predict(x) as tf.Tensor;
  const reg = regularizationLoss(model);
  const result = { out: (await y.data()) as Float32Array, penalty: (await reg.data())[0]! };
  tf.dispose([x, y, reg]);
  return result;
}

describe('saveModel and loadModel', () => {
  const cases: [Arch, number, RegularizerName][] = [];
  for (const reg of ['base', 'l1', 'l2', 'elasticnet'] as const) {
    cases.push(['mobilenet', 0.125, reg], ['resnet', 0.25, reg], ['vgg16', 0.0625, reg]);
  }
  it.each(cases)('%s width %s with regularizer %s: loads back with the same outputs and the same penalty', async (arch, width, reg) => {
    const before = tf.memory().numTensors;
    const model = buildModel({ arch, width, depth: arch === 'mobilenet' ? 1 : arch === 'resnet' ? 8 : undefined, regularizer: reg, seed: 2 });
    const dir = join(root, `${arch}-${reg}`);
    await saveModel(model, dir);
    const loaded = await loadModel(dir);
    const [a, b] = [await fingerprint(model), await fingerprint(loaded)];
    expect(Array.from(b.out)).toEqual(Array.from(a.out));
    expect(b.penalty).toBe(a.penalty);
    if (reg !== 'base') expect(a.penalty).toBeGreaterThan(0);
    model.dispose();
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('loads a regularized depthwise model saved with the regularizer in the constraint slot (tfjs-layers 4.22 getConfig), without the bogus constraint', async () => {
    const model = buildModel({ arch: 'mobilenet', width: 0.125, depth: 1, regularizer: 'elasticnet', seed: 4 });
    const dir = join(root, 'old-file');
    await saveModel(model, dir);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    let damaged = 0;
    const walk = (n: unknown): void => {
      if (Array.isArray(n)) n.forEach(walk);
      else if (n && typeof n === 'object') {
        const o = n as Record<string, any>;
        if (o.class_name === 'DepthwiseConv2D') {
          expect(o.config.depthwise_constraint).toBeNull();
          o.config.depthwise_constraint = o.config.depthwise_regularizer;
          damaged++;
        }
        Object.values(o).forEach(walk);
      }
    };
    walk(json.modelTopology);
    expect(damaged).toBeGreaterThan(0);
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    // What tfjs itself makes of such a file: the kernel meets an L1L2 "constraint".
    const raw = readFileSync(join(dir, 'weights.bin'));
    await expect(
      tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length) })),
    ).rejects.toThrow(/shape of the new value/);
    const loaded = await loadModel(dir);
    expect(Array.from((await fingerprint(loaded)).out)).toEqual(Array.from((await fingerprint(model)).out));
    model.dispose();
    loaded.dispose();
  });

  it('keeps a real depthwise constraint through a save and load', async () => {
    const x = tf.input({ shape: [8, 8, 3] });
    const dw = tf.layers.depthwiseConv2d({ name: 'dw', kernelSize: 3, depthwiseConstraint: tf.constraints.maxNorm({ maxValue: 0.5, axis: 0 }), depthwiseRegularizer: tf.regularizers.l2({ l2: 0.1 }) });
    const model = tf.model({ inputs: x, outputs: tf.layers.flatten().apply(dw.apply(x)) as tf.SymbolicTensor });
    const dir = join(root, 'constrained');
    await saveModel(model, dir);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const saved = json.modelTopology.config.layers.find((l: { name: string }) => l.name === 'dw').config;
    expect(saved.depthwise_constraint).toEqual({ class_name: 'MaxNorm', config: { max_value: 0.5, axis: 0 } });
    expect(saved.depthwise_regularizer.class_name).toBe('L1L2');
    const loaded = await loadModel(dir);
    expect((loaded.getLayer('dw') as unknown as { depthwiseConstraint: tf.serialization.Serializable }).depthwiseConstraint.getClassName()).toBe('MaxNorm');
    model.dispose();
    loaded.dispose();
  });
});

/** The id of a process that has exited, as a killed one's is. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
}

describe('a model folder is never lost', () => {
  const tiny = () => buildModel({ arch: 'cnn1', width: 0.1, seed: 3 });

  it('saveModel refuses a non-empty folder without model.json and leaves its files (a mistyped --out, or --out . in a project)', async () => {
    const project = join(root, 'project');
    mkdirSync(join(project, 'src'), { recursive: true });
    writeFileSync(join(project, 'package.json'), '{}');
    writeFileSync(join(project, 'src', 'main.ts'), 'code');
    const model = tiny();
    await expect(saveModel(model, project)).rejects.toThrow(/holds other files \(package\.json, src\) and is not a model folder \(one with model\.json\); nothing was written/);
    expect(readdirSync(project).sort()).toEqual(['package.json', 'src']);
    expect(readFileSync(join(project, 'src', 'main.ts'), 'utf8')).toBe('code');
    model.dispose();
  });

  it('saving over a model keeps the files and subfolders a user put beside it, and retires the old optimizer state', async () => {
    const dir = join(root, 'with-notes');
    const model = tiny();
    await saveModel(model, dir, undefined, { 'optimizer.json': '{}', 'history.json': '[]' });
    mkdirSync(join(dir, 'plots'));
    writeFileSync(join(dir, 'plots', 'loss.png'), 'png');
    writeFileSync(join(dir, 'NOTES.md'), 'why this model');
    await saveModel(model, dir, undefined, { 'history.json': '[1]' });
    expect(readdirSync(dir).sort()).toEqual(['NOTES.md', 'history.json', 'model.json', 'plots', 'weights.bin']);
    expect(readFileSync(join(dir, 'plots', 'loss.png'), 'utf8')).toBe('png');
    expect(readFileSync(join(dir, 'history.json'), 'utf8')).toBe('[1]');
    model.dispose();
  });

  it('a model folder a killed save moved aside is back on the next load, and the killed save\'s temp folder is gone', async () => {
    const dir = join(root, 'killed-save');
    const model = tiny();
    await saveModel(model, dir);
    // The state a kill -9 between the two renames leaves: the old folder aside, the new one staged.
    const pid = deadPid();
    renameSync(dir, `${dir}.${pid}.0badc0de.old`);
    mkdirSync(`${dir}.${pid}.1badc0de.tmp`);
    writeFileSync(`${dir}.${pid}.1badc0de.tmp/model.json`, '{');
    const loaded = await loadModel(dir);
    expect(loaded.countParams()).toBe(model.countParams());
    expect(readdirSync(root).filter((n) => n.startsWith('killed-save'))).toEqual(['killed-save']);
    model.dispose();
    loaded.dispose();
  });
});

describe('loadModel and readCard name what is wrong with a damaged model folder', () => {
  const tiny = () => buildModel({ arch: 'cnn1', width: 0.1, seed: 3 });

  it.each([
    ['{}', /model\.json is not a tfjs LayersModel file: it has no modelTopology\. Restore it, retrain, or convert/],
    ['null', /model\.json is not a tfjs LayersModel file: it holds null, not an object/],
    ['{"modelTopology": {}, "weightsManifest": {}}', /its weightsManifest is not a list of \{ paths, weights \}/],
  ])('model.json %s', async (text, message) => {
    const dir = join(root, `bad-json-${text.length}`);
    const model = tiny();
    await saveModel(model, dir);
    writeFileSync(join(dir, 'model.json'), text);
    await expect(loadModel(dir)).rejects.toThrow(message);
    model.dispose();
  });

  it('a weight whose shape does not fit the model: names the file and the weight, leaves no tensors', async () => {
    const dir = join(root, 'bad-shape');
    const model = tiny();
    await saveModel(model, dir);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    json.weightsManifest[0].weights[0].shape.reverse();
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    const before = tf.memory().numTensors;
    await expect(loadModel(dir)).rejects.toThrow(
      new RegExp(`The weights in ${join(dir, 'model.json')} do not fit its model: weight 'hidden/kernel' is \\[5, 3, 5, 5\\] in the file, but the model needs \\[5, 5, 3, 5\\]`),
    );
    expect(tf.memory().numTensors).toBe(before);
    json.weightsManifest[0].weights[0].name = 'other/kernel';
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    await expect(loadModel(dir)).rejects.toThrow(/weight 'other\/kernel' is in the file but not in the model; weight 'hidden\/kernel' of the model is not in the file/);
    model.dispose();
  });

  it.each([['{}'], ['null'], ['[]']])('card.json %s', async (text) => {
    const dir = join(root, `bad-card-${text}`.replace(/[^a-z-]/g, 'x'));
    const model = tiny();
    await saveModel(model, dir);
    writeFileSync(join(dir, 'card.json'), text);
    expect(() => readCard(dir)).toThrow(/card\.json is not a model card: it lacks (an object|spec, training, data).*Restore it/);
    await expect(loadModel(dir)).rejects.toThrow(/is not a model card/);
    expect(existsSync(join(dir, 'model.json'))).toBe(true);
    model.dispose();
  });
});

describe('trainingStatus', () => {
  it('finished only with a card that has a clean accuracy and no optimizer state left; says why not', () => {
    const dir = join(root, 'status');
    mkdirSync(dir, { recursive: true });
    expect(trainingStatus(join(root, 'no-such-folder'))).toEqual({ finished: false, card: undefined, why: 'holds no model card (card.json)' });
    expect(trainingStatus(dir)).toMatchObject({ finished: false, why: 'holds no model card (card.json)' });
    const card = { name: 'm', spec: {}, training: {}, data: {} };
    writeFileSync(join(dir, 'card.json'), JSON.stringify(card));
    expect(trainingStatus(dir)).toMatchObject({ finished: false, card: { name: 'm' }, why: 'has not finished training (no clean accuracy on its card)' });
    writeFileSync(join(dir, 'card.json'), JSON.stringify({ ...card, cleanAccuracy: { value: 0.5, n: 10 } }));
    writeFileSync(join(dir, 'optimizer.json'), '{}');
    expect(trainingStatus(dir)).toMatchObject({ finished: false, why: 'is still training (optimizer.json is there for a resume)' });
    expect(isFinished(dir)).toBe(false);
    rmSync(join(dir, 'optimizer.json'));
    expect(trainingStatus(dir)).toMatchObject({ finished: true, card: { cleanAccuracy: { value: 0.5, n: 10 } } });
    expect(isFinished(dir)).toBe(true);
  });
});
