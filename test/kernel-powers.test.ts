// The newer kernel powers behind the same handle: exit statuses of any process, features,
// inode identity, info(), thread pidfds, signal scopes, getfd, mrelease, terminate(),
// from(child). Each also with the kernel saying no, through a seccomp filter.
import { spawn as cpSpawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { describe, expect, it } from 'vitest';
import * as pidfd from '../dist/index.mjs';
import { helper } from './helpers/build';
import { featureSince, kernelAtLeast, lacks, qemu, qemuLacks, skip, type FeatureName } from './environment';
import { lastJson, procState, procStatus, reusePidScript, root, runNode, settledWithin, skipUnderQemu, sleep, until } from './support';

/**
 * Starts `script` under a shell that waits for it, so its parent reaps it: resolves its pid.
 * The script's stdin is a pipe from us, so one that reads a line (`read x; exit 5`) lives
 * until release(), however slow the machine: it cannot exit before we have opened it.
 */
function underWaitingShell(script: string) {
  const shell = cpSpawn('sh', ['-c', `${script} <&3 & echo $!; exec 3<&-; wait`], { stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
  const shellExit = once(shell, 'exit');
  const pid = new Promise<number>((resolve) => shell.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  const release = () => (shell.stdio[3] as NodeJS.WritableStream).end('go\n');
  return { pid, shellExit, release };
}

function lines(stream: NodeJS.ReadableStream): { next(match: (line: string) => boolean): Promise<string> } {
  let buffer = '';
  const waiters: Array<{ match: (l: string) => boolean; resolve: (l: string) => void }> = [];
  const seen: string[] = [];
  stream.on('data', (d) => {
    buffer += d;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      seen.push(line);
      for (const w of waiters.splice(0)) (w.match(line) ? w.resolve(line) : waiters.push(w));
    }
  });
  return {
    next: (match) =>
      new Promise((resolve) => {
        const found = seen.find(match);
        if (found !== undefined) resolve(found);
        else waiters.push({ match, resolve });
      }),
  };
}

describe('pidfd.features', () => {
  it('is a frozen object of booleans, each true exactly from the kernel version that brought it', () => {
    // Mainline versions: a distribution kernel that backports a feature would show it earlier.
    expect(Object.isFrozen(pidfd.features)).toBe(true);
    const expected = Object.fromEntries(
      Object.entries(featureSince).map(([name, since]) => [name, kernelAtLeast(since) && !(qemu && qemuLacks.includes(name as FeatureName))]),
    );
    expect({ ...pidfd.features }, `kernel ${os.release()}`).toEqual(expected);
  });

  it.skipIf(skipUnderQemu('seccomp filters cannot be installed under qemu-user'))('reports what a seccomp profile takes away, and the API says so clearly', async () => {
    const r = await runNode(
      `
      const f = { ...pidfd.features };
      const h = pidfd.open(process.pid);
      const error = (fn) => { try { fn(); return null; } catch (e) { return { code: e.code, message: e.message }; } };
      console.log(JSON.stringify({
        f,
        getfd: error(() => h.getfd(0)),
        mrelease: error(() => h.mrelease()),
        thread: error(() => pidfd.open(process.pid, { thread: true })),
        scope: error(() => h.kill(0, { scope: 'process' })),
        plainKill: h.kill(0),
      }));
      `,
      {
        seccomp: ['pidfd_getfd=ENOSYS', 'process_mrelease=ENOSYS', 'pidfd_open-thread=EINVAL', 'pidfd_send_signal-flags=EINVAL', 'pidfd_get_info=ENOTTY', 'waitid-pidfd=EINVAL'],
      },
    );
    const out = lastJson(r);
    // What the filter takes is gone; the rest is what this kernel has.
    expect(out.f).toEqual({
      ...pidfd.features, waitid: false, thread: false, signalScope: false, info: false, exitInfo: false, getfd: false, mrelease: false,
    });
    expect(out.getfd).toEqual({ code: 'ENOSYS', message: expect.stringContaining('Linux 5.6') });
    expect(out.mrelease).toEqual({ code: 'ENOSYS', message: expect.stringContaining('Linux 5.15') });
    expect(out.thread).toEqual({ code: 'EINVAL', message: expect.stringContaining('Linux 6.9') });
    expect(out.scope).toEqual({ code: 'EINVAL', message: expect.stringContaining('Linux 6.9') });
    expect(out.plainKill).toBe(true);
  });

  it.skipIf(skipUnderQemu('seccomp filters cannot be installed under qemu-user'))('reports no pidfds at all where pidfd_open is ENOSYS, and open() throws it', async () => {
    const r = await runNode(
      `
      let open = null;
      try { pidfd.open(process.pid); } catch (e) { open = { code: e.code, errno: e.errno, syscall: e.syscall }; }
      console.log(JSON.stringify({ f: { ...pidfd.features }, open }));
      `,
      { seccomp: ['pidfd_open=ENOSYS', 'clone3=ENOSYS', 'clone-pidfd=EINVAL'] },
    );
    const out = lastJson(r);
    expect(Object.values(out.f).every((v) => v === false)).toBe(true);
    expect(out.open).toEqual({ code: 'ENOSYS', errno: -38, syscall: 'pidfd_open' });
  });
});

describe('exit status of a process that is not our child', () => {
  it.skipIf(lacks('exitInfo'))('reports the exit code its parent reaped (a shell)', async () => {
    const { pid, shellExit, release } = underWaitingShell('sh -c "read x; exit 5"');
    const handle = pidfd.open(await pid);
    release();
    expect(await handle.exited).toEqual({ pid: await pid, code: 5, signal: null, coreDumped: false });
    handle.close();
    await shellExit;
  });

  it.skipIf(lacks('exitInfo'))('reports the killing signal', async () => {
    const { pid, shellExit } = underWaitingShell('sleep 30');
    const handle = pidfd.open(await pid);
    handle.kill('SIGTERM');
    expect(await handle.exited).toMatchObject({ code: null, signal: 'SIGTERM' });
    handle.close();
    await shellExit;
  });

  it.skipIf(lacks('exitInfo'))('reports a core dump the same way waitid does for our own child', async () => {
    const dir = fs.mkdtempSync('/tmp/pidfd-core-');
    const ours = pidfd.spawn('sh', ['-c', 'ulimit -c unlimited; kill -SEGV $$'], { cwd: dir, stdio: 'ignore' });
    const viaWaitid = await ours.exited;
    ours.close();
    const { pid, shellExit, release } = underWaitingShell(`cd ${dir} && sh -c 'ulimit -c unlimited; read x; kill -SEGV $$'`);
    const handle = pidfd.open(await pid);
    release();
    const viaRecord = await handle.exited;
    handle.close();
    await shellExit;
    fs.rmSync(dir, { recursive: true, force: true });
    expect(viaWaitid.signal).toBe('SIGSEGV');
    expect(viaRecord).toMatchObject({ signal: 'SIGSEGV', coreDumped: viaWaitid.coreDumped });
  });

  it.skipIf(lacks('exitInfo'))('reports the group exit code when the leader exited first', async () => {
    const child = cpSpawn(helper('threads'), ['leader-exit-wait', '3'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const childExit = once(child, 'exit');
    await lines(child.stdout).next((l) => l.startsWith('ready'));
    const handle = pidfd.open(child.pid!);
    await until(() => procState(child.pid!) === 'Z', 'the leader to exit');
    child.stdin.end('go\n');
    expect(await handle.exited).toMatchObject({ code: 3, signal: null });
    handle.close();
    await childExit;
  });

  it.skipIf(lacks('exitInfo'))('resolves with nulls after the bound for a zombie that is never reaped', async () => {
    const child = cpSpawn(helper('zombie'), ['1'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const childExit = once(child, 'exit');
    const zombie = Number(await lines(child.stdout).next((l) => /^\d+$/.test(l)));
    await until(() => procState(zombie) === 'Z', 'zombie');
    const start = Date.now();
    const handle = pidfd.open(zombie);
    expect(await handle.exited).toEqual({ pid: zombie, code: null, signal: null, coreDumped: false });
    const waited = Date.now() - start;
    expect(waited).toBeGreaterThanOrEqual(90); // the documented 100 ms bound
    expect(waited).toBeLessThan(5000);
    handle.close();
    child.kill('SIGKILL');
    await childExit;
  });

  it.skipIf(lacks('exitInfo'))('bounds each wait from its own start when several zombies wait at once', async () => {
    const child = cpSpawn(helper('zombie'), ['3'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const childExit = once(child, 'exit');
    const out = lines(child.stdout);
    const zombies: number[] = [];
    for (let i = 0; i < 3; i++) zombies.push(Number(await out.next((l) => /^\d+$/.test(l))));
    await out.next((l) => l === 'ready');
    const opened: number[] = [];
    const waits = [];
    for (const pid of zombies) {
      opened.push(Date.now());
      const handle = pidfd.open(pid);
      waits.push(handle.exited.then((status) => ({ status, at: Date.now(), handle })));
      await sleep(40); // staggered: each has its own deadline
    }
    const results = await Promise.all(waits);
    results.forEach(({ status, at, handle }, i) => {
      expect(status).toEqual({ pid: zombies[i], code: null, signal: null, coreDumped: false });
      expect(at - opened[i]).toBeGreaterThanOrEqual(90); // not cut short by an earlier deadline
      expect(at - opened[i]).toBeLessThan(5000);
      handle.close();
    });
    child.kill('SIGKILL');
    await childExit;
  });

  it.skipIf(lacks('exitInfo'))('reports the status of a zombie reaped while we wait', async () => {
    const child = cpSpawn(helper('zombie'), ['1', 'reap-on-line'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const childExit = once(child, 'exit');
    const out = lines(child.stdout);
    const zombie = Number(await out.next((l) => /^\d+$/.test(l)));
    await out.next((l) => l === 'ready');
    const handle = pidfd.open(zombie);
    const exited = handle.exited;
    child.stdin.write('reap\n');
    await out.next((l) => l === 'reaped');
    expect(await exited).toMatchObject({ pid: zombie, code: 7 });
    handle.close();
    child.kill('SIGKILL');
    await childExit;
  });

  it.skipIf(skipUnderQemu('seccomp filters cannot be installed under qemu-user'))('is null at once where the kernel keeps no exit records', async () => {
    const r = await runNode(
      `
      const { spawnSync } = await import('node:child_process');
      // A stranger that lives until we end it: its status is known to its parent only.
      const pid = Number(spawnSync('sh', ['-c', 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }).stdout);
      const h = pidfd.open(pid);
      h.kill('SIGTERM');
      const status = await h.exited;
      const child = pidfd.spawn('sh', ['-c', 'exit 6'], { stdio: 'ignore' });
      console.log(JSON.stringify({ status, child: (await child.exited).code, exitInfo: pidfd.features.exitInfo }));
      `,
      { seccomp: ['pidfd_get_info=ENOTTY'] },
    );
    const out = lastJson(r);
    expect(out).toMatchObject({ exitInfo: false, status: { code: null, signal: null }, child: 6 });
  });

  it.skipIf(lacks('exitInfo'))('falls back to the kernel record when our own child was reaped by someone else', async () => {
    const r = await runNode(`
      import * as fs from 'node:fs';
      const child = pidfd.spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore' });
      const state = () => fs.readFileSync('/proc/' + child.pid + '/stat', 'utf8').split(') ')[1][0];
      while (state() !== 'Z') {} // synchronously: the watcher has not run yet
      const stolen = native.waitid(child.fd, 4 /* WEXITED */);
      console.log(JSON.stringify({ stolen, status: await child.exited }));
    `);
    expect(lastJson(r)).toEqual({ stolen: 0, status: { pid: expect.any(Number), code: 3, signal: null, coreDumped: false } });
  });
});

describe('identity and info()', () => {
  it.skipIf(lacks('inode'))('gives one inode per process, shared by its handles, not the pid', () => {
    const a = pidfd.open(process.pid);
    const b = pidfd.open(process.pid);
    const c = pidfd.open(process.ppid);
    expect(typeof a.inode).toBe('number');
    expect(a.inode).toBe(b.inode);
    expect(a.inode).not.toBe(c.inode);
    expect(a.inode).toBe(fs.fstatSync(a.fd).ino);
    for (const h of [a, b, c]) h.close();
  });

  it.skipIf(lacks('inode'))('tells a reused pid apart by its inode (pid namespace, forced reuse)', async () => {
    const r = await runNode(
      `
      import { spawn } from 'node:child_process';
      import { once } from 'node:events';
      import * as fs from 'node:fs';
      ${reusePidScript}
      const first = spawn('sleep', ['1000']);
      const pid = first.pid;
      const old = pidfd.open(pid);
      const oldInode = old.inode;
      first.kill('SIGKILL');
      await once(first, 'exit');
      const second = await reusePid(pid, () => spawn('sleep', ['1000']));
      const fresh = pidfd.open(pid);
      console.log(JSON.stringify({ samePid: second.pid === pid, oldInode, newInode: fresh.inode, oldStill: old.inode }));
      second.kill('SIGKILL');
      `,
      { prefix: ['unshare', '--pid', '--fork', '--mount-proc'] },
    );
    const out = lastJson(r);
    expect(out.samePid).toBe(true);
    expect(out.oldInode).toBeGreaterThan(0);
    expect(out.newInode).toBeGreaterThan(0);
    expect(out.newInode).not.toBe(out.oldInode);
    expect(out.oldStill).toBe(out.oldInode);
  });

  it('info() matches /proc for a live process', async () => {
    const child = pidfd.spawn('sleep', ['30'], { uid: 65534, gid: 65533, stdio: 'ignore' });
    await until(() => procStatus(child.pid, 'Uid')?.startsWith('65534'), 'setuid');
    const info = child.info();
    const cgroupPath = fs.readFileSync(`/proc/${child.pid}/cgroup`, 'utf8').trim().split('::')[1];
    expect(info).toEqual({
      pid: child.pid,
      ppid: process.pid,
      uid: 65534,
      gid: 65533,
      euid: 65534,
      egid: 65533,
      cgroupId: fs.statSync(`/sys/fs/cgroup${cgroupPath}`).ino,
    });
    child.kill('SIGKILL');
    await child.exited;
    expect(() => child.info()).toThrow(expect.objectContaining({ code: 'ESRCH' })); // reaped
    child.close();
    expect(() => child.info()).toThrow(expect.objectContaining({ code: 'ERR_PIDFD_CLOSED' }));
  });

  it.skipIf(skipUnderQemu('seccomp filters cannot be installed under qemu-user'))('info() falls back to /proc, checked against the pidfd, without PIDFD_GET_INFO', async () => {
    const r = await runNode(
      `
      const child = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
      const info = child.info();
      child.kill('SIGKILL');
      await child.exited;
      let after = null;
      try { child.info(); } catch (e) { after = e.code; }
      console.log(JSON.stringify({ info, pid: child.pid, me: process.pid, after, feature: pidfd.features.info }));
      `,
      { seccomp: ['pidfd_get_info=ENOTTY'] },
    );
    const out = lastJson(r);
    expect(out.feature).toBe(false);
    expect(out.info).toMatchObject({ pid: out.pid, ppid: out.me, uid: 0, gid: 0, euid: 0, egid: 0, cgroupId: expect.any(Number) });
    expect(out.after).toBe('ESRCH');
  });

  it.skipIf(lacks('info'))('cannot see a process outside its pid namespace: ESRCH or EREMOTE', async () => {
    // The pidfd of a process in our namespace is passed as fd 3 into a child namespace.
    const target = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
    const r = spawnSync(
      'unshare',
      ['--pid', '--fork', '--mount-proc', process.execPath, '-e', `
        const { native } = require(${JSON.stringify(root + '/dist/binding.js')});
        const { systemError } = require(${JSON.stringify(root + '/dist/errors.js')});
        const r = native.getInfo(3, 1, new Uint8Array(72));
        console.log(JSON.stringify({ code: systemError(r, 'ioctl').code }));
      `],
      { stdio: ['ignore', 'pipe', 'inherit', target.fd], encoding: 'utf8' },
    );
    expect(['ESRCH', 'EREMOTE']).toContain(JSON.parse(r.stdout).code);
    target.kill('SIGKILL');
    await target.exited;
    target.close();
  });
});

describe('thread pidfds', () => {
  it.skipIf(lacks('thread'))('follow one thread: exited when it exits, kill() directed at it', async () => {
    const child = cpSpawn(helper('threads'), ['thread-exit-on-signal'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const childExit = once(child, 'exit');
    const out = lines(child.stdout);
    const tid = Number((await out.next((l) => l.startsWith('tid '))).slice(4));
    await out.next((l) => l === 'ready');
    const process_ = pidfd.open(child.pid!);
    const thread = pidfd.open(tid, { thread: true });
    expect(thread.thread).toBe(true);
    expect(thread.running).toBe(true);
    expect(await settledWithin(thread.exited, 100)).toBe('pending');
    expect(thread.kill('SIGUSR1')).toBe(true); // to that thread: it sigwaits and returns
    expect(await thread.exited).toMatchObject({ pid: tid, code: null, signal: null });
    expect(process_.running).toBe(true); // the process lives on
    expect(await settledWithin(process_.exited, 100)).toBe('pending');
    process_.kill('SIGKILL');
    await process_.exited;
    thread.close();
    process_.close();
    await childExit;
  });

  it('refuse a non-leader tid without { thread: true }, saying why (ENOENT from 6.16, EINVAL before)', async () => {
    const child = cpSpawn(helper('threads'), ['threads', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const childExit = once(child, 'exit');
    const tid = Number((await lines(child.stdout).next((l) => l.startsWith('tid '))).slice(4));
    expect(() => pidfd.open(tid)).toThrow(
      expect.objectContaining({ code: kernelAtLeast('6.16') ? 'ENOENT' : 'EINVAL', message: expect.stringContaining(`is a thread of process ${child.pid}`) }),
    );
    expect(() => pidfd.open(tid, { thread: 'yes' as any })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    child.kill('SIGKILL');
    await childExit;
  });
});

describe('kill() scopes', () => {
  it.skipIf(lacks('signalScope'))("signals the whole process group with scope 'processGroup'", async () => {
    const leader = pidfd.spawn('sh', ['-c', 'sleep 30 & sleep 30 & echo $!; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    const member = Number(await lines(leader.stdout!).next((l) => /^\d+$/.test(l)));
    const memberHandle = pidfd.open(member);
    expect(leader.kill('SIGTERM', { scope: 'processGroup' })).toBe(true);
    expect(await leader.exited).toMatchObject({ signal: 'SIGTERM' });
    await memberHandle.exited; // the other group member got it too
    memberHandle.close();
    leader.close();
  });

  it.skipIf(lacks('signalScope'))("validates the scope, and 'thread' and 'process' reach the process", async () => {
    const child = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
    expect(() => child.kill('SIGTERM', { scope: 'everyone' as any })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => child.kill('SIGTERM', null as any)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(child.kill(0, { scope: 'thread' })).toBe(true);
    expect(child.kill('SIGKILL', { scope: 'process' })).toBe(true);
    expect(await child.exited).toMatchObject({ signal: 'SIGKILL' });
    child.close();
  });
});

describe('getfd()', () => {
  it.skipIf(lacks('getfd'))("duplicates another process's fd into ours, close-on-exec", async () => {
    const child = pidfd.spawn('cat', [], { stdio: ['pipe', 'pipe', 'inherit'] });
    const copy = child.getfd(1); // cat's stdout: writing to it reaches our stdout stream
    expect(fs.readFileSync(`/proc/self/fdinfo/${copy}`, 'utf8')).toMatch(/^flags:\s*0?2\d{6}$/m); // O_CLOEXEC
    fs.writeSync(copy, 'through a stolen fd\n');
    fs.closeSync(copy);
    const text = new Promise<string>((resolve) => child.stdout!.once('data', (d) => resolve(String(d))));
    expect(await text).toBe('through a stolen fd\n');
    expect(() => child.getfd(999)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'pidfd_getfd' }));
    expect(() => child.getfd(-1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    child.stdin!.end();
    await child.exited;
    child.close();
  });

  it.skipIf(lacks('getfd'))('is refused (EPERM) without ptrace rights over the target', async () => {
    // The target runs as nobody; the caller is root without CAP_SYS_PTRACE (setpriv). It may
    // read this checkout wherever it is (a 0700 /root too), but it may not ptrace nobody.
    const target = pidfd.spawn('sleep', ['1000'], { uid: 65534, gid: 65534, stdio: 'ignore' });
    await until(() => procStatus(target.pid, 'Uid')?.startsWith('65534'), 'setuid');
    const r = await runNode(
      `
      const fs = await import('node:fs');
      const capEff = BigInt('0x' + fs.readFileSync('/proc/self/status', 'utf8').match(/CapEff:\\s*(\\w+)/)[1]);
      const h = pidfd.open(${target.pid});
      let result = 'stole';
      try { fs.closeSync(h.getfd(0)); } catch (e) { result = e.code; }
      console.log(JSON.stringify({ result, ptraceCap: Boolean((capEff >> 19n) & 1n), root: process.getuid() === 0 }));
      `,
      { prefix: ['setpriv', '--inh-caps=-sys_ptrace', '--bounding-set=-sys_ptrace', '--'] },
    );
    expect(lastJson(r)).toEqual({ result: 'EPERM', ptraceCap: false, root: true });
    fs.closeSync(target.getfd(0)); // with the capability, the same call succeeds
    target.kill('SIGKILL');
    await target.exited;
    target.close();
  });
});

describe('mrelease()', () => {
  it.skipIf(lacks('mrelease'))('releases the memory of a killed process; EINVAL while it is not dying', async () => {
    const child = pidfd.spawn(process.execPath, ['-e', 'const b = Buffer.alloc(400e6, 1); console.log("ready"); setInterval(() => b[0]++, 1000)'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await lines(child.stdout!).next((l) => l === 'ready');
    expect(Number(procStatus(child.pid, 'VmRSS')!.split(' ')[0])).toBeGreaterThan(300_000); // kB
    expect(() => child.mrelease()).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'process_mrelease' }));
    child.kill('SIGKILL');
    let result = 'released';
    try {
      child.mrelease();
    } catch (e: any) {
      result = e.code; // ESRCH: it was already gone
    }
    expect(['released', 'ESRCH']).toContain(result);
    expect(await child.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(() => child.mrelease()).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    child.close();
  });
});

describe('terminate()', () => {
  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const child = pidfd.spawn('sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 1; done'], { stdio: ['ignore', 'pipe', 'ignore'] });
    await lines(child.stdout!).next((l) => l === 'ready');
    const start = Date.now();
    const status = await child.terminate({ timeout: 300 });
    expect(status).toMatchObject({ signal: 'SIGKILL' });
    expect(Date.now() - start).toBeGreaterThanOrEqual(290);
    child.close();
  });

  it('resolves with SIGTERM when the process obeys, without waiting for the timeout', async () => {
    // The longest timeout there is: had terminate() waited for it, the test would time out.
    const child = pidfd.spawn('sleep', ['1000'], { stdio: 'ignore' });
    expect(await child.terminate({ timeout: 2 ** 31 - 1 })).toMatchObject({ signal: 'SIGTERM' });
    child.close();
  });

  it('stops waiting and does not escalate when aborted', async () => {
    const child = pidfd.spawn('sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 1; done'], { stdio: ['ignore', 'pipe', 'ignore'] });
    await lines(child.stdout!).next((l) => l === 'ready');
    const controller = new AbortController();
    const done = child.terminate({ timeout: 200, abortSignal: controller.signal });
    controller.abort();
    await expect(done).rejects.toMatchObject({ name: 'AbortError' });
    await sleep(400);
    expect(child.running).toBe(true); // no SIGKILL came
    child.kill('SIGKILL');
    await child.exited;
    child.close();
  });

  it('validates its options', () => {
    const h = pidfd.open(process.pid);
    expect(() => h.terminate({ timeout: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => h.terminate({ signal: 'SIGNOPE' as any })).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_SIGNAL' }));
    expect(() => h.terminate({ killSignal: {} as any })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => h.terminate({ abortSignal: 1 as any })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    h.close();
    expect(() => h.terminate()).toThrow(expect.objectContaining({ code: 'ERR_PIDFD_CLOSED' }));
  });
});

describe('pidfd.from(child)', () => {
  it('opens a child_process child before libuv can reap it, with its status', async () => {
    const child = cpSpawn('sh', ['-c', 'exit 4']);
    const handle = pidfd.from(child);
    expect(handle.pid).toBe(child.pid);
    expect(await handle.exited).toMatchObject({ pid: child.pid, code: 4, signal: null });
    handle.close();
  });

  it.skipIf(skipUnderQemu('seccomp filters cannot be installed under qemu-user') || lacks('waitid'))("reads a child of ours at its exit without reaping it, even where the kernel keeps no records", async () => {
    // open() has no 'exit' event to fall back on: the status can only come from waitid(WNOWAIT).
    const r = await runNode(
      `
      const { spawn } = await import('node:child_process');
      const child = spawn('sh', ['-c', 'read line; kill -TERM $$'], { stdio: ['pipe', 'ignore', 'ignore'] });
      const cpExit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      const h = pidfd.open(child.pid);
      const exited = h.exited;
      child.stdin.end('go\\n');
      const status = await exited;
      console.log(JSON.stringify({ status, cp: await cpExit, features: pidfd.features.exitInfo }));
      `,
      { seccomp: ['pidfd_get_info=ENOTTY'] },
    );
    const out = lastJson(r);
    expect(out.features).toBe(false);
    expect(out.status).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(out.cp).toEqual({ code: null, signal: 'SIGTERM' }); // libuv still reaped it: nothing stolen
  });

  it.skipIf(skipUnderQemu('seccomp filters cannot be installed under qemu-user'))("takes the status from the child's exit event where waitid has no P_PIDFD and no records exist", async () => {
    const r = await runNode(
      `
      const { spawn } = await import('node:child_process');
      const child = spawn('sh', ['-c', 'kill -TERM $$']);
      const h = pidfd.from(child);
      const o = pidfd.open(child.pid);
      console.log(JSON.stringify({ from: await h.exited, open: await o.exited }));
      `,
      { seccomp: ['pidfd_get_info=ENOTTY', 'waitid-pidfd=EINVAL'] }, // Linux 5.3
    );
    const out = lastJson(r);
    expect(out.from).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(out.open).toMatchObject({ code: null, signal: null }); // nothing to read it from
  });

  it('refuses what is not a live ChildProcess', async () => {
    expect(() => pidfd.from({} as any)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => pidfd.from(null as any)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    const child = cpSpawn('true');
    await once(child, 'exit');
    expect(() => pidfd.from(child)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });
});
