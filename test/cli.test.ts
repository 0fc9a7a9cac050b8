// The pidfd command, run as a user runs it: `node dist/cli.js …` on real processes, with exit
// codes, stdout and stderr checked.
import { execFile, spawn as cpSpawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as pidfd from '../dist/index.mjs';
import { parseDuration } from '../dist/cli/args.js';
import { helper } from './helpers/build';
import { lacks } from './environment';
import { pidfdsHeldBy, procState, root, settledWithin, sleep, startStranger, until } from './support';


const bin = path.join(root, 'dist', 'cli.js');
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
/** Exit records for processes that are not our children (Linux 6.15). */
const { exitInfo } = pidfd.features;
const NO_PID = 2 ** 31 - 1; // never exists: pid_max is at most 4194304

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `pidfd ARGS…` and collects its exit status and output. */
function cli(args: string[], options: { prefix?: string[] } = {}): Promise<CliResult> {
  const command = [...(options.prefix ?? []), process.execPath, bin, ...args];
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(command[0], command.slice(1), { timeout: 120_000 }, (error, stdout, stderr) => {
      const e = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
      const code = e ? (typeof e.code === 'number' ? e.code : null) : 0;
      resolve({ code, signal: e?.signal ?? null, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/**
 * Starts `pidfd ARGS…` and resolves `watching` once it holds pidfds for all of `pids` (or has
 * exited): a test ends its subjects only then, so none is gone before the command opens it,
 * however slow the machine.
 */
function startCli(args: string[], pids: number[] = []) {
  const started = performance.now();
  const run = cpSpawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(run);
  let stdout = '';
  let stderr = '';
  run.stdout!.on('data', (d) => (stdout += d));
  run.stderr!.on('data', (d) => (stderr += d));
  const done = once(run, 'exit').then(([code, signal]): CliResult => ({ code, signal, stdout, stderr, ms: performance.now() - started }));
  let exited = false;
  void done.then(() => (exited = true));
  const watching = until(() => exited || pids.every((pid) => pidfdsHeldBy(run.pid!).includes(pid)), `pidfd ${args[0]} to open ${pids}`);
  return { done, watching, stdout: () => stdout };
}

const jsonLines = (text: string) => text.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
const lastLine = (text: string) => text.trim().split('\n').at(-1)!;

// Processes a test starts; each is SIGKILLed afterwards if still there.
const strangers: number[] = [];
const children: ChildProcess[] = [];
function stranger(command = 'sleep 1000'): number {
  const pid = startStranger(command);
  strangers.push(pid);
  return pid;
}
/** A child of ours that has printed `ready` (and what it printed so far). */
async function started(file: string, args: string[], extraPipes = 0): Promise<{ child: ChildProcess; output: () => string }> {
  const child = cpSpawn(file, args, { stdio: ['ignore', 'pipe', 'inherit', ...Array(extraPipes).fill('pipe')] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  await until(() => output.includes('ready'), 'ready');
  return { child, output: () => output };
}
/** bash running script; its fds 3, 4… are pipes from us (`read x <&3` waits for release(3)). */
const bashChild = (script: string, extraPipes = 0) => started('bash', ['-c', script], extraPipes);
const release = (child: ChildProcess, fd: number) => (child.stdio[fd] as NodeJS.WritableStream).end('go\n');
/** A zombie that is not our child: the zombie helper's child, never reaped while it lives. */
async function zombie(): Promise<number> {
  const { output } = await started(helper('zombie'), ['1']);
  const pid = Number(output().split('\n')[0]);
  await until(() => procState(pid) === 'Z', 'a zombie');
  return pid;
}
afterEach(() => {
  for (const pid of strangers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** The pidfs inode of a process, as the library sees it. */
function inodeOf(pid: number): number {
  const handle = pidfd.open(pid);
  try {
    return handle.inode!;
  } finally {
    handle.close();
  }
}

describe('pidfd', () => {
  it('is a node script with a shebang', () => {
    expect(fs.readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('--version prints the package version', async () => {
    for (const flag of ['--version', '-V']) {
      expect(await cli([flag])).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  it('--help lists the commands', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['wait', 'run', 'info', 'kill']) expect(result.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it.each(['wait', 'run', 'info', 'kill'])('%s --help prints its usage', async (command) => {
    const result = await cli([command, '--help']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(new RegExp(`^Usage: pidfd ${command} `));
    expect((await cli(['help', command])).stdout).toBe(result.stdout);
    expect((await cli([command, '-h'])).stdout).toBe(result.stdout);
  });

  it('fails with the usage when no command or an unknown one is given', async () => {
    const none = await cli([]);
    expect(none).toMatchObject({ code: 1, stdout: '' });
    expect(none.stderr).toMatch(/^Usage: pidfd COMMAND/);
    expect(await cli(['frobnicate'])).toMatchObject({ code: 1, stderr: "pidfd: unknown command 'frobnicate'\nTry 'pidfd --help'.\n" });
  });
});

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['3', 3000],
    ['1.5', 1500],
    ['.25s', 250],
    ['0.0001', 1],
    ['0', 0],
    ['0ms', 0],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text, '--timeout')).toBe(ms);
  });

  it.each(['', '-1', '1x', '1 s', 's', '1.2.3', '1e3', '0x10', '25d', 'Infinity'])('%j is refused', (text) => {
    expect(() => parseDuration(text, '--timeout')).toThrow(/--timeout/);
  });
});

describe('pidfd wait', () => {
  it('waits until every process has exited, and exits 0', async () => {
    const a = stranger();
    const b = stranger();
    const run = startCli(['wait', String(a), String(b)], [a, b]);
    await run.watching;
    process.kill(a, 'SIGKILL');
    await until(() => procState(a) === null, 'the first to be gone');
    expect(await settledWithin(run.done, 200)).toBe('pending'); // the second still runs
    process.kill(b, 'SIGKILL');
    expect(await run.done).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('returns at once for a zombie (it has exited)', async () => {
    const pid = await zombie();
    expect(procState(pid)).toBe('Z');
    expect(await cli(['wait', '--timeout', '5s', String(pid)])).toMatchObject({ code: 0, stderr: '' });
  });

  it('--count N returns once N of the processes have exited', async () => {
    const a = stranger();
    const b = stranger();
    const run = startCli(['wait', '--count', '1', '--json', String(a), String(b)], [a, b]);
    await run.watching;
    process.kill(a, 'SIGKILL');
    const result = await run.done;
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(jsonLines(result.stdout).map((exit) => exit.pid)).toEqual([a]);
    expect(procState(b)).toBe('S');
  });

  it('--count above the number of processes is an error', async () => {
    const result = await cli(['wait', '-c', '3', '1', '2']);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toBe("pidfd wait: cannot wait for 3 of 2 processes\nTry 'pidfd wait --help'.\n");
  });

  it('fails for a pid that does not exist, without waiting for the others', async () => {
    const live = stranger();
    const result = await cli(['wait', String(live), String(NO_PID)]);
    expect(result).toMatchObject({ code: 1, stdout: '', stderr: `pidfd wait: ${NO_PID}: no such process\n` });
    expect(procState(live)).toBe('S');
  });

  it('--exited counts a process that is already gone as exited', async () => {
    const live = stranger();
    const run = startCli(['wait', '--exited', '--json', String(NO_PID), String(live)], [live]);
    await run.watching;
    process.kill(live, 'SIGKILL');
    const result = await run.done;
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const [gone, exited] = jsonLines(result.stdout);
    expect(gone).toEqual({ pid: NO_PID, inode: null, code: null, signal: null, coreDumped: false, alreadyExited: true, elapsedMs: expect.any(Number) });
    expect(exited).toMatchObject({ pid: live, inode: pidfd.features.inode ? expect.any(Number) : null, alreadyExited: false });
    expect(exited.elapsedMs).toBeGreaterThan(gone.elapsedMs);
  });

  it('--exited with only gone processes exits 0 at once', async () => {
    expect(await cli(['wait', '-e', String(NO_PID), String(NO_PID - 1)])).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it.each([['300ms'], ['0.3']])('--timeout %s exits 3 with the processes still running', async (timeout) => {
    const a = stranger();
    const b = stranger();
    const result = await cli(['wait', '--timeout', timeout, String(a), String(b)]);
    expect(result).toMatchObject({ code: 3, stdout: '' });
    expect(result.stderr).toBe(`pidfd wait: timed out after 0.3s; still running: ${a}, ${b}\n`);
    expect(result.ms).toBeGreaterThanOrEqual(300);
    expect(procState(a)).toBe('S'); // it did not wait for them
  });

  it('--timeout 0 never times out', async () => {
    const pid = stranger();
    const run = startCli(['wait', '--timeout', '0', String(pid)], [pid]);
    await run.watching;
    expect(await settledWithin(run.done, 300)).toBe('pending');
    process.kill(pid, 'SIGKILL');
    expect(await run.done).toMatchObject({ code: 0, stderr: '' });
  });

  it('--verbose prints each exit as it happens, with the code where the kernel tells', async () => {
    // bash reaps its subshells, so the exit record (Linux 6.15) has the code.
    // Each subshell waits for its line (fds 3 and 4): a exits first, then b.
    const { child, output } = await bashChild('(read x <&3; exit 7) & echo $!; (read x <&4; kill -USR1 $BASHPID) & echo $!; echo ready; wait', 2);
    const [a, b] = output().split('\n').map(Number);
    const run = startCli(['wait', '--verbose', String(a), String(b)], [a, b]);
    await run.watching;
    release(child, 3);
    await until(() => run.stdout().includes('\n'), 'the first exit to be printed');
    release(child, 4);
    const result = await run.done;
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    const seconds = '\\d+(\\.\\d+)?s';
    if (exitInfo) {
      expect(lines[0]).toMatch(new RegExp(`^${a}: exited with code 7 after ${seconds}$`));
      expect(lines[1]).toMatch(new RegExp(`^${b}: killed by SIGUSR1 after ${seconds}$`));
    } else {
      expect(lines[0]).toMatch(new RegExp(`^${a}: exited after ${seconds}$`));
      expect(lines[1]).toMatch(new RegExp(`^${b}: exited after ${seconds}$`));
    }
  });

  it('--json prints one object per exit', async () => {
    const { child, output } = await bashChild('(read x <&3; exit 7) & echo $!; echo ready; wait', 1);
    const pid = Number(output().split('\n')[0]);
    const inode = inodeOf(pid); // null without pidfs (Linux < 6.9)
    const run = startCli(['wait', '--json', '--verbose', String(pid)], [pid]);
    await run.watching;
    release(child, 3);
    const result = await run.done;
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const [exit] = jsonLines(result.stdout);
    expect(exit).toEqual({
      pid,
      inode,
      code: exitInfo ? 7 : null,
      signal: null,
      coreDumped: false,
      alreadyExited: false,
      elapsedMs: expect.any(Number),
    });
  });

  it.skipIf(lacks('inode'))('waits for PID:INODE when the inode matches, and refuses it when not', async () => {
    const pid = stranger();
    const inode = inodeOf(pid);
    const wrong = await cli(['wait', `${pid}:${inode + 1}`]);
    expect(wrong).toMatchObject({ code: 1, stdout: '' });
    expect(wrong.stderr).toBe(`pidfd wait: ${pid}:${inode + 1}: no such process (pid ${pid} now belongs to another process, inode ${inode})\n`);
    const run = startCli(['wait', `${pid}:${inode}`], [pid]);
    await run.watching;
    process.kill(pid, 'SIGKILL');
    expect(await run.done).toMatchObject({ code: 0, stderr: '' });
  });

  it.each([
    [[], /^pidfd wait: no processes given$/m],
    [['abc'], /^pidfd wait: invalid process 'abc' \(expected PID or PID:INODE\)$/m],
    [['0'], /invalid process '0'/],
    [['-5'], /unknown option '-5'/],
    [['12:'], /invalid process '12:'/],
    [['12:x'], /invalid process '12:x'/],
    [['2147483648'], /invalid process '2147483648'/],
    [['--timeout', '5x', '1'], /^pidfd wait: invalid duration for --timeout: '5x'/m],
    [['--timeout'], /option '--timeout' needs a value/],
    [['--count', '0', '1'], /invalid --count: '0'/],
    [['--json=yes', '1'], /option '--json' takes no value/],
    [['--frob', '1'], /unknown option '--frob'/],
  ])('%j is a usage error (exit 1)', async (args, message) => {
    const result = await cli(['wait', ...args]);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^Try 'pidfd wait --help'\.$/m);
  });

  it('takes options bundled, with = and after the operands', async () => {
    const pid = stranger();
    const result = await cli(['wait', String(pid), '-ev', `--timeout=200ms`]);
    expect(result).toMatchObject({ code: 3, stderr: `pidfd wait: timed out after 0.2s; still running: ${pid}\n` });
    expect((await cli(['wait', '-t200ms', String(pid)])).code).toBe(3);
  });
});

describe('PID:INODE after a forced pid reuse (pid namespace)', () => {
  it.skipIf(lacks('inode'))('refuses the process that reused the pid: kill sends nothing, wait fails, --exited counts it as exited', async () => {
    const script = `
      P="${process.execPath} ${bin}"
      sleep 1000 & pid=$!
      inode=$($P info --json $pid | sed -E 's/.*"inode":([0-9]+).*/\\1/')
      kill -9 $pid; wait $pid
      for i in $(seq 50); do
        echo $((pid - 1)) > /proc/sys/kernel/ns_last_pid
        sleep 1000 & new=$!
        [ $new = $pid ] && break
        kill -9 $new; wait $new
      done
      echo "reused=$([ $new = $pid ] && echo yes || echo no) pid=$pid inode=$inode now=$($P info --json $pid | sed -E 's/.*"inode":([0-9]+).*/\\1/')"
      $P kill --signal KILL $pid:$inode; echo "kill=$?"
      $P wait $pid:$inode; echo "wait=$?"
      $P wait --exited --json $pid:$inode; echo "exited=$?"
      $P info $pid:$inode; echo "info=$?"
      sleep 0.1
      echo "state=$(cut -d' ' -f3 /proc/$pid/stat)"
      kill -9 $new
    `;
    const result = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile('unshare', ['--pid', '--fork', '--mount-proc', 'bash', '-c', script], { timeout: 120_000 }, (error, stdout, stderr) =>
        error ? reject(Object.assign(error, { stdout, stderr })) : resolve({ stdout, stderr }),
      );
    });
    const { stdout, stderr } = result;
    const [, pid, inode, now] = /reused=yes pid=(\d+) inode=(\d+) now=(\d+)/.exec(stdout) ?? [];
    expect(pid, stdout + stderr).toBeDefined();
    expect(now).not.toBe(inode);
    expect(stdout).toMatch(/^kill=1$/m);
    expect(stdout).toMatch(/^wait=1$/m);
    expect(stdout).toMatch(/^exited=0$/m);
    expect(stdout).toMatch(/^info=1$/m);
    expect(stdout).toMatch(/^state=S$/m); // the process that reused the pid was not killed
    expect(stdout).toContain(`{"pid":${pid},"inode":${inode},"code":null,"signal":null,"coreDumped":false,"alreadyExited":true,`);
    const refused = `${pid}:${inode}: no such process (pid ${pid} now belongs to another process, inode ${now})`;
    const lines = stderr.split('\n');
    for (const command of ['kill', 'wait', 'info']) expect(lines).toContain(`pidfd ${command}: ${refused}`);
  });
});

describe('pidfd kill', () => {
  it('signals through a pidfd (SIGTERM by default, --signal by name or number)', async () => {
    const { child, output } = await bashChild('trap "echo got USR1" USR1; trap "echo got HUP" HUP; echo ready; while :; do sleep 0.02; done');
    const pid = String(child.pid);
    expect(await cli(['kill', '--signal', 'SIGUSR1', pid])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    await until(() => output().includes('got USR1'), 'USR1');
    expect(await cli(['kill', '-s', 'hup', pid])).toMatchObject({ code: 0 });
    await until(() => output().includes('got HUP'), 'HUP');
    expect(await cli(['kill', '-s', '0', pid])).toMatchObject({ code: 0 });
    const exit = once(child, 'exit');
    expect(await cli(['kill', pid])).toMatchObject({ code: 0 });
    expect(await exit).toEqual([null, 'SIGTERM']);
  });

  it('signals every process, and fails for those it cannot', async () => {
    const a = stranger();
    const b = stranger();
    const result = await cli(['kill', '-s', '9', String(a), String(NO_PID), String(b)]);
    expect(result).toMatchObject({ code: 1, stdout: '', stderr: `pidfd kill: ${NO_PID}: no such process\n` });
    await until(() => procState(a) === null && procState(b) === null, 'both killed');
  });

  it.skipIf(lacks('inode'))('refuses a PID:INODE whose inode does not match, and sends nothing', async () => {
    const pid = stranger();
    const inode = inodeOf(pid);
    const result = await cli(['kill', '--signal', 'KILL', `${pid}:${inode + 1}`]);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/now belongs to another process/);
    await sleep(50);
    expect(procState(pid)).toBe('S');
    expect(await cli(['kill', '--signal', 'KILL', `${pid}:${inode}`])).toMatchObject({ code: 0 });
    await until(() => procState(pid) === null, 'killed');
  });

  it('fails for a process that has already exited (a zombie)', async () => {
    const pid = await zombie();
    expect(await cli(['kill', String(pid)])).toMatchObject({ code: 1, stderr: `pidfd kill: ${pid}: the process has already exited\n` });
  });

  it.each([
    [['--signal', 'SIGFROB', '1'], /unknown signal for --signal: 'SIGFROB'/],
    [['--signal', '65', '1'], /unknown signal for --signal: '65'/],
    [[], /no processes given/],
  ])('%j is a usage error (exit 1)', async (args, message) => {
    const result = await cli(['kill', ...args]);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(message);
  });
});

describe('pidfd info', () => {
  it('--json gives ids, cgroup, inode and state', async () => {
    const child = cpSpawn('sleep', ['30']);
    children.push(child);
    await until(() => procState(child.pid!) === 'S', 'sleeping');
    const result = await cli(['info', '--json', String(child.pid)]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(jsonLines(result.stdout)).toEqual([
      {
        pid: child.pid,
        ppid: process.pid,
        uid: os.userInfo().uid,
        euid: os.userInfo().uid,
        gid: os.userInfo().gid,
        egid: os.userInfo().gid,
        cgroupId: expect.any(Number),
        inode: inodeOf(child.pid!),
        state: 'S',
        command: 'sleep',
      },
    ]);
  });

  it('prints a table, and a zombie as Z', async () => {
    const pid = await zombie();
    const result = await cli(['info', String(process.pid), String(pid)]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const [header, self, dead] = result.stdout.trimEnd().split('\n').map((line) => line.split(/\s+/));
    expect(header).toEqual(['PID', 'PPID', 'UID', 'EUID', 'GID', 'EGID', 'CGROUP', 'INODE', 'STATE', 'COMMAND']);
    expect(self.slice(0, 2)).toEqual([String(process.pid), String(process.ppid)]);
    expect(self[8]).toMatch(/^[RS]$/);
    expect(dead[0]).toBe(String(pid));
    expect(dead.slice(8)).toEqual(['Z', 'zombie']);
  });

  it('reports the processes it cannot read and prints the others', async () => {
    const result = await cli(['info', '--json', String(NO_PID), '1']);
    expect(result).toMatchObject({ code: 1, stderr: `pidfd info: ${NO_PID}: no such process\n` });
    expect(jsonLines(result.stdout).map((row) => row.pid)).toEqual([1]);
  });
});

describe('pidfd run', () => {
  it("exits with the command's code, its output going straight to ours", async () => {
    expect(await cli(['run', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'])).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(await cli(['run', 'true'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('leaves the options after COMMAND to the command', async () => {
    expect(await cli(['run', 'sh', '-c', 'echo "$0 $1"', '--json', '-t'])).toMatchObject({ code: 0, stdout: '--json -t\n', stderr: '' });
  });

  it('exits 128+N when signal N killed the command', async () => {
    expect(await cli(['run', 'sh', '-c', 'kill -USR1 $$'])).toMatchObject({ code: 128 + os.constants.signals.SIGUSR1 });
    expect(await cli(['run', 'sh', '-c', 'kill -KILL $$'])).toMatchObject({ code: 137 });
  });

  it('exits 127 for a command not found and 126 for one that cannot be executed', async () => {
    expect(await cli(['run', 'no-such-command-xyz'])).toMatchObject({ code: 127, stderr: 'pidfd run: no-such-command-xyz: command not found\n' });
    expect(await cli(['run', './no/such/file'])).toMatchObject({ code: 127, stderr: 'pidfd run: ./no/such/file: no such file or directory\n' });
    const file = path.join(os.tmpdir(), `pidfd-cli-${process.pid}.sh`);
    fs.writeFileSync(file, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    try {
      expect(await cli(['run', file])).toMatchObject({ code: 126, stderr: `pidfd run: ${file}: permission denied\n` });
    } finally {
      fs.rmSync(file);
    }
    expect(await cli(['run', os.tmpdir()])).toMatchObject({ code: 126 });
  });

  it('--json prints how it ended on stderr, leaving stdout to the command', async () => {
    const result = await cli(['run', '--json', '--', 'sh', '-c', 'echo hello; exit 4']);
    expect(result).toMatchObject({ code: 4, stdout: 'hello\n' });
    expect(JSON.parse(result.stderr)).toEqual({
      pid: expect.any(Number),
      code: 4,
      signal: null,
      coreDumped: false,
      timedOut: false,
      elapsedMs: expect.any(Number),
      exitCode: 4,
    });
  });

  it('--timeout sends SIGTERM at the deadline and exits 124', async () => {
    const result = await cli(['run', '--json', '--timeout', '300ms', 'sleep', '10']);
    expect(result).toMatchObject({ code: 124, stdout: '' });
    const end = JSON.parse(result.stderr);
    expect(end).toMatchObject({ code: null, signal: 'SIGTERM', timedOut: true, exitCode: 124 });
    expect(end.elapsedMs).toBeGreaterThanOrEqual(300); // sleep 10 would have ended with code 0
  });

  it('--signal chooses the signal sent at the deadline', async () => {
    const result = await cli(['run', '--json', '-t', '0.2', '-s', 'INT', 'sleep', '10']);
    expect(result.code).toBe(124);
    expect(JSON.parse(result.stderr)).toMatchObject({ signal: 'SIGINT', timedOut: true });
  });

  it('escalates to SIGKILL --kill-after the signal', async () => {
    // The deadline leaves the shell time to set its trap even on a loaded machine.
    const result = await cli(['run', '--json', '-t', '1s', '-k', '300ms', 'sh', '-c', 'trap "" TERM; sleep 10']);
    expect(result.code).toBe(124);
    const end = JSON.parse(result.stderr);
    expect(end).toMatchObject({ signal: 'SIGKILL', timedOut: true, exitCode: 124 });
    expect(end.elapsedMs).toBeGreaterThanOrEqual(1300);
  });

  it('--kill-after 0 never escalates: the command ends on its own terms, still 124', async () => {
    const script = 'trap "echo term; exit 9" TERM; echo ready; sleep 2; sleep 1';
    const result = await cli(['run', '--json', '-t', '1s', '-k', '0', 'bash', '-c', script]);
    expect(result).toMatchObject({ code: 124, stdout: 'ready\nterm\n' });
    expect(JSON.parse(result.stderr)).toMatchObject({ code: 9, signal: null, timedOut: true });
  });

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('forwards %s to the command', async (signal) => {
    // A node child: bash would skip an INT trap while a foreground command runs.
    const script = `process.on('${signal}', () => { console.log('got ${signal}'); process.exit(5); }); console.log('ready'); setInterval(() => {}, 1000);`;
    const run = cpSpawn(process.execPath, [bin, 'run', '--json', '--', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(run);
    let stdout = '';
    let stderr = '';
    run.stdout!.on('data', (chunk) => (stdout += chunk));
    run.stderr!.on('data', (chunk) => (stderr += chunk));
    const exit = once(run, 'exit');
    await until(() => stdout.includes('ready'), 'ready');
    run.kill(signal);
    const [code] = await exit;
    expect(stdout).toBe(`ready\ngot ${signal}\n`);
    expect(code).toBe(5);
    expect(JSON.parse(lastLine(stderr))).toMatchObject({ code: 5, timedOut: false });
  });

  it('exits 143 when a forwarded SIGTERM kills the command', async () => {
    const run = cpSpawn(process.execPath, [bin, 'run', 'sleep', '30'], { stdio: 'ignore' });
    children.push(run);
    await until(() => fs.readFileSync(`/proc/${run.pid}/task/${run.pid}/children`, 'utf8').trim(), 'the command');
    const [command] = fs.readFileSync(`/proc/${run.pid}/task/${run.pid}/children`, 'utf8').trim().split(' ').map(Number);
    await until(() => fs.readFileSync(`/proc/${command}/comm`, 'utf8') === 'sleep\n', 'exec');
    const exit = once(run, 'exit');
    run.kill('SIGTERM');
    const [code] = await exit;
    expect(code).toBe(143);
    expect(procState(command)).toBeNull();
  });

  it.each([
    [[], /^pidfd run: no command given$/m],
    [['--timeout', 'soon', 'true'], /invalid duration for --timeout: 'soon'/],
    [['--kill-after', '-1', 'true'], /invalid duration for --kill-after: '-1'/],
    [['--signal', 'NOPE', 'true'], /unknown signal for --signal: 'NOPE'/],
    [['--signal', '0', 'true'], /--signal 0 cannot end a process/],
    [['--verbose', 'true'], /unknown option '--verbose'/],
  ])('%j is a usage error (exit 125, as timeout(1))', async (args, message) => {
    const result = await cli(['run', ...args]);
    expect(result).toMatchObject({ code: 125, stdout: '' });
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^Try 'pidfd run --help'\.$/m);
  });
});

describe('process trees: run --tree, kill --tree', () => {
  it('run --tree returns only once the tree is empty, with the root\'s status', async () => {
    const file = path.join(os.tmpdir(), `pidfd-cli-tree-${process.pid}`);
    fs.rmSync(file, { force: true });
    try {
      const result = await cli(['run', '--tree', '--', 'sh', '-c', `(sleep 0.5; touch ${file}) >/dev/null 2>&1 & exit 3`]);
      expect(result.code).toBe(3);
      expect(fs.existsSync(file)).toBe(true);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('run --tree --json says the tree method this process got', async () => {
    const result = await cli(['run', '--tree', '--json', '--', 'true']);
    expect(result.code).toBe(0);
    const line = JSON.parse(result.stderr.trim().split('\n').pop()!);
    expect(line.treeMethod).toBe(pidfd.features.treeMethod.method);
  });

  it('run --tree --timeout ends the whole tree, a setsid daemon included, and exits 124', async () => {
    const result = await cli(['run', '--tree', '--timeout', '300ms', '--', 'sh', '-c', 'setsid sleep 1000 & echo $!; sleep 1000']);
    expect(result.code).toBe(124);
    const daemon = Number(result.stdout.trim());
    await until(() => procState(daemon) === null, 'the daemon gone', 30_000);
  });

  it('run --tree forwards SIGTERM to the whole tree', async () => {
    const run = cpSpawn(process.execPath, [bin, 'run', '--tree', '--', 'sh', '-c', 'setsid sleep 1000 & echo $!; wait'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(run);
    let output = '';
    run.stdout!.on('data', (chunk) => (output += chunk));
    const exit = once(run, 'exit');
    await until(() => output.includes('\n'), 'the daemon pid');
    const daemon = Number(output.trim());
    run.kill('SIGTERM');
    expect((await exit)[0]).toBe(143);
    await until(() => procState(daemon) === null, 'the daemon gone', 30_000);
  });

  it('kill --tree PID:INODE signals the process and its setsid descendants', async () => {
    const { child, output } = await bashChild('setsid sleep 1000 & echo $!; echo ready; wait');
    const daemon = Number(output().split('\n')[0]);
    const exit = once(child, 'exit');
    const target = `${child.pid}:${inodeOf(child.pid!)}`;
    const result = await cli(['kill', '--tree', '--signal', 'KILL', target]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(new RegExp(`^${target}: signalled [1-9]\\d* process(es)? \\((cgroup|subreaper) method\\)\n$`));
    expect(await exit).toEqual([null, 'SIGKILL']);
    await until(() => procState(daemon) === null, 'the daemon gone', 30_000);
  });
});

describe('the CI recipe of docs/cli.md', () => {
  it('starts a server under pidfd run, and later stops it and requires its clean exit', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pidfd-ci-'));
    try {
      fs.writeFileSync(
        path.join(dir, 'server.js'),
        `const server = require('node:net').createServer().listen(0, () => console.log('listening'));
         process.on('SIGTERM', () => { console.log('shutting down'); server.close(() => process.exit(0)); });`,
      );
      const pidfdBin = `${process.execPath} ${bin}`;
      const sh = (script: string) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          execFile('bash', ['-c', script], { cwd: dir, timeout: 120_000 }, (error, stdout, stderr) =>
            resolve({ code: error ? Number((error as any).code) : 0, stdout, stderr }),
          );
        });
      // Step 1: start it in the background; pass PID:INODE on to the later steps.
      const start = await sh(
        `${pidfdBin} run --json -- ${process.execPath} server.js > server.log 2>&1 &\n` +
          `${pidfdBin} info --json $! | sed -E 's/.*"pid":([0-9]+).*"inode":([0-9]+).*/\\1:\\2/'`,
      );
      const server = start.stdout.trim();
      expect(server).toMatch(/^\d+:\d+$/);
      await until(() => fs.readFileSync(path.join(dir, 'server.log'), 'utf8').includes('listening'), 'listening');
      // Last step: stop it, wait with a deadline, require code 0.
      // --exited: a fast server (and pidfd run after it) may be gone before wait starts.
      const stop = await sh(`${pidfdBin} kill ${server} && ${pidfdBin} wait --exited --timeout 30s --verbose ${server} && tail -n 1 server.log`);
      expect(stop.code, stop.stderr).toBe(0);
      const lines = stop.stdout.trim().split('\n');
      expect(lines[0]).toMatch(new RegExp(`^${server.split(':')[0]}: (exited|had already exited)`));
      expect(JSON.parse(lines[1])).toMatchObject({ code: 0, signal: null, timedOut: false, exitCode: 0 });
      expect(fs.readFileSync(path.join(dir, 'server.log'), 'utf8')).toMatch(/^listening\nshutting down\n\{/);
      // Once it is gone, the same PID:INODE is refused.
      expect((await sh(`${pidfdBin} kill ${server}`)).code).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
