// pidfd.open(): validation, errors, exit semantics of the kernel (threads, zombies), kill,
// close, onExit, ref/unref.
import { spawn as cpSpawn } from 'node:child_process';
import { AsyncLocalStorage } from 'node:async_hooks';
import { once } from 'node:events';
import { fstatSync, readlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as pidfd from '../dist/index.mjs';
import { helper } from './helpers/build';
import { loopTurn, openPidfds, reusePidScript, procState, runNode, lastJson, settledWithin, startStranger, until } from './support';

describe('open() validation', () => {
  it.each([['1'], [undefined], [null], [1n], [{}], [[]], [() => 1], [Symbol('x')], [true]])(
    'rejects %s with ERR_INVALID_ARG_TYPE',
    (value) => {
      expect(() => pidfd.open(value as any)).toThrow(expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }));
    },
  );

  it.each([[0], [-1], [1.5], [NaN], [Infinity], [-Infinity], [2 ** 31], [Number.MAX_SAFE_INTEGER]])(
    'rejects %s with ERR_OUT_OF_RANGE',
    (value) => {
      expect(() => pidfd.open(value)).toThrow(expect.objectContaining({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }));
    },
  );

  it('throws a Node-style ESRCH for a pid that does not exist', () => {
    // pid_max is 32768 here (and at most 4194304 anywhere): 2^31-1 never exists.
    let error: any;
    try {
      pidfd.open(2 ** 31 - 1);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: 'ESRCH', errno: -3, syscall: 'pidfd_open' });
    expect(error.message).toBe('pidfd_open ESRCH');
  });
});

describe('a Pidfd', () => {
  it('names the process and exposes its fd', () => {
    const handle = pidfd.open(process.pid);
    expect(handle).toBeInstanceOf(pidfd.Pidfd);
    expect(handle.pid).toBe(process.pid);
    expect(handle.fd).toBeGreaterThanOrEqual(0);
    expect(handle.closed).toBe(false);
    expect(handle.running).toBe(true);
    handle.close();
  });

  it('cannot be constructed directly', () => {
    expect(() => new (pidfd.Pidfd as any)(1, 1, false)).toThrow(TypeError);
  });

  it('returns the same exited promise on every access', () => {
    const pid = startStranger('sleep 1000');
    const handle = pidfd.open(pid);
    expect(handle.exited).toBe(handle.exited);
    handle.kill('SIGKILL');
    return handle.exited.finally(() => handle.close());
  });

  it('resolves exited for a process that is not our child, with the status unknown here', async () => {
    const pid = startStranger('sleep 1000');
    const handle = pidfd.open(pid);
    expect(await settledWithin(handle.exited, 100)).toBe('pending');
    expect(handle.running).toBe(true);
    expect(handle.kill('SIGKILL')).toBe(true);
    const status = await handle.exited;
    expect(status.pid).toBe(pid);
    expect(handle.running).toBe(false);
    handle.close();
  });

  it('counts a zombie as exited: running false, exited settles, kill returns false', async () => {
    const child = cpSpawn(helper('zombie'), ['1'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const childExit = once(child, 'exit');
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await until(() => out.includes('ready'), 'zombie helper');
    const zombie = Number(out.split('\n')[0]);
    expect(procState(zombie)).toBe('Z');
    const handle = pidfd.open(zombie); // a zombie opens
    expect(handle.running).toBe(false);
    expect(handle.kill(0)).toBe(false);
    expect((await handle.exited).pid).toBe(zombie);
    handle.close();
    child.kill('SIGKILL');
    await childExit;
  });

  it('does not count a leader that exits early as an exit while another thread runs', async () => {
    const child = cpSpawn(helper('threads'), ['leader-exit-wait', '3'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const childExit = once(child, 'exit');
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await until(() => out.includes('ready'), 'threads helper');
    const handle = pidfd.open(child.pid!);
    await until(() => procState(child.pid!) === 'Z', 'the leader to exit'); // the leader shows Z
    expect(handle.running).toBe(true);
    expect(await settledWithin(handle.exited, 200)).toBe('pending');
    child.stdin.end('go\n'); // the last thread exits the group
    expect((await handle.exited).pid).toBe(child.pid);
    expect(handle.running).toBe(false);
    handle.close();
    await childExit;
  });

  it('does not count an execve by a non-leader thread as an exit', async () => {
    const child = cpSpawn(helper('threads'), ['thread-exec', '/bin/sleep', '1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const childExit = once(child, 'exit');
    const handle = pidfd.open(child.pid!);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await until(() => out.includes('exec'), 'thread-exec helper');
    // Mid-exec (while the old image is torn down) the link reads ENOENT: not there yet.
    const image = () => {
      try {
        return readlinkSync(`/proc/${child.pid}/exe`);
      } catch {
        return '';
      }
    };
    await until(() => image().endsWith('sleep'), 'the exec');
    expect(handle.running).toBe(true);
    expect(await settledWithin(handle.exited, 200)).toBe('pending');
    expect(handle.kill('SIGKILL')).toBe(true);
    await handle.exited;
    handle.close();
    await childExit;
  });
});

describe('kill()', () => {
  it('validates the signal like process.kill', () => {
    const handle = pidfd.open(process.pid);
    expect(() => handle.kill('SIGNOPE' as any)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_SIGNAL' }));
    expect(() => handle.kill(1.5)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_SIGNAL' }));
    for (const bad of [null, {}, [], 1n, true]) {
      expect(() => handle.kill(bad as any)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    }
    expect(() => handle.kill(999)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_SIGNAL' })); // Linux has 1..64
    expect(handle.kill(0)).toBe(true); // probes
    handle.close();
  });

  it('sends SIGTERM by default and returns false once the process has exited', async () => {
    const child = cpSpawn('sleep', ['30']);
    const childExit = once(child, 'exit');
    const handle = pidfd.open(child.pid!);
    expect(handle.kill()).toBe(true);
    const [, signal] = await childExit;
    expect(signal).toBe('SIGTERM');
    expect(handle.kill()).toBe(false); // reaped by libuv: ESRCH
    expect(handle.kill(0)).toBe(false);
    handle.close();
  });

  it('throws ERR_PIDFD_CLOSED after close', () => {
    const handle = pidfd.open(process.pid);
    handle.close();
    expect(() => handle.kill()).toThrow(expect.objectContaining({ code: 'ERR_PIDFD_CLOSED' }));
  });

  it('never signals a process that reused the pid (pid namespace, forced reuse)', async () => {
    const result = await runNode(
      `
      import { spawn } from 'node:child_process';
      import { once } from 'node:events';
      import * as fs from 'node:fs';
      ${reusePidScript}
      const first = spawn('sleep', ['1000']);
      const pid = first.pid;
      const handle = pidfd.open(pid);
      first.kill('SIGKILL');
      await once(first, 'exit'); // reaped: the pid is free
      const second = await reusePid(pid, () => spawn('sleep', ['1000']));
      const reused = second.pid === pid;
      const sent = handle.kill('SIGKILL');
      const running = handle.running;
      await new Promise((r) => setTimeout(r, 100));
      const stat = fs.readFileSync('/proc/' + pid + '/stat', 'utf8');
      const alive = stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
      second.kill('SIGKILL');
      console.log(JSON.stringify({ reused, sent, running, alive, exited: (await handle.exited).pid }));
      `,
      { prefix: ['unshare', '--pid', '--fork', '--mount-proc'] },
    );
    expect(lastJson(result)).toEqual({ reused: true, sent: false, running: false, alive: true, exited: expect.any(Number) });
  });
});

describe('close()', () => {
  it('is idempotent, sets fd to -1 and rejects pending exits with ERR_PIDFD_CLOSED', async () => {
    const pid = startStranger('sleep 1000');
    const handle = pidfd.open(pid);
    const exited = handle.exited;
    const onExit = handle.onExit();
    handle.close();
    handle.close();
    expect(handle.closed).toBe(true);
    expect(handle.fd).toBe(-1);
    expect(handle.running).toBe(false);
    await expect(exited).rejects.toMatchObject({ code: 'ERR_PIDFD_CLOSED' });
    await expect(onExit).rejects.toMatchObject({ code: 'ERR_PIDFD_CLOSED' });
    await expect(handle.onExit()).rejects.toMatchObject({ code: 'ERR_PIDFD_CLOSED' });
    process.kill(pid, 'SIGKILL');
  });

  it('keeps a settled exit settled', async () => {
    const pid = startStranger('sleep 1000');
    const handle = pidfd.open(pid);
    handle.kill('SIGKILL');
    const status = await handle.exited;
    handle.close();
    await expect(handle.exited).resolves.toBe(status);
  });

  it('is what Symbol.dispose does', () => {
    const handle = pidfd.open(process.pid);
    const fd = handle.fd;
    expect(() => fstatSync(fd)).not.toThrow();
    handle[Symbol.dispose]();
    expect(handle.closed).toBe(true);
    expect(() => fstatSync(fd)).toThrow(/EBADF/);
  });
});

describe('onExit()', () => {
  it('rejects with AbortError when aborted, and the watch stays armed', async () => {
    const pid = startStranger('sleep 1000');
    const handle = pidfd.open(pid);
    const controller = new AbortController();
    const waiting = handle.onExit({ signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    handle.kill('SIGKILL');
    await expect(handle.onExit()).resolves.toMatchObject({ pid });
    handle.close();
  });

  it('rejects with TimeoutError for AbortSignal.timeout, and at once for an aborted signal', async () => {
    const pid = startStranger('sleep 1000');
    const handle = pidfd.open(pid);
    await expect(handle.onExit({ signal: AbortSignal.timeout(20) })).rejects.toMatchObject({ name: 'TimeoutError' });
    const reason = new Error('gone');
    await expect(handle.onExit({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    handle.kill('SIGKILL');
    await handle.exited;
    handle.close();
  });

  it('validates its options', () => {
    const handle = pidfd.open(process.pid);
    for (const bad of [null, 1, 'x']) {
      expect(() => handle.onExit(bad as any)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    }
    for (const bad of [null, 1, {}, { aborted: false }]) {
      expect(() => handle.onExit({ signal: bad as any })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    }
    handle.close();
  });
});

describe('delivery', () => {
  it('runs promise reactions at once and keeps the AsyncLocalStorage context', async () => {
    const als = new AsyncLocalStorage<string>();
    const pid = startStranger('sleep 1000');
    const handle = pidfd.open(pid);
    const seen = als.run('watcher', async () => {
      await handle.exited;
      await null; // a microtask chain, run within the same loop turn
      return als.getStore();
    });
    handle.kill('SIGKILL');
    expect(await seen).toBe('watcher');
    handle.close();
  });

  it('watches two thousand processes at once', async () => {
    // Forked by one helper, not a shell's 2000 fork + exec: they start in a second, not a
    // minute under load and ASan. They sleep until killed and are not our children.
    const sleepers = cpSpawn(helper('sleepers'), ['2000'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const sleepersExit = once(sleepers, 'exit');
    let out = '';
    sleepers.stdout.on('data', (d) => (out += d));
    await until(() => out.endsWith('ready\n'), 'two thousand sleepers', 150_000); // ~30 ms a fork under heavy load
    const pids = out.trim().split('\n').slice(0, -1).map(Number);
    expect(pids).toHaveLength(2000);
    const handles = pids.map((pid) => pidfd.open(pid));
    const all = Promise.all(handles.map((h) => h.exited));
    expect(await settledWithin(all, 50)).toBe('pending');
    for (const pid of pids) process.kill(pid, 'SIGKILL'); // alive and unreaped: still theirs
    const statuses = await all;
    expect(statuses.map((s) => s.pid)).toEqual(pids);
    for (const h of handles) h.close();
    sleepers.stdin.end();
    await sleepersExit;
  });
});

describe('leaks', () => {
  it('opens and closes tens of thousands of handles without leaking fds', async () => {
    await loopTurn(); // handles closed by earlier tests finish closing
    const before = openPidfds();
    for (let i = 0; i < 20_000; i++) {
      const h = pidfd.open(process.pid);
      if (i % 2) void h.exited; // half of them with a watch armed
      h.close();
    }
    await loopTurn(); // closed watches give their fds back in the uv close callbacks
    expect(openPidfds()).toBe(before);
  });

  it('frees the fd of a handle dropped without close()', async () => {
    const result = await runNode(
      `
      const fs = await import('node:fs');
      const count = () => fs.readdirSync('/proc/self/fd').length;
      const before = count();
      for (let i = 0; i < 5000; i++) {
        const h = pidfd.open(process.pid);
        if (i % 2) h.exited.catch(() => {}); // armed: the watcher holds the fd
      }
      const during = count();
      for (let i = 0; i < 20 && count() > before + 10; i++) {
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 10));
      }
      // Armed watches on a live process keep their handles (like a ChildProcess): unref'd
      // ones are collected only after exit. Unarmed ones must be gone.
      console.log(JSON.stringify({ before, during, after: count() }));
      process.exit(0);
      `,
      { nodeArgs: ['--expose-gc'] },
    );
    const { before, during, after } = lastJson(result);
    expect(during).toBeGreaterThanOrEqual(before + 5000);
    expect(after).toBeLessThanOrEqual(before + 2500 + 10);
  });
});

describe('ref() and unref()', () => {
  // The stranger lives until we end it. The timer that ends it is unref()ed: it fires only if
  // something else (the watch) keeps the loop alive, and only then can 'exited' be printed.
  // No duration is judged: whether 'exited' appears says it all.
  const script = (mode: string) => `
    const { spawnSync } = await import('node:child_process');
    const pid = Number(spawnSync('sh', ['-c', 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }).stdout);
    const h = pidfd.open(pid);
    h.exited.then(() => console.log('exited'));
    ${mode}
    setTimeout(() => process.kill(pid, 'SIGKILL'), 300).unref();
    process.on('exit', () => { try { process.kill(pid, 'SIGKILL'); } catch {} });
  `;

  it('keeps the event loop alive while a watch is pending', async () => {
    const r = await runNode(script(''));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('exited');
  });

  it('lets the process exit once unref()ed, and ref() undoes it', async () => {
    const unrefd = await runNode(script('h.unref();'));
    expect(unrefd.code).toBe(0);
    expect(unrefd.stdout).not.toContain('exited');
    const refd = await runNode(script('h.unref().ref();'));
    expect(refd.stdout).toContain('exited');
  });

  it('can be unref()ed before the watch is armed', async () => {
    const r = await runNode(script('').replace('h.exited.then', 'h.unref(); h.exited.then'));
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('exited');
  });
});
