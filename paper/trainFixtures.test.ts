// paper/train-fixtures.sh, run on a stand-in workbench: a lock left by a training that died (a
// session that ended, a machine that stopped) must not keep its model from being resumed, and a lock
// whose training is still running must be respected.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./train-fixtures.sh', import.meta.url));
const NAME = 'mobilenet-l2-at';

// finished <dir>: only NAME is unfinished, until a training of it has run. Any other command is a
// training (or compact): it records its arguments and marks its --out as finished.
const STUB = `#!/usr/bin/env bash
state=$(dirname "$0")
if [ "$1" = finished ]; then
  [ "$(basename "$2")" != ${NAME} ] || [ -f "$state/${NAME}.done" ]; exit $?
fi
echo "$*" >> "$state/calls"
out=$(sed -nE 's/.*--out ([^ ]+).*/\\1/p' <<< "$*")
[ -n "$out" ] && touch "$state/$(basename "$out").done"
exit 0
`;

let dir = '';
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function setUp(): { stub: string; locks: string; calls: string } {
  dir = mkdtempSync(join(tmpdir(), 'train-fixtures-'));
  const stub = join(dir, 'workbench-stand-in');
  writeFileSync(stub, STUB);
  chmodSync(stub, 0o755);
  mkdirSync(join(dir, 'tmp'));
  return { stub, locks: join(dir, 'tmp', 'vitest-robustness-train-locks'), calls: join(dir, 'calls') };
}

function run(stub: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn('bash', [script, NAME], {
    env: {
      ...process.env,
      TRAIN_WORKBENCH: stub,
      TRAIN_RUNNING_PATTERN: `${stub} (train|adv-train)`, // the machine's own trainings do not take the slots
      TRAIN_POLL_S: '1',
      TMPDIR: join(dir, 'tmp'),
      LOG_DIR: join(dir, 'logs'),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

/** The pid of a process that has ended. */
function deadPid(): number {
  const r = spawnSync('bash', ['-c', 'echo $$']);
  return Number(String(r.stdout).trim());
}

describe('train-fixtures.sh locks', () => {
  it('clears the lock of a training that is gone and resumes the model', async () => {
    const { stub, locks, calls } = setUp();
    mkdirSync(join(locks, NAME), { recursive: true });
    writeFileSync(join(locks, NAME, 'pid'), `${deadPid()}\n`);
    const { code, stderr } = await run(stub);
    expect(code).toBe(0);
    expect(stderr).toMatch(new RegExp(`clearing the stale lock of ${NAME}`));
    expect(stderr).toMatch(/all fixtures finished/);
    const lines = readFileSync(calls, 'utf8').trim().split('\n');
    expect(lines.filter((l) => l.startsWith('adv-train'))).toHaveLength(1);
    expect(lines[0]).toContain(`--out fixtures/models/${NAME}`);
    expect(existsSync(join(locks, NAME))).toBe(false);
  }, 60_000);

  it('leaves the lock of a running training alone until that training ends', async () => {
    const { stub, locks, calls } = setUp();
    const holder = spawn('sleep', ['600']);
    children.push(holder);
    mkdirSync(join(locks, NAME), { recursive: true });
    writeFileSync(join(locks, NAME, 'pid'), `${holder.pid}\n`);
    const done = run(stub);
    await new Promise((r) => setTimeout(r, 4000)); // about four looks at the locks
    expect(existsSync(calls)).toBe(false);
    expect(existsSync(join(locks, NAME))).toBe(true);
    holder.kill('SIGKILL');
    const { code, stderr } = await done;
    expect(code).toBe(0);
    expect(stderr).toMatch(new RegExp(`clearing the stale lock of ${NAME}`));
    expect(readFileSync(calls, 'utf8')).toMatch(/^adv-train /);
  }, 60_000);
});
