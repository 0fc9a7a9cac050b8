// What a user meets first (issue 19's friction list): errors shaped like Node's that say what
// happened and what would help, pidfd.features as console.log shows it, and close() disarming
// a child's timeout and signal.
import { spawn as cpSpawn } from 'node:child_process';
import { getEventListeners, once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as util from 'node:util';
import { describe, expect, it } from 'vitest';
import * as pidfd from '../dist/index.mjs';
import { ownCgroupDir } from '../dist/cgroup.js';
import { keeperWorks, skip } from './environment';
import { lastJson, loopTurn, openPidfds, root, runNode, skipUnderQemu } from './support';

/** Whether uid 65534 can load this checkout (every directory up to it searchable, dist readable). */
const nobodyCanRead = (() => {
  for (let dir = root; ; dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) return false;
    if (dir === path.dirname(dir)) break;
  }
  return (fs.statSync(path.join(root, 'dist', 'index.mjs')).mode & 0o004) !== 0;
})();
const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
const skipNobody = () =>
  skip(skipUnderQemu('setpriv under qemu-user runs the emulator as nobody') || !nobodyCanRead, 'uid 65534 cannot read this checkout');

describe('pidfd.features', () => {
  it('prints its values, not [Getter], in console.log and util.inspect; JSON has them too', () => {
    const shown = util.inspect(pidfd.features);
    expect(shown).not.toContain('Getter');
    expect(shown).toBe(util.inspect({ ...pidfd.features }));
    expect(JSON.parse(JSON.stringify(pidfd.features))).toEqual({ ...pidfd.features });
  });
});

describe('from(child)', () => {
  it('throws an argument error, not ESRCH, for a child whose spawn failed (no pid), and opens nothing', async () => {
    const child = cpSpawn('/no/such/program-pidfd');
    const failed = once(child, 'error');
    const before = openPidfds();
    let error: any;
    try {
      pidfd.from(child);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(error.message).toMatch(/never started.*'\/no\/such\/program-pidfd'/);
    expect(openPidfds()).toBe(before);
    expect((await failed)[0]).toMatchObject({ code: 'ENOENT' });
  });
});

describe('kill() signal numbers', () => {
  const outOfRange = [65, 999, 2 ** 31, 2 ** 40, -1, -(2 ** 32) + 15];

  it('refuses numbers outside 0..64 with ERR_UNKNOWN_SIGNAL whether the process runs, has exited or the handle is closed', async () => {
    const child = pidfd.spawn('sleep', ['1000'], { stdio: 'ignore' });
    const cp = cpSpawn('sleep', ['1000'], { stdio: 'ignore' });
    for (const signal of outOfRange) {
      const unknown = expect.objectContaining({ name: 'TypeError', code: 'ERR_UNKNOWN_SIGNAL', message: `Unknown signal: ${signal}` });
      expect(() => child.kill(signal), `running, kill(${signal})`).toThrow(unknown);
      expect(() => cp.kill(signal), `ChildProcess.kill(${signal})`).toThrow(unknown); // Node's own agrees
    }
    expect(child.running).toBe(true);
    cp.kill('SIGKILL');
    child.kill('SIGKILL');
    await child.exited;
    for (const signal of outOfRange) {
      expect(() => child.kill(signal), `exited, kill(${signal})`).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_SIGNAL' }));
    }
    expect(child.kill(64)).toBe(false); // SIGRTMAX is a signal: false, as for any signal once exited
    child.close();
    expect(() => child.kill(2 ** 40)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_SIGNAL' }));
    expect(() => child.kill(64)).toThrow(expect.objectContaining({ code: 'ERR_PIDFD_CLOSED' }));
  });

  it('refuses the same numbers as a killSignal before anything starts', () => {
    expect(() => pidfd.spawn('true', [], { timeout: 10, killSignal: 65 })).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_SIGNAL' }));
  });
});

describe('missing features', () => {
  it.skipIf(skipUnderQemu('seccomp filters cannot be installed under qemu-user'))('carry err.syscall: the call that answered', async () => {
    const r = await runNode(
      `
      const h = pidfd.open(process.pid);
      const error = (fn) => { try { fn(); return null; } catch (e) { return { code: e.code, syscall: e.syscall, errno: e.errno }; } };
      console.log(JSON.stringify({
        getfd: error(() => h.getfd(0)),
        mrelease: error(() => h.mrelease()),
        thread: error(() => pidfd.open(process.pid, { thread: true })),
        scope: error(() => h.kill(0, { scope: 'process' })),
      }));
      `,
      { seccomp: ['pidfd_getfd=ENOSYS', 'process_mrelease=ENOSYS', 'pidfd_open-thread=EINVAL', 'pidfd_send_signal-flags=EINVAL'] },
    );
    expect(lastJson(r)).toEqual({
      getfd: { code: 'ENOSYS', errno: -38, syscall: 'pidfd_getfd' },
      mrelease: { code: 'ENOSYS', errno: -38, syscall: 'process_mrelease' },
      thread: { code: 'EINVAL', errno: -22, syscall: 'pidfd_open' },
      scope: { code: 'EINVAL', errno: -22, syscall: 'pidfd_send_signal' },
    });
  });
});

describe('spawn() errors', () => {
  const shape = `(e) => ({ code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, spawnargs: e.spawnargs, message: e.message })`;

  it.skipIf(skipUnderQemu('seccomp filters cannot be installed under qemu-user'))('a spawn that fails in pidfd_open says spawn <file> <CODE>, naming the step', async () => {
    const r = await runNode(`try { pidfd.spawn('true', ['x']); } catch (e) { console.log(JSON.stringify((${shape})(e))); }`, {
      seccomp: ['clone3=ENOSYS', 'clone-pidfd=EINVAL', 'pidfd_open=ENOSYS'],
    });
    expect(lastJson(r)).toEqual({
      code: 'ENOSYS', errno: -38, syscall: 'spawn true', path: 'true', spawnargs: ['x'], message: 'spawn true ENOSYS (in pidfd_open)',
    });
  });

  it('a uid change without CAP_SETUID says spawn <file> EPERM and which capability it needs', async () => {
    const r = await runNode(`try { pidfd.spawn('true', [], { uid: 65534 }); } catch (e) { console.log(JSON.stringify((${shape})(e))); }`, {
      prefix: ['setpriv', '--inh-caps=-setuid', '--bounding-set=-setuid', '--'],
    });
    expect(lastJson(r)).toEqual({
      code: 'EPERM', errno: -1, syscall: 'spawn true', path: 'true', spawnargs: [],
      message: 'spawn true EPERM (in setuid: running the child as another user needs CAP_SETUID (root))',
    });
  });

  it.skipIf(skipNobody())('uid: 0 as a non-root user: the same', async () => {
    const r = await runNode(`try { pidfd.spawn('true', [], { uid: 0 }); } catch (e) { console.log(JSON.stringify((${shape})(e))); }`, {
      prefix: asNobody,
    });
    expect(lastJson(r)).toMatchObject({ code: 'EPERM', syscall: 'spawn true', message: expect.stringContaining('CAP_SETUID') });
  });
});

describe('permission errors say what would help', () => {
  it.skipIf(skipNobody())("kill() and getfd() on another user's process", async () => {
    const target = pidfd.spawn('sleep', ['1000'], { stdio: 'ignore' }); // root's
    const r = await runNode(
      `
      const h = pidfd.open(${target.pid});
      const error = (fn) => { try { fn(); return null; } catch (e) { return { code: e.code, syscall: e.syscall, message: e.message }; } };
      console.log(JSON.stringify({ kill: error(() => h.kill(0)), getfd: error(() => h.getfd(0)) }));
      `,
      { prefix: asNobody },
    );
    const out = lastJson(r);
    expect(out.kill).toEqual({ code: 'EPERM', syscall: 'pidfd_send_signal', message: expect.stringMatching(/^pidfd_send_signal EPERM: .*CAP_KILL/) });
    expect(out.getfd).toEqual({ code: 'EPERM', syscall: 'pidfd_getfd', message: expect.stringMatching(/^pidfd_getfd EPERM: .*CAP_SYS_PTRACE/) });
    target.kill('SIGKILL');
    await target.exited;
    target.close();
  });

  it.skipIf(skipNobody() || skip(ownCgroupDir() === null, 'no cgroup2 mount'))('a tree forced into a cgroup this user may not write says what delegation means', async () => {
    const r = await runNode(
      `try { pidfd.spawn('true', [], { tree: { method: 'cgroup' } }); console.log('null'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`,
      { prefix: asNobody },
    );
    const out = lastJson(r);
    if (out.code === 'EROFS') expect(out.message).toMatch(/mounted read-only.*method: 'subreaper'/);
    else expect(out).toEqual({ code: 'EACCES', message: expect.stringMatching(/is not delegated to this user.*Delegate=yes.*method: 'subreaper'/) });
  });
});

describe('close()', () => {
  /** Spawns a sleeper with a 20 ms timeout and an AbortSignal, closes what `close` closes, and checks neither kills it. */
  async function expectDisarmed(tree: { tree?: { method: 'subreaper' } }, close: (child: pidfd.Subprocess) => void): Promise<void> {
    const controller = new AbortController();
    const child = pidfd.spawn('sleep', ['1000'], { stdio: 'ignore', timeout: 20, signal: controller.signal, ...tree });
    const observer = pidfd.open(child.pid);
    close(child);
    await loopTurn();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 200)); // after the 20 ms timer, whatever the load: timers fire in order
    expect(observer.running).toBe(true);
    expect(child.killedBy).toBe(null);
    observer.kill('SIGKILL');
    await observer.exited;
    observer.close();
  }

  it('disarms the timeout and the abort listener: the child runs on, killed by neither', async () => {
    await expectDisarmed({}, (child) => child.close());
  });

  it.skipIf(skip(!keeperWorks, 'the subreaper tree method needs a tree keeper (a CLONE_VM process), refused here'))('with a tree, the tree takes the kill: closing the tree (and the child) disarms both', async () => {
    await expectDisarmed({ tree: { method: 'subreaper' } }, (child) => {
      child.tree!.close();
      child.close();
    });
  });
});
