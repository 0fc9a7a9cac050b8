// A tree's keeper (src/keeper.cc): the tiny process that is the subreaper of one tree and
// its root's parent, so that this process never is. What it guarantees: exact membership
// (orphaned setsid daemons included), no process-wide side effect (the subreaper flag, other
// children's orphans, a detached job's grandchild), no fd left by a finished tree, and with
// dieWithParent the whole tree dying with its supervisor, SIGKILL included, on both methods
// and in every environment (root, non-root, a read-only cgroup2).
import { execFileSync, spawn as cpSpawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as pidfd from '../dist/index.mjs';
import { native } from '../dist/binding.js';
import { cgroupWritable, keeperWorks, skip, skipUnderQemu } from './environment';
import { memoryCgroup, memoryCgroupMissing } from './memory-cgroup';
import { ownBinary, ownBinaryPath, packageTree } from './package-tree';
import { entry, lastJson, openFds, procState, runNode, settledWithin, until, zombieChildren } from './support';
import { runIn, skipEnv, stagedPackage, treeEnvs } from './tree-env';

const gone = (pid: number) => procState(pid) === null;
const ppid = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
const comm = (pid: number) => fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();

// The methods that can run here: the cgroup one needs a writable cgroup2, the subreaper one a
// keeper (none under qemu-user: its own test below says what spawn() answers there).
const methods = [...(keeperWorks ? ['subreaper'] : []), ...(cgroupWritable ? ['cgroup'] : [])] as const;

describe.runIf(keeperWorks)('the keeper', () => {
  it("is the root's parent and our child, named pidfd-keeper; the root's status comes from it; exited settles when it exits", async () => {
    const child = pidfd.spawn('sh', ['-c', 'read line; exit 7'], { tree: { method: 'subreaper' }, stdio: ['pipe', 'ignore', 'ignore'] });
    const keeper = ppid(child.pid);
    expect(keeper).not.toBe(process.pid);
    expect(ppid(keeper)).toBe(process.pid);
    expect(comm(keeper)).toBe('pidfd-keeper');
    child.stdin!.end('go\n');
    expect(await child.exited).toMatchObject({ code: 7, signal: null });
    await child.tree!.exited;
    await until(() => gone(keeper), 'the keeper reaped');
    expect(zombieChildren()).toEqual([]);
  });

  it('keeps no fd of ours: only its lifeline, report pipe and signalfd', async () => {
    const child = pidfd.spawn('sleep', ['1000'], { tree: { method: 'subreaper' }, stdio: 'ignore' });
    const keeper = ppid(child.pid);
    const fds = fs.readdirSync(`/proc/${keeper}/fd`).map((fd) => fs.readlinkSync(`/proc/${keeper}/fd/${fd}`));
    expect(fds.sort()).toEqual([expect.stringMatching(/^anon_inode:\[signalfd\]$/), expect.stringMatching(/^pipe:/), expect.stringMatching(/^pipe:/)].sort());
    child.tree!.kill('SIGKILL');
    await child.tree!.exited;
  });

  it('a failed exec throws ENOENT and leaves no keeper, fd or zombie', () => {
    const before = openFds();
    expect(() => pidfd.spawn('/nonexistent/x', [], { tree: { method: 'subreaper' } })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(openFds()).toBe(before);
    const kids = fs.readdirSync('/proc/self/task').flatMap((t) => fs.readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim().split(' ')).filter(Boolean);
    for (const pid of kids) expect(comm(Number(pid))).not.toBe('pidfd-keeper');
  });
});

describe.runIf(keeperWorks)('no process-wide side effects (subreaper method)', () => {
  it("a launcher's subreaper flag is never written: still 1 after trees come and go", async () => {
    // python3 (which node-gyp needs anyway) sets the flag, then execs node.
    const launcher = ['python3', '-c', 'import ctypes, os, sys; ctypes.CDLL(None).prctl(36, 1, 0, 0, 0); os.execv(sys.argv[1], sys.argv[1:])'];
    const r = await runNode(`
      const before = native.childSubreaper();
      for (let i = 0; i < 3; i++) {
        const child = pidfd.spawn('sh', ['-c', 'sleep 0.05 & exit 0'], { tree: { method: 'subreaper' }, stdio: 'ignore' });
        await child.tree.exited;
      }
      console.log(JSON.stringify({ before, after: native.childSubreaper() }));
    `, { prefix: launcher });
    expect(lastJson(r)).toEqual({ before: 1, after: 1 });
  });

  it('orphans of our other children go to init while a tree lives, never becoming our zombies', async () => {
    const child = pidfd.spawn('sleep', ['1000'], { tree: { method: 'subreaper' }, stdio: 'ignore' });
    expect(native.childSubreaper()).toBe(0);
    const orphan = Number(execFileSync('sh', ['-c', 'sleep 0.2 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }).trim());
    if (!gone(orphan)) expect(ppid(orphan)).not.toBe(process.pid);
    await until(() => gone(orphan), 'the orphan reaped by init');
    expect(zombieChildren()).toEqual([]);
    child.tree!.kill('SIGKILL');
    await child.tree!.exited;
  });

  it("tree.kill() never signals a detached child_process job's grandchild", async () => {
    const job = cpSpawn('sh', ['-c', 'sleep 1000 >/dev/null 2>&1 & echo $!'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    const grandchild = Number((await new Promise<Buffer>((r) => job.stdout!.once('data', r))).toString().trim());
    await new Promise((r) => job.once('exit', r)); // its shell is gone: the sleep is an orphan
    const stranger = pidfd.open(grandchild);
    const child = pidfd.spawn('sleep', ['1000'], { tree: { method: 'subreaper' }, stdio: 'ignore' });
    expect(child.tree!.pids()).toEqual([child.pid]);
    expect(child.tree!.kill('SIGKILL')).toBe(1);
    await child.tree!.exited;
    expect(stranger.running).toBe(true);
    stranger.kill('SIGKILL');
    await stranger.exited;
    stranger.close();
  });
});

describe.each(methods)('membership is exact (%s method)', (method) => {
  it('a setsid daemon orphaned before any walk is a member: listed by pids(), keeps exited pending, dies with kill(SIGKILL)', async () => {
    const child = pidfd.spawn('sh', ['-c', 'setsid sleep 300 >/dev/null 2>&1 & exit 0'], { tree: { method }, stdio: 'ignore' });
    expect((await child.exited).code).toBe(0);
    const tree = child.tree!;
    // setsid(1) may fork first: the daemon is the sleep, wherever it was orphaned.
    const daemon = await until(() => tree.pids().find((pid) => comm(pid) === 'sleep'), 'the daemon listed');
    expect(await settledWithin(tree.exited, 200)).toBe('pending');
    expect(tree.kill('SIGKILL')).toBeGreaterThanOrEqual(1);
    expect(await settledWithin(tree.exited, 30_000)).toBeUndefined();
    await until(() => gone(daemon), 'the daemon gone');
    tree.close();
    child.close();
  });

  it('a finished tree holds no fd, whatever the user closes or forgets', async () => {
    const before = openFds();
    const forgotten: Array<Promise<unknown>> = [];
    for (let i = 0; i < 50; i++) {
      const child = pidfd.spawn('sh', ['-c', 'sleep 0.01 & exit 0'], { tree: { method }, stdio: 'ignore' });
      // The subprocess is closed in every case (a Pidfd holds its own fd until close() or GC);
      // the tree is closed early, or forgotten.
      if (i % 3 === 0) child.close();
      else if (i % 3 === 1) child.tree!.close();
      forgotten.push(child.tree!.exited.catch(() => {}));
      if (i % 3 !== 0) {
        await child.exited;
        child.close();
      }
    }
    await Promise.all(forgotten); // a closed tree's rejects at once: its keeper may still run
    // The closed trees' keepers are reaped, and their fds closed, once they exit (until() lets the loop turn).
    await until(() => openFds() <= before && zombieChildren().length === 0, 'every fd closed, every keeper reaped');
  });
});

describe.each(methods)('spawn with few free fds (%s method)', (method) => {
  it('with 1 to 8 free fds spawn({ tree }) either returns a working child or throws, leaving no process, fd or directory', async () => {
    const r = await runNode(`
      const fs = await import('node:fs');
      const turn = () => new Promise((r) => setImmediate(() => setImmediate(r)));
      const warm = pidfd.spawn('true', [], { stdio: 'ignore', tree: { method: '${method}' } });
      await warm.exited; await warm.tree.exited; warm.close(); await turn();
      const kids = () => fs.readdirSync('/proc/self/task').flatMap((t) => fs.readFileSync('/proc/self/task/' + t + '/children', 'utf8').trim().split(' ')).filter(Boolean).length;
      const out = [];
      for (let free = 1; free <= 8; free++) {
        const held = [];
        for (;;) { try { held.push(fs.openSync('/dev/null', 'r')); } catch { break; } }
        for (let i = 0; i < free; i++) fs.closeSync(held.pop());
        const before = fs.readdirSync('/proc/self/fd').length;
        let outcome;
        try {
          const child = pidfd.spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore', tree: { method: '${method}' } });
          const st = await child.exited;
          await child.tree.exited;
          child.close();
          outcome = 'exited ' + st.code;
        } catch (e) {
          outcome = e.code;
        }
        await turn();
        out.push({ outcome, fds: fs.readdirSync('/proc/self/fd').length - before, kids: kids() });
        for (const fd of held) fs.closeSync(fd);
      }
      console.log(JSON.stringify(out));
    `, { prefix: ['prlimit', '--nofile=256:256'] });
    const results: Array<{ outcome: string; fds: number; kids: number }> = lastJson(r);
    expect(results).toHaveLength(8);
    for (const x of results) {
      expect(['exited 3', 'EMFILE']).toContain(x.outcome);
      expect(x).toMatchObject({ fds: 0, kids: 0 });
    }
    expect(results[7].outcome).toBe('exited 3');
  });
});

describe.runIf(keeperWorks)('close() kills nothing', () => {
  it('tree.close() and subprocess.close() on a dieWithParent tree leave it running; it still dies with its supervisor', async () => {
    const r = await runNode(`
      const child = pidfd.spawn('sleep', ['1000'], { tree: { method: 'subreaper' }, dieWithParent: true, stdio: 'ignore' });
      child.tree.close();
      child.close();
      const handle = pidfd.open(child.pid);
      const alive = await Promise.race([handle.exited.then(() => false), new Promise((r) => setTimeout(() => r(true), 200))]);
      handle.close();
      console.log(JSON.stringify({ alive, pid: child.pid }));
      process.exit(0); // the supervisor goes: the tree with it
    `);
    const { alive, pid } = lastJson(r);
    expect(alive).toBe(true);
    await until(() => gone(pid), 'the tree gone with its supervisor');
  });
});

// A crowd of 100: the root, and 33 times a plain background sleep, a setsid one and a
// double-forked (orphaned) one.
const crowd = "for i in $(seq 1 33); do sleep 1000 & setsid sleep 1000 & (sleep 1000 &); done; echo ready; wait";

/**
 * A supervisor script (run inside `env`) that starts a sub-supervisor with a dieWithParent
 * tree of 100, SIGKILLs it, and reports how long the tree took to empty and what was left.
 */
function dieWithParentScript(entryPath: string, tree: string): string {
  const inner = `
    import * as pidfd from ${JSON.stringify(entryPath)};
    const child = pidfd.spawn('sh', ['-c', ${JSON.stringify(crowd)}], { tree: ${tree}, dieWithParent: true, stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => child.stdout.once('data', r));
    let pids;
    while ((pids = child.tree.pids()).length < 100) await new Promise((r) => setTimeout(r, 10));
    console.log(JSON.stringify({ method: child.tree.method, cgroup: child.tree.cgroup, pids }));
    setInterval(() => {}, 1 << 30);
  `;
  return `
    const { spawn } = await import('node:child_process');
    const fs = await import('node:fs');
    const sup = spawn(process.execPath, ['--input-type=module', '-e', ${JSON.stringify(inner)}], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    for await (const c of sup.stdout) { text += c; if (text.includes('\\n')) break; }
    const info = JSON.parse(text);
    const handles = info.pids.map((p) => pidfd.open(p));
    const t0 = performance.now();
    sup.kill('SIGKILL');
    await Promise.all(handles.map((h) => h.exited));
    const ms = performance.now() - t0;
    const deadline = Date.now() + 30000;
    while (info.cgroup && fs.existsSync(info.cgroup) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    console.log(JSON.stringify({ method: info.method, count: handles.length, ms, cgroupLeft: info.cgroup ? fs.existsSync(info.cgroup) : false }));
  `;
}

// dieWithParent always needs a keeper, on both methods.
describe.runIf(keeperWorks).each(methods)('dieWithParent on a tree (%s method)', (method) => {
  it('SIGKILL of the supervisor kills the whole 100-process tree (setsid and double-fork daemons included) and leaves no cgroup directory', async () => {
    const r = await runNode(dieWithParentScript(entry, `{ method: '${method}' }`));
    const result = lastJson(r);
    expect(result).toMatchObject({ method, cgroupLeft: false });
    expect(result.count).toBeGreaterThanOrEqual(100);
    console.log(`[tree-keeper] ${method}: 100-process tree empty ${result.ms.toFixed(1)} ms after the supervisor's SIGKILL`);
  });

  it('a worker that ends takes its dieWithParent tree with it; without dieWithParent the tree runs on', async () => {
    const r = await runNode(`
      import { Worker } from 'node:worker_threads';
      const run = async (die) => {
        const w = new Worker(${JSON.stringify(`
          import * as pidfd from ${JSON.stringify(entry)};
          import { parentPort, workerData } from 'node:worker_threads';
          const child = pidfd.spawn('sh', ['-c', 'setsid sleep 1000 >/dev/null 2>&1 & sleep 1000'], { tree: { method: '${method}' }, dieWithParent: workerData, stdio: 'ignore' });
          let pids;
          while ((pids = child.tree.pids()).length < 3) await new Promise((r) => setTimeout(r, 10));
          parentPort.postMessage(pids);
        `)}, { eval: true, workerData: die });
        const [pids] = await (await import('node:events')).once(w, 'message');
        const handles = pids.map((p) => pidfd.open(p));
        await w.terminate();
        let timer;
        const settled = await Promise.race([Promise.all(handles.map((h) => h.exited)).then(() => 'dead'), new Promise((r) => (timer = setTimeout(() => r('alive'), die ? 30000 : 300)))]);
        clearTimeout(timer);
        for (const h of handles) h.kill('SIGKILL');
        await Promise.all(handles.map((h) => h.exited));
        return settled;
      };
      const result = { die: await run(true), keep: await run(false) };
      // The keepers of the dead worker's trees are reaped by the process-wide reaper once they exit.
      const fs = await import('node:fs');
      const keepers = () => fs.readdirSync('/proc/self/task').flatMap((t) => fs.readFileSync('/proc/self/task/' + t + '/children', 'utf8').trim().split(' ')).filter(Boolean);
      const deadline = Date.now() + 30000;
      while (keepers().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      console.log(JSON.stringify({ ...result, childrenLeft: keepers().length }));
    `);
    expect(lastJson(r)).toEqual({ die: 'dead', keep: 'alive', childrenLeft: 0 });
  });
});

// The program is found beside the addon that was loaded (here: a prebuilds/ folder); where it
// is missing or cannot be executed, the keeper runs the same loop in place, in our memory.
describe.runIf(keeperWorks)('the pidfd-keeper program', () => {
  // The copy's own prebuild, not test:asan's override (which would load its build and program).
  const ownAddon = { ...process.env, PIDFD_PREBUILD: undefined };
  const cases = [
    { name: 'beside the prebuild, executable', program: true, mode: 0o755, runs: 'the program' },
    { name: 'beside the prebuild, not executable (EACCES)', program: true, mode: 0o644, runs: 'in place' },
    { name: 'missing (ENOENT)', program: false, mode: 0, runs: 'in place' },
  ];
  it.each(cases)('$name: the tree works, the keeper runs $runs', async ({ program, mode, runs }) => {
    const dest = `linux-${process.arch}`;
    const prebuilds: Record<string, Buffer> = { [`${dest}/pidfd.glibc.node`]: ownBinary() };
    if (program) prebuilds[`${dest}/pidfd-keeper`] = fs.readFileSync(path.join(path.dirname(ownBinaryPath()), 'pidfd-keeper'));
    const dir = packageTree(prebuilds);
    if (program) fs.chmodSync(path.join(dir, 'prebuilds', dest, 'pidfd-keeper'), mode);
    const r = await runNode(`
      import * as fs from 'node:fs';
      const child = pidfd.spawn('sh', ['-c', 'sleep 1000 & read x; exit 5'], { tree: { method: 'subreaper' }, stdio: ['pipe', 'ignore', 'ignore'] });
      const keeper = Number(fs.readFileSync('/proc/' + child.pid + '/stat', 'utf8').split(') ')[1].split(' ')[1]);
      const exe = fs.readlinkSync('/proc/' + keeper + '/exe');
      child.stdin.end('x\\n');
      const status = await child.exited;
      const members = child.tree.pids().length;
      child.tree.kill('SIGKILL');
      await child.tree.exited;
      console.log(JSON.stringify({ exe, code: status.code, members }));
    `, { packageRoot: dir, env: ownAddon });
    const result = lastJson(r);
    expect(result).toMatchObject({ code: 5, members: 1 });
    if (runs === 'the program') expect(result.exe).toBe(path.join(fs.realpathSync(dir), 'prebuilds', dest, 'pidfd-keeper'));
    else expect(result.exe).toBe(fs.realpathSync(process.execPath));
  });

  it('one that takes other arguments (the package upgraded under a running supervisor): spawn() throws, and the root is killed', async () => {
    const dest = `linux-${process.arch}`;
    const dir = packageTree({ [`${dest}/pidfd.glibc.node`]: ownBinary(), [`${dest}/pidfd-keeper`]: '#!/bin/sh\nexit 2\n' });
    fs.chmodSync(path.join(dir, 'prebuilds', dest, 'pidfd-keeper'), 0o755);
    const marker = String(1_000_000 + (process.pid % 100_000));
    const r = await runNode(`
      let error;
      try { pidfd.spawn('sleep', ['${marker}'], { tree: { method: 'subreaper' }, stdio: 'ignore' }); } catch (e) { error = { code: e.code, message: e.message }; }
      console.log(JSON.stringify({ error }));
    `, { packageRoot: dir, env: ownAddon });
    expect(lastJson(r).error).toMatchObject({ code: 'ECHILD', message: expect.stringMatching(/pidfd-keeper program .* does not match/) });
    const running = () => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).some((p) => {
      try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${marker}\0`; } catch { return false; }
    });
    await until(() => !running(), 'the root gone');
  });
});

// The OOM killer kills every process that shares the victim's memory: a keeper still in the
// supervisor's memory would die with it and leave the tree running. The supervisor runs in a
// memory cgroup of its own and allocates until the OOM killer ends it.
describe.runIf(keeperWorks).each(methods)('dieWithParent when the OOM killer ends the supervisor (%s method)', (method) => {
  it.skipIf(skip(memoryCgroupMissing !== null, `OOM-kill tests: ${memoryCgroupMissing}`))(
    'the whole tree dies: its keeper runs the pidfd-keeper program, in a memory of its own',
    async () => {
      const memcg = memoryCgroup(384 << 20);
      const inner = `
        import * as pidfd from ${JSON.stringify(entry)};
        import * as fs from 'node:fs';
        const child = pidfd.spawn('sh', ['-c', 'setsid sleep 1000 & (sleep 1000 &); echo ready; sleep 1000'], { tree: { method: '${method}' }, dieWithParent: true, stdio: ['ignore', 'pipe', 'ignore'] });
        await new Promise((r) => child.stdout.once('data', r));
        let pids;
        while ((pids = child.tree.pids()).length < 4) await new Promise((r) => setTimeout(r, 10));
        const keeper = Number(fs.readFileSync('/proc/' + child.pid + '/stat', 'utf8').split(') ')[1].split(' ')[1]);
        console.log(JSON.stringify({ method: child.tree.method, cgroup: child.tree.cgroup, pids, keeper }));
        process.stdin.once('data', () => {
          const hog = [];
          for (;;) hog.push(Buffer.alloc(8 << 20, 1));
        });
      `;
      const sup = cpSpawn('sh', ['-c', 'echo $$ > "$0" && exec "$@"', memcg.procs, process.execPath, '--input-type=module', '-e', inner], { stdio: ['pipe', 'pipe', 'inherit'] });
      const exit = new Promise<[number | null, string | null]>((resolve) => sup.once('exit', (code, signal) => resolve([code, signal])));
      let handles: pidfd.Pidfd[] = [];
      try {
        let text = '';
        for await (const c of sup.stdout!) if ((text += c).includes('\n')) break;
        const info = JSON.parse(text);
        expect(info.method).toBe(method);
        expect(fs.readlinkSync(`/proc/${info.keeper}/exe`)).toMatch(/\/pidfd-keeper$/);
        handles = info.pids.map((p: number) => pidfd.open(p));
        sup.stdin!.end('go\n');
        expect(await exit).toEqual([null, 'SIGKILL']);
        const kills = memcg.oomKills();
        if (kills !== null) expect(kills).toBeGreaterThanOrEqual(1);
        // Within 30 s, on a loaded machine: the keeper needs milliseconds.
        expect(await settledWithin(Promise.all(handles.map((h) => h.exited)).then(() => 'dead'), 30_000)).toBe('dead');
        await until(() => !info.cgroup || !fs.existsSync(info.cgroup), 'the tree cgroup removed');
      } finally {
        sup.kill('SIGKILL');
        await exit;
        for (const h of handles) h.kill('SIGKILL');
        await Promise.all(handles.map((h) => h.exited));
        await memcg.remove();
      }
    },
  );
});

describe.runIf(keeperWorks).each(treeEnvs)('dieWithParent in the %s environment', (env) => {
  it.skipIf(skipEnv(env))('tree: true: SIGKILL of the supervisor kills the whole tree', async () => {
    const entryPath = env.endsWith('nonroot') ? path.join(stagedPackage(), 'dist', 'index.mjs') : entry;
    const r = await runIn(env, dieWithParentScript(entryPath, 'true'));
    const result = lastJson(r);
    expect(result.cgroupLeft).toBe(false);
    expect(result.count).toBeGreaterThanOrEqual(100);
    if (env !== 'root') expect(result.method).toBe('subreaper');
  });
});

describe.runIf(!keeperWorks)('where no keeper can be made (qemu-user)', () => {
  it('a subreaper tree throws an error that says what is missing, and starts nothing', () => {
    expect(() => pidfd.spawn('true', [], { tree: { method: 'subreaper' }, stdio: 'ignore' })).toThrow(/process trees need a writable cgroup2 or a tree keeper/);
  });
});

describe.skipIf(skipUnderQemu('seccomp filters cannot be installed under qemu-user'))('where the kernel or a sandbox refuses part of it (seccomp, as qemu-user and old kernels do)', () => {
  const script = (method: string) => `
    const fs = await import('node:fs');
    const warm = pidfd.spawn('true', [], { stdio: 'pipe' }); // the loop's lazily made fds, before counting
    for await (const _ of warm.stdout) {}
    await warm.exited;
    warm.close();
    const turn = () => new Promise((r) => setImmediate(() => setImmediate(r)));
    await turn();
    const before = fs.readdirSync('/proc/self/fd').length;
    let result;
    try {
      const child = pidfd.spawn('sh', ['-c', 'setsid sleep 1000 >/dev/null 2>&1 & cat /proc/self/cgroup'], { tree: { method: '${method}' }, stdio: ['ignore', 'pipe', 'ignore'] });
      let text = '';
      for await (const chunk of child.stdout) text += chunk;
      await child.exited;
      const tree = child.tree;
      const members = tree.pids().length;
      const inCgroup = tree.cgroup !== null && text.includes(tree.cgroup.split('/').pop());
      tree.kill('SIGKILL');
      await tree.exited;
      child.close();
      result = { method: tree.method, members, inCgroup };
    } catch (e) {
      result = { code: e.code, syscall: e.syscall, message: e.message };
    }
    await turn();
    await turn();
    const kids = fs.readdirSync('/proc/self/task').flatMap((t) => fs.readFileSync('/proc/self/task/' + t + '/children', 'utf8').trim().split(' ')).filter(Boolean);
    console.log(JSON.stringify({ ...result, fdsLeft: fs.readdirSync('/proc/self/fd').length - before, kids: kids.length }));
  `;

  it.runIf(cgroupWritable)('without clone3 (so without CLONE_INTO_CGROUP) the root joins the tree cgroup itself, before exec', async () => {
    const r = lastJson(await runNode(script('cgroup'), { seccomp: ['clone3=ENOSYS'] }));
    expect(r).toEqual({ method: 'cgroup', members: 1, inCgroup: true, fdsLeft: 0, kids: 0 });
  });

  it('without clone3 the keeper is made with clone(CLONE_VM|CLONE_FILES|CLONE_PIDFD): a subreaper tree works', async () => {
    const r = lastJson(await runNode(script('subreaper'), { seccomp: ['clone3=ENOSYS'] }));
    expect(r).toEqual({ method: 'subreaper', members: 1, inCgroup: false, fdsLeft: 0, kids: 0 });
  });

  it('with CLONE_VM processes refused (as qemu-user), a subreaper tree throws an error that says what is missing, leaving nothing', async () => {
    const r = lastJson(await runNode(script('subreaper'), { seccomp: ['clone3=ENOSYS', 'clone-pidfd=EINVAL', 'clone-vm=EINVAL'] }));
    expect(r).toMatchObject({ code: 'EINVAL', syscall: 'clone', fdsLeft: 0, kids: 0 });
    expect(r.message).toMatch(/process trees need a writable cgroup2 or a tree keeper.*tree: false/);
  });
});
