// The package as a user gets it: `npm pack`, a fresh project, the README's install command, its
// vitest.config.ts, tsconfig.json, thresholds file and spec written verbatim from the README's
// marked code blocks, and the README's CI job run step by step. If the README and the package
// drift apart, this fails.
//
// Which README blocks run, and how: an HTML comment right before a fenced block marks it (the
// full convention is in ./readmeBlocks.ts):
//
//   <!-- e2e: file PATH -->   written verbatim to PATH in the user's project
//   <!-- e2e: install -->     the install command, run with the package name replaced by the tarball
//   <!-- e2e: ci-job -->      the GitHub Actions job; its `run:` steps run in order, except those in
//                             CI_STEPS_NOT_RUN below (each with the reason)
//
// A new README block a user would copy should carry a marker, so that it runs here too.
//
// Besides the README's own blocks the test writes three files of its own, each named below: a
// type check that imports only from 'vitest', a copy of the README spec with thresholds that do not
// hold, and a spec that forgets an `await`. The model is this repository's
// fixtures/models/resnet20-base, copied in as the README's "your model folder"; the data is the
// CIFAR-10 JPEG copy named by CIFAR10_DIR, or else the shared one beside the checkout.
//
// Run with `npm run e2e` (`.ci/run` runs it after `npm test`): about 3-5 minutes on 2 cores.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyBlock, type ReadmeBlock, readmeBlocks, workflowRunSteps } from './readmeBlocks.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const cifar10Dir = process.env.CIFAR10_DIR ? resolve(process.env.CIFAR10_DIR) : resolve(repo, '../shared/datasets/cifar10-jpeg');
const model = join(repo, 'fixtures/models/resnet20-base');

/** CI steps this machine cannot run, with why; every other `run:` step of the README's job runs. */
const CI_STEPS_NOT_RUN: Record<string, string> = {
  'npm ci': 'the project was installed a moment ago by the README install command (with the tarball in place of the registry package)',
  'npx robustness data cifar10': "the dataset authors' site cannot be reached here; the step's comment offers CIFAR10_DIR instead, which this test sets",
};

interface Run {
  status: number | null;
  stdout: string;
  /** stdout then stderr, without colour codes. */
  output: string;
  seconds: number;
}

// The child processes must not believe they run inside this Vitest (VITEST_*, our own run marker)
// or inside `npm run` (npm_* would steer the user's npm).
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VITEST|ROBUSTNESS_(ANNOUNCE_MARKER|BACKEND|QUIET|REPORT_DIR|SNAPSHOT_DIR)$|npm_|NODE_ENV$|TEST$|CI$)/i.test(k)));
  return { ...env, CIFAR10_DIR: cifar10Dir, NO_COLOR: '1', FORCE_COLOR: '0', ...extra };
}

function sh(command: string, cwd: string, extra: Record<string, string> = {}): Run {
  const start = performance.now();
  const r = spawnSync('sh', ['-c', command], { cwd, env: userEnv(extra), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 8 * 60_000 });
  const seconds = (performance.now() - start) / 1000;
  // eslint-disable-next-line no-control-regex
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.replace(/\x1b\[[0-9;]*m/g, '');
  return { status: r.status, stdout: r.stdout ?? '', output, seconds };
}

/** {@link sh} without blocking, so that independent steps (the two type checks) overlap. */
function shAsync(command: string, cwd: string): Promise<Run> {
  const start = performance.now();
  return new Promise((done, fail) => {
    const child = spawn('sh', ['-c', command], { cwd, env: userEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, output: `${stdout}${stderr}`, seconds: (performance.now() - start) / 1000 }));
  });
}

function ok(run: Run, what: string): Run {
  if (run.status !== 0) throw new Error(`${what} exited ${run.status}:\n${run.output.slice(-6000)}`);
  return run;
}

const blocks: ReadmeBlock[] = readmeBlocks(readFileSync(join(repo, 'README.md'), 'utf8'));
const fileBlocks = blocks.filter((b) => b.kind === 'file');
const specBlock = fileBlocks.find((b) => b.path === 'specs/resnet20-base.spec.ts');
// The README's other specs ("Your own model": an ONNX model) run in the same `npx vitest run`.
const otherSpecs = fileBlocks.filter((b) => b.path!.endsWith('.spec.ts') && b !== specBlock);
const thresholdsBlock = fileBlocks.find((b) => b.path === 'robustness.thresholds.json');
const ciSteps = workflowRunSteps(onlyBlock(blocks, 'ci-job').text);

let work: string;
let project: string;

beforeAll(() => {
  if (!existsSync(cifar10Dir)) throw new Error(`The README test needs CIFAR-10 at ${cifar10Dir}: set CIFAR10_DIR to the JPEG class folders, or put the shared copy at ../shared/datasets/cifar10-jpeg beside the checkout.`);
  work = mkdtempSync(join(tmpdir(), 'vitest-robustness-e2e-'));

  // npm pack from a copy of the package's sources, so that `prepare` builds a fresh dist/ there
  // (what a publish does) without rewriting this checkout's dist/ under other running tests.
  const stage = join(work, 'package');
  mkdirSync(stage);
  const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { files: string[] };
  const shipped = pkg.files.filter((f) => !f.startsWith('!') && f !== 'dist');
  for (const f of ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', ...shipped]) cpSync(join(repo, f), join(stage, f), { recursive: true });
  symlinkSync(join(repo, 'node_modules'), join(stage, 'node_modules'), 'dir');
  const pack = ok(sh(`npm pack --json --pack-destination ${JSON.stringify(work)}`, stage), 'npm pack');
  const tarball = join(work, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename);
  console.log(`[e2e] npm pack: ${pack.seconds.toFixed(0)} s`);

  project = join(work, 'project');
  mkdirSync(project);
  ok(sh('npm init -y', project), 'npm init');
  // "Your model folder": the spec loads models/resnet20-base.
  mkdirSync(join(project, 'models/resnet20-base'), { recursive: true });
  for (const f of ['model.json', 'weights.bin', 'card.json']) cpSync(join(model, f), join(project, 'models/resnet20-base', f));
  // "A PyTorch model saved as models/my-net.onnx": the ResNet ONNX fixture (its card is a README block).
  cpSync(join(repo, 'fixtures/onnx/resnet.onnx'), join(project, 'models/my-net.onnx'));
  for (const b of fileBlocks) {
    mkdirSync(dirname(join(project, b.path!)), { recursive: true });
    writeFileSync(join(project, b.path!), b.text);
  }

  const install = onlyBlock(blocks, 'install').text.trim().split('\n');
  for (const line of install) {
    if (!/\bvitest-robustness\b/.test(line)) throw new Error(`README install block: '${line}' does not name vitest-robustness; the test replaces that name with the packed tarball.`);
    const command = `${line.replace(/\bvitest-robustness\b/, JSON.stringify(tarball))} --prefer-offline --no-audit --no-fund`;
    const run = ok(sh(command, project), `README install command '${line}'`);
    console.log(`[e2e] ${line}: ${run.seconds.toFixed(0)} s`);
  }
});

afterAll(() => {
  if (work && !process.env.ROBUSTNESS_E2E_KEEP) rmSync(work, { recursive: true, force: true });
  else if (work) console.log(`[e2e] kept ${work}`);
});

describe("the README's user project, from the packed tarball", () => {
  it('has the blocks it needs in the README', () => {
    expect(fileBlocks.map((b) => b.path)).toEqual(expect.arrayContaining(['vitest.config.ts', 'tsconfig.json', 'robustness.thresholds.json']));
    expect(specBlock, 'a <!-- e2e: file specs/resnet20-base.spec.ts --> block').toBeDefined();
    expect(ciSteps).toEqual(expect.arrayContaining(['npx vitest run']));
    console.log(`[e2e] README blocks run: ${blocks.map((b) => `${b.kind}${b.path ? ` ${b.path}` : ''} (line ${b.line})`).join('; ')}`);
  });

  it('ships sourcemaps whose sources are in the package', () => {
    const pkg = join(project, 'node_modules/vitest-robustness');
    const maps = (readdirSync(join(pkg, 'dist'), { recursive: true }) as string[]).filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(10);
    const missing = maps.flatMap((m) => {
      const map = JSON.parse(readFileSync(join(pkg, 'dist', m), 'utf8')) as { sources: string[] };
      return map.sources.map((s) => resolve(dirname(join(pkg, 'dist', m)), s)).filter((s) => !existsSync(s));
    });
    expect(missing).toEqual([]);
  });

  it("type-checks the README's files with its tsconfig, and a spec that imports only from 'vitest' sees the matchers typed", async () => {
    const tsc = `node ${JSON.stringify(join(repo, 'node_modules/typescript/bin/tsc'))}`;
    // Test-authored: the matchers through a bare `expect`, with compile errors where a name is wrong.
    writeFileSync(
      join(project, 'types-only-vitest.ts'),
      `import { type Assertion, expect, it } from 'vitest';

type Model = Parameters<Assertion['toResistAttack']>[0];
declare const model: Model;
declare const samples: unknown;

it('types', async () => {
  await expect(samples).toResistAttack(model, 'pgd', 1 / 255, { minAccuracy: 0.2, params: { steps: 20, randomStart: false } });
  await expect(samples).not.toResistAttack(model, 'fgsm', 8 / 255, { maxSuccessRate: 0.5, params: { seed: 3 } });
  // @ts-expect-error 'pgdd' is not an attack
  await expect(samples).toResistAttack(model, 'pgdd', 1 / 255, { minAccuracy: 0.2 });
  // @ts-expect-error pgd has no parameter 'stpes'
  await expect(samples).toResistAttack(model, 'pgd', 1 / 255, { minAccuracy: 0.2, params: { stpes: 10 } });
  // @ts-expect-error fgsm takes no steps
  await expect(samples).toResistAttack(model, 'fgsm', 1 / 255, { minAccuracy: 0.2, params: { steps: 10 } });
  // @ts-expect-error eps is the matcher's argument, not a parameter
  await expect(samples).toResistAttack(model, 'pgd', 1 / 255, { minAccuracy: 0.2, params: { eps: 0.5 } });
  await expect(samples).toHaveStableAttribution(model, 'gradcam', 0.5, { maxSSD: 25 });
});
`,
    );
    writeFileSync(join(project, 'tsconfig.only-vitest.json'), JSON.stringify({ extends: './tsconfig.json', include: ['types-only-vitest.ts', 'vitest.config.ts'] }));
    const [readme, only] = await Promise.all([shAsync(`${tsc} -p tsconfig.json`, project), shAsync(`${tsc} -p tsconfig.only-vitest.json`, project)]);
    ok(readme, "tsc on the README's tsconfig.json");
    expect(only.output).toBe('');
    expect(only.status).toBe(0);
  });

  describe("the README's CI job", () => {
    const runs: Record<string, Run> = {};

    it("runs every step it can, in order, with CI=true as GitHub Actions sets it", () => {
      for (const step of ciSteps) {
        if (CI_STEPS_NOT_RUN[step]) {
          console.log(`[e2e] CI step not run: ${step} (${CI_STEPS_NOT_RUN[step]})`);
          continue;
        }
        const run = sh(step, project, { CI: 'true' });
        runs[step] = run;
        console.log(`[e2e] CI step: ${step}: exit ${run.status}, ${run.seconds.toFixed(1)} s`);
        expect(run.status, `${step}\n${run.output.slice(-6000)}`).toBe(0);
      }
    });

    it('ran the spec on wasm with our kernels, once announced, with no timeouts and no tfjs banner', () => {
      const run = runs['npx vitest run']!;
      expect(run, 'the CI job runs `npx vitest run`').toBeDefined();
      console.log(`[e2e] the user run (npx vitest run, ${specBlock!.path}): ${run.seconds.toFixed(1)} s wall`);
      const announced = run.output.split('\n').filter((l) => l.startsWith('[vitest-robustness] tfjs backend:'));
      expect(announced).toHaveLength(1);
      expect(announced[0]).toMatch(/^\[vitest-robustness\] tfjs backend: wasm from @tensorflow\/tfjs-backend-wasm/);
      expect(run.output).not.toMatch(/timed out/i);
      expect(run.output).not.toMatch(/running TensorFlow\.js in Node\.js/);
      expect(run.output).not.toMatch(/Sourcemap for .* points to missing source files/);
      const tests = [specBlock!, ...otherSpecs].reduce((n, b) => n + (b.text.match(/\bit\(/g) ?? []).length, 0);
      expect(run.output).toMatch(new RegExp(`Tests\\s+${tests} passed \\(${tests}\\)`));
    });

    it('wrote reports/robustness.json naming the wasm backend for every check', () => {
      const report = JSON.parse(readFileSync(join(project, 'reports/robustness.json'), 'utf8')) as { records: { backend: string; pass: boolean; n: number; model: string; method: string; value: number }[] };
      const checks = [specBlock!, ...otherSpecs].reduce((n, b) => n + (b.text.match(/await expect\(/g) ?? []).length, 0);
      expect(report.records).toHaveLength(checks);
      for (const r of report.records) {
        expect(r.backend).toBe('wasm');
        expect(r.pass).toBe(true);
      }
      expect(report.records.filter((r) => r.model === 'resnet20-base')).toHaveLength((specBlock!.text.match(/await expect\(/g) ?? []).length);
      expect(report.records.filter((r) => r.model === 'my-net')).toHaveLength(otherSpecs.reduce((n, b) => n + (b.text.match(/await expect\(/g) ?? []).length, 0));
      console.log(`[e2e] measured: ${report.records.map((r) => `${r.method} ${r.value.toFixed(3)} (n=${r.n})`).join(', ')}`);
      expect(existsSync(join(project, 'reports/index.html'))).toBe(true);
    });

    it('gate: exit 0 when every rule holds (the step above), exit 1 naming a breached rule or a rule with no measurement', () => {
      const thresholds = JSON.parse(thresholdsBlock!.text) as { rules: { model: string; min?: number; max?: number }[] };
      const strict = { rules: thresholds.rules.map((r) => (r.min !== undefined ? { ...r, min: 0.99 } : r)) };
      writeFileSync(join(project, 'strict.thresholds.json'), JSON.stringify(strict));
      const breached = sh('npx robustness gate --report reports/robustness.json --thresholds strict.thresholds.json', project);
      expect(breached.status).toBe(1);
      expect(breached.output).toMatch(/resnet20-base robustAccuracy \(pgd\): 0\.\d+ < min 0\.99/);
      writeFileSync(join(project, 'missing.thresholds.json'), JSON.stringify({ rules: [{ model: 'no-such-model', metric: 'robustAccuracy', min: 0.1 }] }));
      const missing = sh('npx robustness gate --report reports/robustness.json --thresholds missing.thresholds.json', project);
      expect(missing.status).toBe(1);
      expect(missing.output).toMatch(/no-such-model robustAccuracy: no measurement/);
    });
  });

  it("fails with the matcher's message where the README spec's threshold does not hold", () => {
    // Test-authored: the README spec with every minAccuracy raised to 0.99, run for its first test.
    const strict = specBlock!.text.replace(/minAccuracy: [0-9.]+/g, 'minAccuracy: 0.99');
    expect(strict).not.toBe(specBlock!.text);
    writeFileSync(join(project, 'specs/strict.spec.ts'), strict);
    const first = /\bit\('([^']+)'/.exec(strict)![1]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const run = sh(`npx vitest run specs/strict.spec.ts -t '${first.replace(/'/g, `'\\''`)}'`, project, { CI: 'true' });
    rmSync(join(project, 'specs/strict.spec.ts'));
    expect(run.status, run.output.slice(-4000)).toBe(1);
    expect(run.output).toMatch(/expected the model to resist: robust accuracy under \w+ \(.*\) was 0\.\d+ \[95% CI [0-9.]+, [0-9.]+\] on n=100; threshold >= 0\.99/);
    expect(run.output).toMatch(/Tests\s+1 failed/);
  });

  it('fails a test that forgets to await its matcher with a message that says so, and runs the rest of the file (on the forced cpu backend, without its banner)', () => {
    // Test-authored: the mistake the README warns about, on the cpu backend by ROBUSTNESS_BACKEND.
    writeFileSync(
      join(project, 'specs/forgot-await.spec.ts'),
      `import { afterAll, expect, it } from 'vitest';
import { cifar10, loadModel } from 'vitest-robustness';

const model = await loadModel('models/resnet20-base');
const samples = await cifar10.test({ count: 10, seed: 1 });
afterAll(() => {
  samples.dispose();
  model.dispose();
});

it('forgets to await its matcher', () => {
  expect(samples).toResistAttack(model, 'fgsm', 1 / 255, { minAccuracy: 0 });
});

it('runs after it', () => {
  expect(1 + 1).toBe(2);
});
`,
    );
    const run = sh('npx vitest run specs/forgot-await.spec.ts', project, { ROBUSTNESS_BACKEND: 'cpu' });
    rmSync(join(project, 'specs/forgot-await.spec.ts'));
    expect(run.status, run.output.slice(-4000)).toBe(1);
    expect(run.output).toContain('expect(...).toResistAttack(...) was not awaited. Robustness matchers are asynchronous: write `await expect(...).toResistAttack(...)`.');
    expect(run.output).toMatch(/specs\/forgot-await\.spec\.ts:12/);
    expect(run.output).not.toMatch(/Worker exited unexpectedly/);
    expect(run.output).toMatch(/Tests\s+1 failed \| 1 passed \(2\)/);
    expect(run.output).toMatch(/\[vitest-robustness\] tfjs backend: cpu from @tensorflow\/tfjs-backend-cpu \(forced by ROBUSTNESS_BACKEND\)/);
    expect(run.output).not.toMatch(/running TensorFlow\.js in Node\.js/);
  });
});
