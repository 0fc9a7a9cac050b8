// pidfd.spawn(): statuses, stdio, options, errors, reaping, and the clone fallbacks forced
// by seccomp filters.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as pidfd from '../dist/index.mjs';
import { lastJson, loopTurn, openFds, procState, procStatus, qemu, runNode, skipUnderQemu, until, zombieChildren } from './support';

function collect(stream: NodeJS.ReadableStream | null): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    stream!.on('data', (d) => (out += d));
    stream!.on('end', () => resolve(out));
    stream!.on('error', reject);
  });
}

describe('spawn()', () => {
  it('returns a Subprocess whose exited carries the exit code', async () => {
    const child = pidfd.spawn('sh', ['-c', 'exit 42'], { stdio: 'ignore' });
    expect(child).toBeInstanceOf(pidfd.Subprocess);
    expect(child).toBeInstanceOf(pidfd.Pidfd);
    expect(child.pid).toBeGreaterThan(0);
    expect(child.fd).toBeGreaterThanOrEqual(0);
    expect(await child.exited).toEqual({ pid: child.pid, code: 42, signal: null, coreDumped: false });
    child.close();
  });

  it('reports the killing signal by name', async () => {
    const child = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
    expect(child.running).toBe(true);
    expect(child.kill('SIGKILL')).toBe(true);
    expect(await child.exited).toEqual({ pid: child.pid, code: null, signal: 'SIGKILL', coreDumped: false });
    expect(child.kill()).toBe(false);
    expect(procState(child.pid)).toBe(null); // reaped: no zombie
    child.close();
  });

  it('gives the child default signal dispositions and an empty signal mask', async () => {
    // Node ignores SIGPIPE; child_process children get it back at its default, and so do ours.
    const child = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
    await until(() => fs.readlinkSync(`/proc/${child.pid}/exe`).endsWith('sleep'), 'exec');
    expect(procStatus(child.pid, 'SigIgn')).toBe('0000000000000000');
    expect(procStatus(child.pid, 'SigBlk')).toBe('0000000000000000');
    child.kill('SIGKILL');
    await child.exited;
    child.close();
  });

  it('pipes stdin, stdout and stderr as Node streams', async () => {
    const child = pidfd.spawn('sh', ['-c', 'cat; echo err >&2']);
    expect(child.stdin).not.toBeNull();
    const out = collect(child.stdout);
    const err = collect(child.stderr);
    child.stdin!.end('hello through a socket\n');
    expect(await out).toBe('hello through a socket\n');
    expect(await err).toBe('err\n');
    expect((await child.exited).code).toBe(0);
    child.close();
  });

  it("maps 'ignore' to /dev/null, passes fds through and gives extra slots", async () => {
    const file = path.join(os.tmpdir(), `pidfd-stdio-${process.pid}`);
    const fd = fs.openSync(file, 'w');
    const child = pidfd.spawn('sh', ['-c', 'readlink /proc/self/fd/0; echo to-fd; echo three >&3'], {
      stdio: ['ignore', fd, 'inherit', 'pipe'],
    });
    expect(child.stdin).toBeNull();
    expect(child.stdout).toBeNull();
    expect(child.stdio).toHaveLength(4);
    const three = await collect(child.stdio[3]);
    await child.exited;
    fs.closeSync(fd);
    expect(fs.readFileSync(file, 'utf8')).toBe('/dev/null\nto-fd\n');
    expect(three).toBe('three\n');
    fs.rmSync(file);
    child.close();
  });

  it('applies env, cwd (string or URL) and argv0', async () => {
    const dir = fs.realpathSync(os.tmpdir());
    for (const cwd of [dir, pathToFileURL(dir)]) {
      const child = pidfd.spawn('sh', ['-c', 'echo "$0|$GREETING|$(pwd)"'], {
        env: { GREETING: 'hi', PATH: process.env.PATH },
        cwd,
        argv0: 'custom-argv0',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      expect(await collect(child.stdout)).toBe(`custom-argv0|hi|${dir}\n`);
      await child.exited;
      child.close();
    }
  });

  it("passes process.env as it is now when no env is given", async () => {
    process.env.PIDFD_TEST_VALUE = 'set after start';
    const child = pidfd.spawn('sh', ['-c', 'echo "$PIDFD_TEST_VALUE|${HOME:-none}"'], { stdio: ['ignore', 'pipe', 'inherit'] });
    expect(await collect(child.stdout)).toBe(`set after start|${process.env.HOME ?? 'none'}\n`);
    delete process.env.PIDFD_TEST_VALUE;
    const again = pidfd.spawn('sh', ['-c', 'echo "${PIDFD_TEST_VALUE:-unset}"'], { stdio: ['ignore', 'pipe', 'inherit'] });
    expect(await collect(again.stdout)).toBe('unset\n');
    await Promise.all([child.exited, again.exited]);
    child.close();
    again.close();
  });

  it('looks the file up in the PATH of the given env', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pidfd-path-'));
    fs.writeFileSync(path.join(dir, 'only-here'), '#!/bin/sh\nexit 9\n', { mode: 0o755 });
    const child = pidfd.spawn('only-here', [], { env: { PATH: `/nonexistent:${dir}` }, stdio: 'ignore' });
    expect((await child.exited).code).toBe(9);
    child.close();
    expect(() => pidfd.spawn('only-here', [], { stdio: 'ignore' })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    fs.rmSync(dir, { recursive: true });
  });

  it('starts a new session when detached', async () => {
    const child = pidfd.spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const stat = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    expect(Number(fields[3])).toBe(child.pid); // session id
    expect(Number(fields[2])).toBe(child.pid); // process group id
    child.kill('SIGKILL');
    await child.exited;
    child.close();
  });

  it('runs the child with the given uid and gid', async () => {
    const child = pidfd.spawn('sh', ['-c', 'echo $(id -u):$(id -g)'], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
    expect(await collect(child.stdout)).toBe('65534:65534\n');
    await child.exited;
    child.close();
  });
});

describe('spawn() failures', () => {
  it('throws ENOENT synchronously, like child_process, and leaves no fd or zombie', () => {
    const before = openFds();
    let error: any;
    try {
      pidfd.spawn('no-such-program-anywhere', ['a', 'b']);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: 'ENOENT',
      errno: -2,
      syscall: 'spawn no-such-program-anywhere',
      path: 'no-such-program-anywhere',
      spawnargs: ['a', 'b'],
      message: 'spawn no-such-program-anywhere ENOENT',
    });
    expect(openFds()).toBe(before);
    expect(zombieChildren()).toEqual([]);
  });

  it('throws EACCES for a file that is not executable', () => {
    const file = path.join(os.tmpdir(), `pidfd-noexec-${process.pid}`);
    fs.writeFileSync(file, '#!/bin/sh\n', { mode: 0o644 });
    const before = openFds();
    expect(() => pidfd.spawn(file)).toThrow(expect.objectContaining({ code: 'EACCES', path: file }));
    expect(openFds()).toBe(before);
    expect(zombieChildren()).toEqual([]);
    fs.rmSync(file);
  });

  it('names chdir when cwd does not exist', () => {
    expect(() => pidfd.spawn('true', [], { cwd: '/no/such/dir' })).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'chdir', path: '/no/such/dir' }),
    );
    expect(zombieChildren()).toEqual([]);
  });

  it('validates every argument', () => {
    const bad: Array<[() => unknown, string]> = [
      [() => pidfd.spawn(1 as any), 'ERR_INVALID_ARG_TYPE'],
      [() => pidfd.spawn(''), 'ERR_INVALID_ARG_VALUE'],
      [() => pidfd.spawn('tr\0ue'), 'ERR_INVALID_ARG_VALUE'],
      [() => pidfd.spawn('true', 'x' as any), 'ERR_INVALID_ARG_TYPE'],
      [() => pidfd.spawn('true', [1 as any]), 'ERR_INVALID_ARG_TYPE'],
      [() => pidfd.spawn('echo', ['a\0b']), 'ERR_INVALID_ARG_VALUE'],
      [() => pidfd.spawn('true', [], null as any), 'ERR_INVALID_ARG_TYPE'],
      [() => pidfd.spawn('true', [], { env: { A: 'x\0y' } }), 'ERR_INVALID_ARG_VALUE'],
      [() => pidfd.spawn('true', [], { env: 'x' as any }), 'ERR_INVALID_ARG_TYPE'],
      [() => pidfd.spawn('true', [], { cwd: '/tmp\0' }), 'ERR_INVALID_ARG_VALUE'],
      [() => pidfd.spawn('true', [], { cwd: 1 as any }), 'ERR_INVALID_ARG_TYPE'],
      [() => pidfd.spawn('true', [], { argv0: 'a\0' }), 'ERR_INVALID_ARG_VALUE'],
      [() => pidfd.spawn('true', [], { stdio: 'bogus' as any }), 'ERR_INVALID_ARG_VALUE'],
      [() => pidfd.spawn('true', [], { stdio: [-1 as any] }), 'ERR_OUT_OF_RANGE'],
      [() => pidfd.spawn('true', [], { stdio: 5 as any }), 'ERR_INVALID_ARG_TYPE'],
      [() => pidfd.spawn('true', [], { detached: 'yes' as any }), 'ERR_INVALID_ARG_TYPE'],
      [() => pidfd.spawn('true', [], { uid: -1 }), 'ERR_OUT_OF_RANGE'],
      [() => pidfd.spawn('true', [], { gid: 1.5 }), 'ERR_OUT_OF_RANGE'],
      [() => pidfd.spawn('true', [], { uid: '0' as any }), 'ERR_INVALID_ARG_TYPE'],
    ];
    const before = openFds();
    for (const [call, code] of bad) expect(call).toThrow(expect.objectContaining({ code }));
    expect(openFds()).toBe(before);
    expect(zombieChildren()).toEqual([]);
  });
});

describe('reaping and leaks', () => {
  it('reaps a child whose handle was closed before it exited', async () => {
    const child = pidfd.spawn('sleep', ['0.2'], { stdio: 'ignore' });
    const pid = child.pid;
    child.close();
    expect(child.fd).toBe(-1);
    await until(() => procState(pid) === null, 'the orphaned child to be reaped');
    expect(zombieChildren()).toEqual([]);
  });

  it('spawns a thousand children without leaking fds or zombies', async () => {
    const before = openFds();
    for (let batch = 0; batch < 10; batch++) {
      const children = Array.from({ length: 100 }, (_, i) => pidfd.spawn('/bin/sh', ['-c', `exit ${i % 7}`], { stdio: 'ignore' }));
      const statuses = await Promise.all(children.map((c) => c.exited));
      expect(statuses.map((s) => s.code)).toEqual(children.map((_, i) => i % 7));
      for (const c of children) c.close();
    }
    await loopTurn(); // closed watches give their fds back in the uv close callbacks
    expect(openFds()).toBe(before);
    expect(zombieChildren()).toEqual([]);
  });
});

describe('clone fallbacks, forced with seccomp', () => {
  const script = `
    const method = () => native.spawnMethod();
    const a = pidfd.spawn('sh', ['-c', 'exit 7'], { stdio: 'ignore' });
    const code = (await a.exited).code;
    let missing = null;
    try { pidfd.spawn('no-such-program-anywhere'); } catch (e) { missing = e.code; }
    const b = pidfd.spawn('sleep', ['30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    b.kill('SIGKILL');
    const signal = (await b.exited).signal;
    const out = pidfd.spawn('echo', ['piped'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    for await (const chunk of out.stdout) text += chunk;
    await out.exited;
    console.log(JSON.stringify({ method: method(), code, missing, signal, text }));
  `;
  const expected = { code: 7, missing: 'ENOENT', signal: 'SIGKILL', text: 'piped\n' };

  it('uses clone3 when the kernel allows it, and fork + pidfd_open under qemu-user', async () => {
    // qemu-user has neither clone3 nor clone(CLONE_PIDFD) nor CLONE_VM processes: this run
    // proves the last fallback for real.
    expect(lastJson(await runNode(script))).toEqual({ ...expected, method: qemu ? 2 : 0 });
  });

  it.skipIf(skipUnderQemu('seccomp filters cannot be installed under qemu-user'))('falls back to clone(CLONE_PIDFD) when clone3 fails with ENOSYS (Linux < 5.3)', async () => {
    expect(lastJson(await runNode(script, { seccomp: ['clone3=ENOSYS'] }))).toEqual({ ...expected, method: 1 });
  });

  it.skipIf(skipUnderQemu('seccomp filters cannot be installed under qemu-user'))('falls back to clone(CLONE_PIDFD) when a container profile answers clone3 with EPERM', async () => {
    // Only our clone3 gets EPERM: glibc's own (for threads) would not fall back from it.
    expect(lastJson(await runNode(script, { seccomp: ['clone3-v0=EPERM'] }))).toEqual({ ...expected, method: 1 });
  });

  it.skipIf(skipUnderQemu('seccomp filters cannot be installed under qemu-user'))('falls back to fork + pidfd_open where neither clone offers CLONE_PIDFD (qemu-user)', async () => {
    const seccomp = ['clone3=ENOSYS', 'clone-pidfd=EINVAL', 'clone-vm=EINVAL'];
    expect(lastJson(await runNode(script, { seccomp }))).toEqual({ ...expected, method: 2 });
  });

  it.skipIf(skipUnderQemu('seccomp filters cannot be installed under qemu-user'))('throws ENOSYS from spawn() when the kernel has no pidfds at all', async () => {
    const r = await runNode(
      `try { pidfd.spawn('true'); } catch (e) { console.log(JSON.stringify({ code: e.code, syscall: e.syscall })); }`,
      { seccomp: ['clone3=ENOSYS', 'clone-pidfd=EINVAL', 'pidfd_open=ENOSYS'] },
    );
    expect(lastJson(r)).toEqual({ code: 'ENOSYS', syscall: 'spawn true' });
  });
});
