// Process trees (spawn({ tree }), pidfd.tree()): both methods on the real kernel, as root.
// The cgroup method needs a writable cgroup2 (found in /proc/self/mountinfo); the subreaper
// method is forced with { method: 'subreaper' }, and the automatic fallback by hiding the
// cgroup2 mount (read-only bind) in a mount namespace.
import { spawn as cpSpawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import * as pidfd from '../dist/index.mjs';
import { native } from '../dist/binding.js';
import { cgroup2Mount, ownCgroupDir } from '../dist/cgroup.js';
import { cgroupWritable, keeperWorks, qemu, skip } from './environment';
import { entry, lastJson, openFds, procState, runNode, settledWithin, until, zombieChildren } from './support';

const { EINVAL } = constants.errno;

const mount = cgroup2Mount();
// CLONE_INTO_CGROUP needs Linux 5.7 and clone3 (qemu-user has none): probe the real thing.
const cgroupSpawns = (() => {
  if (!cgroupWritable) return false;
  try {
    const child = pidfd.spawn('true', [], { tree: { method: 'cgroup' }, stdio: 'ignore' });
    child.tree!.close();
    child.close();
    return true;
  } catch (err) {
    console.log(`[tree] clone3(CLONE_INTO_CGROUP) fails here (${(err as Error).message}): the cgroup-method tests are skipped`);
    return false;
  }
})();
if (!cgroupWritable) console.log('[tree] no writable cgroup2 here: the cgroup-method tests are skipped');

const methods = ['cgroup', 'subreaper'] as const;
const runs = (method: string) => (method === 'subreaper' ? keeperWorks : cgroupSpawns);

/** Reads lines from a stream until n have arrived. */
async function lines(stream: NodeJS.ReadableStream, n: number): Promise<string[]> {
  let text = '';
  for await (const chunk of stream) {
    text += chunk;
    const got = text.split('\n').filter(Boolean);
    if (got.length >= n) return got;
  }
  throw new Error(`stream ended after: ${text}`);
}

const gone = (pid: number) => procState(pid) === null;
/** Our tree cgroups still on disk. */
const treeDirs = () => (cgroupWritable ? fs.readdirSync(ownCgroupDir()!).filter((n) => n.startsWith(`pidfd-${process.pid}-`)) : []);

// A setsid double-forked daemon, a nohup background job and a plain child; prints their pids.
const nest =
  `setsid sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $!'; ` +
  `nohup sleep 1000 >/dev/null 2>&1 & echo $!; sleep 1000 & echo $!; wait`;

describe.each(methods)('tree, %s method', (method) => {
  it.runIf(runs(method))('contains a setsid daemon, a nohup job and a plain child: pids() lists them; kill(SIGKILL) leaves none', async () => {
    const child = pidfd.spawn('sh', ['-c', nest], { tree: { method }, stdio: ['ignore', 'pipe', 'inherit'] });
    const tree = child.tree!;
    expect(tree.method).toBe(method);
    // A keeper is the subreaper, never this process (qemu-user cannot say: it answers PR_GET_CHILD_SUBREAPER with EINVAL).
    expect(native.childSubreaper()).toBe(qemu ? -EINVAL : 0);
    const [daemon, job, plain] = (await lines(child.stdout!, 3)).map(Number);
    const pids = tree.pids();
    for (const pid of [child.pid, daemon, job, plain]) expect(pids).toContain(pid);
    expect(tree.kill('SIGKILL')).toBeGreaterThanOrEqual(4);
    expect(await settledWithin(tree.exited, 30_000)).toBeUndefined();
    expect((await child.exited).signal).toBe('SIGKILL');
    for (const pid of [daemon, job, plain]) await until(() => gone(pid), `${pid} gone (no zombie either)`, 30_000);
    expect(tree.pids()).toEqual([]);
    expect(tree.kill()).toBe(0);
    if (method === 'cgroup') expect(fs.existsSync(tree.cgroup!)).toBe(false);
    tree.close();
  });

  it.runIf(runs(method))('only the root exits: exited stays pending while the daemon lives, settles when it exits', async () => {
    const child = pidfd.spawn('sh', ['-c', `setsid sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $!'`], {
      tree: { method },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [daemon] = (await lines(child.stdout!, 1)).map(Number);
    expect((await child.exited).code).toBe(0);
    expect(await settledWithin(child.tree!.exited, 500)).toBe('pending');
    expect(child.tree!.pids()).toEqual([daemon]);
    process.kill(daemon, 'SIGTERM');
    expect(await settledWithin(child.tree!.exited, 30_000)).toBeUndefined();
    await until(() => gone(daemon), 'the daemon reaped', 30_000);
  });

  it.runIf(runs(method))('a shell forking sleep as fast as it can (3000 at most): after kill nothing survives', async () => {
    const marker = String(10_000 + Math.floor(Math.random() * 80_000));
    const child = pidfd.spawn('sh', ['-c', `i=0; while [ $i -lt 3000 ]; do sleep ${marker} & i=$((i+1)); done; wait`], {
      tree: { method },
      stdio: 'ignore',
    });
    await until(() => child.tree!.pids().length > 50, 'the forker under way', 30_000);
    expect(child.tree!.kill('SIGTERM')).toBeGreaterThan(50);
    const outcome = await settledWithin(child.tree!.exited, 60_000);
    if (outcome === 'pending') child.tree!.kill('SIGKILL'); // SIGTERM must have done it: report survivors
    expect(outcome).toBeUndefined();
    const survivors = fs.readdirSync('/proc').filter((p) => {
      try {
        return /^\d+$/.test(p) && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${marker}\0`;
      } catch {
        return false;
      }
    });
    expect(survivors).toEqual([]);
  });

  it.runIf(runs(method))('a dev-server nest (sh, node, node on a port): after tree.kill() the port binds again at once', async () => {
    const probe = net.createServer().listen(0);
    await once(probe, 'listening');
    const port = (probe.address() as net.AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const server = `require('net').createServer().listen(${port}, () => console.log('ready'))`;
    const middle = `require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(server)}], { stdio: 'inherit' }); setInterval(() => {}, 1000)`;
    const child = pidfd.spawn('sh', ['-c', `${JSON.stringify(process.execPath)} -e ${JSON.stringify(middle)}; echo done`], {
      tree: { method },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await lines(child.stdout!, 1);
    expect(child.tree!.pids().length).toBe(3);
    child.tree!.kill();
    expect(await settledWithin(child.tree!.exited, 30_000)).toBeUndefined();
    const again = net.createServer();
    again.listen(port);
    await once(again, 'listening');
    again.close();
  });

  it.runIf(runs(method))("child_process in the same process still gets its 'exit' with the right code while trees are reaped", async () => {
    const tree = pidfd.spawn('sh', ['-c', nest], { tree: { method }, stdio: ['ignore', 'pipe', 'inherit'] });
    await lines(tree.stdout!, 3);
    const children = Array.from({ length: 5 }, (_, i) => cpSpawn('sh', ['-c', `sleep 0.${i + 1}; exit ${40 + i}`]));
    const codes = children.map((c) => once(c, 'exit').then(([code]) => code));
    tree.tree!.kill('SIGKILL');
    await tree.tree!.exited;
    expect(await Promise.all(codes)).toEqual([40, 41, 42, 43, 44]);
  });

  it.runIf(runs(method))('terminate() escalates to killSignal for a member that ignores SIGTERM', async () => {
    const child = pidfd.spawn('sh', ['-c', `sh -c 'trap "" TERM; echo up; while :; do sleep 1; done' & wait`], {
      tree: { method },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await lines(child.stdout!, 1);
    const aborted = new AbortController();
    aborted.abort(new Error('stop'));
    await expect(child.tree!.terminate({ abortSignal: aborted.signal })).rejects.toThrow('stop');
    expect(await settledWithin(child.tree!.terminate({ timeout: 200 }), 30_000)).toBeUndefined();
  });

  it.runIf(runs(method))('nothing leaks: no cgroup directory, no fd, no zombie once exited', async () => {
    const before = openFds();
    for (let i = 0; i < 5; i++) {
      const child = pidfd.spawn('sh', ['-c', 'sleep 0.05 & sleep 0.05 &'], { tree: { method }, stdio: 'ignore' });
      await child.tree!.exited;
      await child.exited;
      child.tree!.close();
      child.close();
    }
    // The process is a subreaper only while a subreaper tree lives.
    if (method === 'subreaper') expect(native.childSubreaper()).toBe(0);
    const clean = () => openFds() <= before && zombieChildren().length === 0 && treeDirs().length === 0;
    await until(clean, 'fds, zombies and cgroups back', 30_000).catch(() => {
      expect({ fds: openFds(), zombies: zombieChildren(), dirs: treeDirs() }).toEqual({ fds: before, zombies: [], dirs: [] });
    });
  });
});

describe.runIf(cgroupSpawns)('tree, cgroup method specifics', () => {
  it('starts the child inside its own cgroup under this process\'s cgroup, from its first instant', async () => {
    const child = pidfd.spawn('cat', ['/proc/self/cgroup'], { tree: true, stdio: ['ignore', 'pipe', 'inherit'] });
    const line = (await lines(child.stdout!, 1)).find((l) => l.startsWith('0::'))!;
    const tree = child.tree!;
    expect(tree.method).toBe('cgroup');
    const dir = tree.cgroup!;
    expect(path.dirname(dir)).toBe(ownCgroupDir());
    expect(path.join(mount!.mountPoint, line.slice(3))).toBe(dir);
    await tree.exited;
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('removes the empty tree cgroups a process that died (SIGKILL) left behind, once stale', async () => {
    const parent = path.join(ownCgroupDir()!, `pidfd-test-sweep-${process.pid}`);
    fs.mkdirSync(parent);
    try {
      const dead = path.join(parent, `pidfd-${2 ** 31 - 2}-0-1`); // that pid never exists
      const fresh = path.join(parent, `pidfd-${2 ** 31 - 2}-0-2`);
      fs.mkdirSync(dead);
      fs.mkdirSync(fresh);
      const old = new Date(Date.now() - 10 * 60_000);
      fs.utimesSync(dead, old, old);
      const child = pidfd.spawn('true', [], { tree: { cgroup: parent }, stdio: 'ignore' });
      expect(fs.existsSync(dead)).toBe(false);
      expect(fs.existsSync(fresh)).toBe(true); // may be one being set up
      await child.tree!.exited;
      fs.rmdirSync(fresh);
    } finally {
      fs.rmdirSync(parent);
    }
  });

  it('tree: { cgroup } creates the tree under that parent', async () => {
    const parent = path.join(ownCgroupDir()!, `pidfd-test-parent-${process.pid}`);
    fs.mkdirSync(parent);
    try {
      const child = pidfd.spawn('sleep', ['0.1'], { tree: { cgroup: parent }, stdio: 'ignore' });
      expect(path.dirname(child.tree!.cgroup!)).toBe(parent);
      await child.tree!.exited;
      expect(fs.readdirSync(parent).filter((n) => n.startsWith('pidfd-'))).toEqual([]);
    } finally {
      fs.rmdirSync(parent);
    }
  });

  it('kill() with SIGTERM freezes, signals and thaws: a member that handles it runs its handler', async () => {
    const child = pidfd.spawn('sh', ['-c', `sh -c 'trap "echo got; exit 3" TERM; echo up; while :; do sleep 0.05; done' & wait`], {
      tree: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await lines(child.stdout!, 1);
    expect(child.tree!.kill('SIGTERM')).toBeGreaterThanOrEqual(2);
    expect(await settledWithin(child.tree!.exited, 30_000)).toBeUndefined();
    expect(fs.readFileSync(path.join(ownCgroupDir()!, 'cgroup.procs'), 'utf8')).not.toContain(`${child.pid}\n`);
  });

  it('a worker terminated mid-tree leaves nothing: the cgroup is removed once the tree ends', async () => {
    const r = await runNode(`
      import { Worker } from 'node:worker_threads';
      const w = new Worker(${JSON.stringify(`
        import * as pidfd from ${JSON.stringify(entry)};
        import { parentPort } from 'node:worker_threads';
        const child = pidfd.spawn('sleep', ['1000'], { tree: true, stdio: 'ignore' });
        parentPort.postMessage([child.tree.cgroup, child.pid]);
      `)}, { eval: true });
      const [[dir, pid]] = await (await import('node:events')).once(w, 'message');
      await w.terminate();
      const fs = await import('node:fs');
      const existed = fs.existsSync(dir); // the tree lives on: it ends only when we kill it
      process.kill(pid, 'SIGKILL'); // our child, alive and unreaped: the pid is still its own
      const deadline = Date.now() + 30000;
      while (fs.existsSync(dir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      console.log(JSON.stringify({ existed, removed: !fs.existsSync(dir) }));
    `);
    expect(lastJson(r)).toEqual({ existed: true, removed: true });
  });

  it('in a worker: a tree spawns, is killed and cleaned up', async () => {
    const r = await runNode(`
      import { Worker } from 'node:worker_threads';
      const w = new Worker(${JSON.stringify(`
        import * as pidfd from ${JSON.stringify(entry)};
        import { parentPort } from 'node:worker_threads';
        import * as fs from 'node:fs';
        const child = pidfd.spawn('sh', ['-c', 'sleep 100 & sleep 100'], { tree: true, stdio: 'ignore' });
        const dir = child.tree.cgroup;
        while (child.tree.pids().length < 2) await new Promise((r) => setTimeout(r, 10));
        const n = child.tree.kill('SIGKILL');
        await child.tree.exited;
        parentPort.postMessage({ n, left: fs.existsSync(dir) });
      `)}, { eval: true });
      const [msg] = await (await import('node:events')).once(w, 'message');
      await w.terminate();
      console.log(JSON.stringify(msg));
    `);
    expect(lastJson(r).n).toBeGreaterThanOrEqual(2);
    expect(lastJson(r).left).toBe(false);
  });
});

describe('tree: the subreaper fallback where cgroup2 is not writable', () => {
  it.runIf(mount !== null).skipIf(skip(!keeperWorks, 'the subreaper tree method needs a tree keeper (a CLONE_VM process), refused here'))('tree: true falls back to the subreaper method; an explicit cgroup parent fails with nothing started', async () => {
    // A mount namespace where the cgroup2 mount is read-only.
    const r = await runNode(
      `
      const fs = await import('node:fs');
      const kids = () => fs.readFileSync('/proc/self/task/' + process.pid + '/children', 'utf8').trim();
      const before = kids();
      let error;
      try { pidfd.spawn('sleep', ['100'], { tree: { cgroup: ${JSON.stringify(mount?.mountPoint)} } }); } catch (e) { error = { code: e.code, syscall: e.syscall }; }
      const after = kids();
      const child = pidfd.spawn('sh', ['-c', ${JSON.stringify(nest)}], { tree: true, stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      for await (const chunk of child.stdout) { text += chunk; if (text.split('\\n').filter(Boolean).length >= 3) break; }
      const pids = text.trim().split('\\n').map(Number);
      const listed = pids.every((p) => child.tree.pids().includes(p));
      child.tree.kill('SIGKILL');
      await child.tree.exited;
      console.log(JSON.stringify({ error, same: before === after, method: child.tree.method, listed }));
    `,
      { prefix: ['unshare', '--mount', 'sh', '-c', `mount --bind -o ro "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"`, mount?.mountPoint ?? '/'] },
    );
    expect(lastJson(r)).toEqual({ error: { code: 'EROFS', syscall: 'mkdir' }, same: true, method: 'subreaper', listed: true });
  });
});

describe('tree: bad input', () => {
  it('a tree option that is neither boolean nor options is refused, and nothing starts', () => {
    const dirs = treeDirs();
    const children = fs.readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8');
    for (const tree of ['yes', 1, null, []]) {
      expect(() => pidfd.spawn('sleep', ['100'], { tree } as any)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    }
    expect(() => pidfd.spawn('sleep', ['100'], { tree: { method: 'magic' } } as any)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(fs.readFileSync(`/proc/self/task/${process.pid}/children`, 'utf8')).toBe(children);
    expect(treeDirs()).toEqual(dirs);
  });

  it.runIf(mount !== null)('a cgroup path outside the cgroup2 mount, or not a cgroup, is refused', () => {
    for (const cgroup of ['/tmp', path.join(mount!.mountPoint, 'no-such-cgroup'), `${mount!.mountPoint}/../x`, 'a\0b']) {
      expect(() => pidfd.spawn('sleep', ['100'], { tree: { cgroup } })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    }
  });

  it.runIf(cgroupSpawns)('a failed exec in a tree throws ENOENT and leaves no cgroup directory', () => {
    const dirs = treeDirs();
    expect(() => pidfd.spawn('/no/such/program', [], { tree: true })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(treeDirs()).toEqual(dirs);
  });

  it('pidfd.tree() on a pid that does not exist throws ESRCH; bad arguments are Node-style errors', () => {
    expect(() => pidfd.tree(2 ** 31 - 1)).toThrow(expect.objectContaining({ code: 'ESRCH', syscall: 'pidfd_open' }));
    expect(() => pidfd.tree('1' as any)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => pidfd.tree(0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });
});

describe('pidfd.tree(pid): a process we did not spawn', () => {
  it("reaches a child_process child's setsid grandchildren", async () => {
    const cp = cpSpawn('sh', ['-c', `setsid sleep 1000 & echo $!; setsid sh -c 'sleep 1000 & echo $!; wait' & wait`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exit = once(cp, 'exit');
    const [a, b] = (await lines(cp.stdout!, 2)).map(Number);
    await until(() => procState(a) !== null && procState(b) !== null, 'started');
    const tree = pidfd.tree(cp.pid!);
    expect(tree.pids()).toEqual(expect.arrayContaining([cp.pid, a, b]));
    expect(tree.kill('SIGKILL')).toBeGreaterThanOrEqual(4);
    await tree.exited;
    const [code, signal] = await exit;
    expect([code, signal]).toEqual([null, 'SIGKILL']);
    for (const pid of [a, b]) await until(() => gone(pid), `${pid} gone`, 30_000);
    tree.close();
  });

  it('takes a Pidfd too, and refuses a closed one', async () => {
    const child = pidfd.spawn('sh', ['-c', 'sleep 1000 & wait'], { stdio: 'ignore' });
    await until(() => fs.readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim() !== '', 'the grandchild');
    const tree = pidfd.tree(child);
    expect(tree.pids().length).toBe(2);
    tree.kill('SIGKILL');
    await tree.exited;
    child.close();
    expect(() => pidfd.tree(child)).toThrow(expect.objectContaining({ code: 'ERR_PIDFD_CLOSED' }));
  });
});

