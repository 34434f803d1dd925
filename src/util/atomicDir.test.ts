import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic.js';
import { recoverDir, replaceDir, replaceDirSteps } from './atomicDir.js';

const root = mkdtempSync(join(tmpdir(), 'atomic-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every file under `dir`, relative path to content. */
function tree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) Object.assign(out, tree(join(dir, e.name), `${prefix}${e.name}/`));
    else out[`${prefix}${e.name}`] = readFileSync(join(dir, e.name), 'utf8');
  }
  return out;
}

/** The id of a process that has exited, as a killed writer's is. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

const MODEL = { marker: 'model.json', what: 'a model folder', drop: ['model.json', 'weights.bin', 'optimizer.json'] };
const oldFiles = { 'model.json': 'old model', 'weights.bin': 'old weights', 'optimizer.json': 'old moments', 'notes.txt': 'mine', 'plots/a.txt': 'plot' };
const newFiles = { 'model.json': 'new model', 'weights.bin': 'new weights' };
const oldTree = oldFiles;
const newTree = { ...newFiles, 'notes.txt': 'mine', 'plots/a.txt': 'plot' };

function makeOld(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'plots'), { recursive: true });
  for (const [name, text] of Object.entries(oldFiles)) writeFileSync(join(dir, name), text);
}

const siblings = (dir: string) => readdirSync(join(dir, '..')).filter((n) => n.startsWith(`${dir.split('/').pop()}.`));

describe('replaceDir', () => {
  it('refuses a non-empty folder that is not ours, and leaves every file in it', () => {
    const project = join(root, 'project');
    mkdirSync(join(project, 'src'), { recursive: true });
    writeFileSync(join(project, 'package.json'), '{}');
    writeFileSync(join(project, 'src', 'index.ts'), 'code');
    expect(() => replaceDir(project, newFiles, MODEL)).toThrow(/holds other files \(package\.json, src\) and is not a model folder; nothing was written/);
    expect(tree(project)).toEqual({ 'package.json': '{}', 'src/index.ts': 'code' });
    expect(siblings(project)).toEqual([]);
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    expect(() => replaceDir(file, newFiles, MODEL)).toThrow(/is a file, not a model folder/);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('replaces our files, retires the dropped ones, and keeps everything else, subfolders included', () => {
    const dir = join(root, 'keep');
    makeOld(dir);
    replaceDir(dir, newFiles, MODEL);
    expect(tree(dir)).toEqual(newTree);
    expect(siblings(dir)).toEqual([]);
    // An empty or missing folder is fine.
    const fresh = join(root, 'fresh', 'model');
    replaceDir(fresh, newFiles, MODEL);
    expect(tree(fresh)).toEqual(newFiles);
  });

  it('a kill after any step leaves the whole old folder or the whole new one once recovered, and no temp folders', () => {
    const { steps } = replaceDirSteps(join(root, 'probe'), newFiles, MODEL);
    expect(steps.map((s) => s.name)).toEqual([
      'write the new files into a temp folder',
      "copy the old folder's other entries into it",
      'move the old folder aside',
      'move the new folder in',
      'remove the old folder',
    ]);
    const seen: string[] = [];
    for (let k = 0; k <= steps.length; k++) {
      const dir = join(root, `crash-${k}`);
      makeOld(dir);
      const plan = replaceDirSteps(dir, newFiles, MODEL);
      for (const step of plan.steps.slice(0, k)) step.run();
      // This process stands in for the killed one: every leftover counts as a dead writer's.
      recoverDir(dir, () => false);
      const after = tree(dir);
      expect([oldTree, newTree]).toContainEqual(after);
      seen.push(after['model.json']!);
      expect(siblings(dir)).toEqual([]);
    }
    // Killed before the new folder is in: the old one; after: the new one.
    expect(seen).toEqual(['old model', 'old model', 'old model', 'old model', 'new model', 'new model']);
  });

  it('leaves the leftovers of a live writer alone', () => {
    const dir = join(root, 'live');
    makeOld(dir);
    const plan = replaceDirSteps(dir, newFiles, MODEL);
    for (const step of plan.steps.slice(0, 3)) step.run();
    expect(existsSync(dir)).toBe(false);
    recoverDir(dir); // this process is alive: its swap may be under way
    expect(existsSync(dir)).toBe(false);
    plan.steps[3]!.run();
    plan.steps[4]!.run();
    expect(tree(dir)).toEqual(newTree);
  });

  it('a real process killed with SIGKILL between the two renames: the next start puts the old folder back', async () => {
    const dir = join(root, 'sigkill');
    makeOld(dir);
    const ready = join(root, 'sigkill-ready');
    const script = join(root, 'swap-and-hang.mts');
    writeFileSync(
      script,
      `import { writeFileSync } from 'node:fs';
import { replaceDirSteps } from ${JSON.stringify(fileURLToPath(new URL('./atomicDir.ts', import.meta.url)))};
const { steps } = replaceDirSteps(${JSON.stringify(dir)}, ${JSON.stringify(newFiles)}, ${JSON.stringify(MODEL)});
for (const step of steps.slice(0, 3)) step.run();
writeFileSync(${JSON.stringify(ready)}, 'aside');
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    try {
      const deadline = Date.now() + 60_000;
      while (!existsSync(ready) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(existsSync(ready)).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
    await exited;
    expect(existsSync(dir)).toBe(false);
    expect(siblings(dir).map((n) => n.replace(/\.\d+\.[0-9a-f]{8}\./, '.PID.HEX.')).sort()).toEqual(['sigkill.PID.HEX.old', 'sigkill.PID.HEX.tmp']);
    expect(recoverDir(dir)).toBe(true);
    expect(tree(dir)).toEqual(oldTree);
    expect(siblings(dir)).toEqual([]);
    // And the next replacement goes through.
    replaceDir(dir, newFiles, MODEL);
    expect(tree(dir)).toEqual(newTree);
  });

  it('a failed write (here: a file name that cannot be created) leaves the old folder and no temp folder', () => {
    const dir = join(root, 'failing');
    makeOld(dir);
    expect(() => replaceDir(dir, { ...newFiles, 'no/such/sub/file': 'x' }, MODEL)).toThrow(/ENOENT/);
    expect(tree(dir)).toEqual(oldTree);
    expect(siblings(dir)).toEqual([]);
  });
});

describe('temp files left by a killed writer', () => {
  it('are removed by the next write of the same path; a live writer\'s are kept', () => {
    const dir = join(root, 'temps');
    mkdirSync(dir);
    const path = join(dir, 'report.json');
    const dead = `${path}.${deadPid()}.0badc0de.tmp`;
    const live = `${path}.${process.pid}.0123abcd.tmp`;
    const other = join(dir, 'other.json.1.0123abcd.tmp');
    for (const p of [dead, live, other]) writeFileSync(p, 'half');
    writeFileAtomic(path, 'whole');
    expect(readFileSync(path, 'utf8')).toBe('whole');
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
  });

  it('a write also removes the dead writers\' temps of other files in its folder (a matched snapshot is never written again), but no moved-aside model', () => {
    const dir = join(root, 'snapshots');
    mkdirSync(dir);
    const pid = deadPid();
    const orphan = join(dir, `matched.png.${pid}.0badc0de.tmp`);
    const aside = join(dir, `model.${pid}.0badc0de.old`);
    writeFileSync(orphan, 'half');
    mkdirSync(aside);
    writeFileAtomic(join(dir, 'new.png'), 'png');
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(aside)).toBe(true);
  });

  it('temp folders of a killed folder replacement are removed by the next one', () => {
    const dir = join(root, 'staged');
    makeOld(dir);
    const pid = deadPid();
    mkdirSync(`${dir}.${pid}.0badc0de.tmp`);
    writeFileSync(`${dir}.${pid}.0badc0de.tmp/model.json`, 'half');
    replaceDir(dir, newFiles, MODEL);
    expect(siblings(dir)).toEqual([]);
    expect(tree(dir)).toEqual(newTree);
  });
});
