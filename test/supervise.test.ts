// spawn()'s supervision options: timeout, signal and killSignal (child_process's meanings),
// and dieWithParent, checked by SIGKILLing a real Node parent under each spawn method.
import { spawn as cpSpawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { describe, expect, it } from 'vitest';
import * as pidfd from '../dist/index.mjs';
import { ownCgroupDir } from '../dist/cgroup.js';
import { helper } from './helpers/build';
import { cgroupWritable, keeperWorks, skip } from './environment';
import { bindingEntry, entry, lastJson, qemu, root, runNode, settledWithin, skipUnderQemu } from './support';

// The cgroup method needs a writable cgroup v2 directory of ours (the subreaper method runs anywhere).
const skipMethod = (method: string) =>
  skip(method === 'cgroup' && !cgroupWritable, 'the cgroup tree method needs a writable cgroup v2 directory') ||
  skip(method === 'subreaper' && !keeperWorks, 'the subreaper tree method needs a tree keeper (a CLONE_VM process), refused here');

const children = () =>
  fs
    .readdirSync('/proc/self/task')
    .flatMap((tid) => fs.readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim().split(' '))
    .filter(Boolean);

describe('timeout and killSignal', () => {
  it('kills the child with SIGTERM after timeout ms; the status says so', async () => {
    const child = pidfd.spawn('sleep', ['1000'], { stdio: 'ignore', timeout: 50 });
    expect(await child.exited).toEqual({ pid: child.pid, code: null, signal: 'SIGTERM', coreDumped: false });
    expect(child.killedBy).toBe('timeout');
    child.close();
  });

  it('sends killSignal, by name or number', async () => {
    const byName = pidfd.spawn('sleep', ['1000'], { stdio: 'ignore', timeout: 50, killSignal: 'SIGKILL' });
    expect((await byName.exited).signal).toBe('SIGKILL');
    const byNumber = pidfd.spawn('sleep', ['1000'], { stdio: 'ignore', timeout: 50, killSignal: 2 });
    expect((await byNumber.exited).signal).toBe('SIGINT');
    byName.close();
    byNumber.close();
  });

  it('does nothing to a child that exits first; timeout 0 and null mean none', async () => {
    for (const timeout of [60_000, 0, null, undefined]) {
      const child = pidfd.spawn('sh', ['-c', 'exit 3'], { stdio: 'ignore', timeout: timeout as number });
      expect((await child.exited).code).toBe(3);
      expect(child.killedBy).toBe(null);
      child.close();
    }
  });
});

describe('signal (AbortSignal)', () => {
  it('kills the child with killSignal when it aborts, and removes its listener', async () => {
    const controller = new AbortController();
    const child = pidfd.spawn('sleep', ['1000'], { stdio: 'ignore', signal: controller.signal, killSignal: 'SIGUSR1' });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    expect(await child.exited).toMatchObject({ code: null, signal: 'SIGUSR1' });
    expect(child.killedBy).toBe('abort');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    child.close();
  });

  it('an already aborted signal throws an AbortError, as child_process reports it, and starts nothing', () => {
    const before = children().length;
    const reason = new Error('stop');
    for (const signal of [AbortSignal.abort(reason), AbortSignal.abort()]) {
      let error: any;
      try {
        pidfd.spawn('sleep', ['1000'], { stdio: 'ignore', signal });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(Error);
      expect(error).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
      expect(error.cause).toBe(signal.reason);
    }
    expect(AbortSignal.abort(reason).reason).toBe(reason);
    expect(children().length).toBe(before);
  });

  it.skipIf(skipMethod('cgroup'))('with tree: true, an already aborted signal leaves no cgroup directory either', () => {
    const dir: string | null = ownCgroupDir();
    const cgroups = () => fs.readdirSync(dir!).filter((name) => name.startsWith(`pidfd-${process.pid}-`));
    const before = cgroups();
    expect(() => pidfd.spawn('sleep', ['1000'], { stdio: 'ignore', tree: true, signal: AbortSignal.abort() } as any)).toThrow(
      expect.objectContaining({ name: 'AbortError', code: 'ABORT_ERR' }),
    );
    expect(cgroups()).toEqual(before);
  });

  it('leaves no listener and no timer behind once the child has exited (the Subprocess can be collected)', async () => {
    const r = await runNode(
      `
      const { getEventListeners } = await import('node:events');
      const controller = new AbortController();
      const one = async () => {
        const child = pidfd.spawn('true', [], { stdio: 'ignore', timeout: 3_600_000, signal: controller.signal });
        await child.exited;
        child.close();
        return new WeakRef(child);
      };
      const refs = [];
      for (let i = 0; i < 20; i++) refs.push(await one());
      const listeners = getEventListeners(controller.signal, 'abort').length;
      let alive = refs.length;
      for (let i = 0; i < 50 && alive > 0; i++) {
        await new Promise((r) => setImmediate(r));
        gc();
        alive = refs.filter((w) => w.deref() !== undefined).length;
      }
      console.log(JSON.stringify({ listeners, alive }));
      `,
      { nodeArgs: ['--expose-gc'] },
    );
    // A timer still armed would hold its child (and an hour would keep this node running).
    expect(lastJson(r)).toEqual({ listeners: 0, alive: 0 });
  });

  it("an unref'd subprocess is not kept alive by its timeout or signal", async () => {
    const r = await runNode(`
      const controller = new AbortController();
      const child = pidfd.spawn('sleep', ['1000'], { stdio: 'ignore', timeout: 3_600_000, signal: controller.signal });
      child.unref();
      console.log(JSON.stringify({ pid: child.pid }));
    `);
    // The node has ended on its own (runNode waits for that); its child still runs.
    expect(r.code).toBe(0);
    const { pid } = lastJson(r);
    const orphan = pidfd.open(pid);
    expect(orphan.running).toBe(true);
    orphan.kill('SIGKILL');
    await orphan.exited;
    orphan.close();
  });
});

// A tree: sh, a setsid'd daemon (a double fork: its parent exits) and a plain background
// child. "ready" once all exist.
const nest = `setsid sh -c 'sleep 1000 & exit 0' </dev/null >/dev/null 2>&1; sleep 1000 & echo ready; wait`;

function lineFrom(stream: NodeJS.ReadableStream | null): Promise<string> {
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: stream! }).once('line', resolve);
    stream!.once('end', () => reject(new Error('stream ended before a line')));
  });
}

describe.each(['cgroup', 'subreaper'] as const)('on a tree (%s method)', (method) => {
  it.skipIf(skipMethod(method))('signal aborts the whole tree with killSignal; the root status says the signal', async () => {
    const controller = new AbortController();
    const child = pidfd.spawn('sh', ['-c', nest], { stdio: ['ignore', 'pipe', 'ignore'], tree: { method }, signal: controller.signal } as any);
    const tree = (child as any).tree;
    expect(tree.method).toBe(method);
    expect(await lineFrom(child.stdout)).toBe('ready');
    const members = tree.pids().map((pid: number) => pidfd.open(pid));
    expect(members.length).toBe(3); // sh, the daemon's sleep, the background sleep
    controller.abort();
    await tree.exited;
    expect(await child.exited).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(child.killedBy).toBe('abort');
    for (const m of members) {
      await m.exited; // settled: gone (tree.exited already said so)
      expect(m.running).toBe(false);
      m.close();
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    child.close();
  });

  it.skipIf(skipMethod(method))('timeout reaches a daemon left after the root has exited', async () => {
    const child = pidfd.spawn('sh', ['-c', `setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo ready; read line`], {
      stdio: ['pipe', 'pipe', 'ignore'],
      tree: { method },
      timeout: 2000,
      killSignal: 'SIGKILL',
    } as any);
    const tree = (child as any).tree;
    expect(await lineFrom(child.stdout)).toBe('ready');
    expect(tree.pids()).toHaveLength(2);
    child.stdin!.end('go\n');
    expect((await child.exited).code).toBe(0); // the root ends on its own
    await tree.exited; // the daemon, killed by the timeout
    expect(child.killedBy).toBe('timeout');
    child.close();
  });
});

describe('bad input gets Node-style errors, and nothing is started', () => {
  const cases: Array<[string, object, string]> = [
    ['timeout -1', { timeout: -1 }, 'ERR_OUT_OF_RANGE'],
    ['timeout 1.5', { timeout: 1.5 }, 'ERR_OUT_OF_RANGE'],
    ['timeout NaN', { timeout: NaN }, 'ERR_OUT_OF_RANGE'],
    ['timeout Infinity', { timeout: Infinity }, 'ERR_OUT_OF_RANGE'],
    ["timeout '100'", { timeout: '100' }, 'ERR_OUT_OF_RANGE'],
    ['timeout 2**31', { timeout: 2 ** 31 }, 'ERR_OUT_OF_RANGE'],
    ["killSignal 'SIGNOPE'", { killSignal: 'SIGNOPE' }, 'ERR_UNKNOWN_SIGNAL'],
    ['killSignal 1000', { killSignal: 1000 }, 'ERR_UNKNOWN_SIGNAL'],
    ['killSignal 0', { killSignal: 0 }, 'ERR_UNKNOWN_SIGNAL'],
    ['killSignal {}', { killSignal: {} }, 'ERR_INVALID_ARG_TYPE'],
    ['signal {}', { signal: {} }, 'ERR_INVALID_ARG_TYPE'],
    ['signal null', { signal: null }, 'ERR_INVALID_ARG_TYPE'],
    ["dieWithParent 'yes'", { dieWithParent: 'yes' }, 'ERR_INVALID_ARG_TYPE'],
    ['dieWithParent 1', { dieWithParent: 1 }, 'ERR_INVALID_ARG_TYPE'],
  ];
  for (const [name, options, code] of cases) {
    it(name, () => {
      const before = children().length;
      expect(() => pidfd.spawn('sleep', ['1000'], { stdio: 'ignore', ...options } as any)).toThrow(expect.objectContaining({ code }));
      expect(children().length).toBe(before);
    });
  }
});

// The supervisor: a Node script that spawns `sleep` children and prints their pids, run
// under `subreaper` (which exits only once the script and everything it started are gone).
// The test SIGKILLs the script and watches the children through pidfds of its own.
interface Supervisor {
  pid: number;
  method: number;
  kids: number[];
  /** Resolves when the subreaper has seen every descendant gone. */
  empty: Promise<void>;
}

function startSupervisor(code: string, seccomp: string[] = []): Promise<Supervisor> {
  const script =
    `import * as pidfd from ${JSON.stringify(entry)};\n` +
    `import { createRequire } from 'node:module';\n` +
    `const { native } = createRequire(import.meta.url)(${JSON.stringify(bindingEntry)});\n` +
    code;
  let command = [process.execPath, '--input-type=module', '-e', script];
  if (seccomp.length) command = [helper('seccomp-run'), ...seccomp, '--', ...command];
  const reaper = cpSpawn(helper('subreaper'), command, { stdio: ['ignore', 'pipe', 'inherit'], cwd: root });
  const lines = readline.createInterface({ input: reaper.stdout! });
  const empty = new Promise<void>((resolve, reject) => {
    reaper.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`subreaper exited with ${code}`))));
  });
  return new Promise((resolve, reject) => {
    lines.on('line', (line) => {
      if (line.startsWith('{')) resolve({ ...JSON.parse(line), empty });
    });
    empty.then(() => reject(new Error('the supervisor ended before reporting')), reject);
  });
}

const spawnKids = (options: string) => `
  const kids = [];
  for (let i = 0; i < 3; i++) kids.push(pidfd.spawn('sleep', ['1000'], { stdio: 'ignore', ${options} }).pid);
  console.log(JSON.stringify({ pid: process.pid, method: native.spawnMethod(), kids }));
  setInterval(() => {}, 1 << 30);
`;

async function killSupervisor(sup: Supervisor): Promise<pidfd.Pidfd[]> {
  const kids = sup.kids.map((pid) => pidfd.open(pid));
  const script = pidfd.open(sup.pid);
  script.kill('SIGKILL');
  await script.exited;
  script.close();
  return kids;
}

describe('dieWithParent', () => {
  const methods: Array<[string, number, string[]]> = [
    ['clone3', qemu ? 2 : 0, []], // qemu-user has no CLONE_PIDFD: the fork path
    ['clone(CLONE_PIDFD)', 1, ['clone3=ENOSYS']],
    ['fork + pidfd_open', 2, ['clone3=ENOSYS', 'clone-pidfd=EINVAL', 'clone-vm=EINVAL']],
  ];
  for (const [name, method, seccomp] of methods) {
    const filtered = seccomp.length > 0 && skipUnderQemu('seccomp filters cannot be installed under qemu-user');
    it.skipIf(filtered)(`SIGKILLing the Node parent kills the children (${name})`, async () => {
      const sup = await startSupervisor(spawnKids('dieWithParent: true'), seccomp);
      expect(sup.method).toBe(method);
      const kids = await killSupervisor(sup);
      for (const kid of kids) {
        expect((await kid.exited).pid).toBe(kid.pid); // gone: the exit seen through our pidfd
        kid.close();
      }
      await sup.empty; // and nothing else the script started is left
    });
  }

  // dieWithParent on a tree always needs a keeper, on both methods.
  it.each(['cgroup', 'subreaper'].filter((m) => !skipMethod(m) && !skipMethod('subreaper')))('on a tree (%s method), the whole tree dies with a SIGKILLed supervisor (a setsid daemon included) and no cgroup directory is left', async (method) => {
    const sup = await startSupervisor(`
      const child = pidfd.spawn('sh', ['-c', ${JSON.stringify(nest)}], { stdio: ['ignore', 'pipe', 'ignore'], tree: { method: '${method}' }, dieWithParent: true });
      const { createInterface } = await import('node:readline');
      await new Promise((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
      const rest = child.tree.pids().filter((pid) => pid !== child.pid);
      console.log(JSON.stringify({ pid: process.pid, method: native.spawnMethod(), kids: [child.pid], rest, cgroup: child.tree.cgroup ?? null }));
      setInterval(() => {}, 1 << 30);
    `);
    const { rest, cgroup } = sup as Supervisor & { rest: number[]; cgroup: string | null };
    expect(rest).toHaveLength(2); // the daemon and the background sleep
    const members = rest.map((pid) => pidfd.open(pid));
    const [root] = await killSupervisor(sup);
    expect((await root.exited).pid).toBe(root.pid);
    root.close();
    for (const m of members) {
      expect((await m.exited).pid).toBe(m.pid); // killed by the tree's keeper
      m.close();
    }
    await sup.empty; // nothing the script started is left, the keeper included
    if (cgroup !== null) expect(fs.existsSync(cgroup)).toBe(false);
  });

  it.each(['cgroup', 'subreaper'].filter((m) => !skipMethod(m)))('on a tree (%s method), tree.kill() from an exit handler leaves nothing running', async (method) => {
    const sup = await startSupervisor(`
      const child = pidfd.spawn('sh', ['-c', ${JSON.stringify(nest)}], { stdio: ['ignore', 'pipe', 'ignore'], tree: { method: '${method}' } });
      const { createInterface } = await import('node:readline');
      await new Promise((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
      process.on('exit', () => child.tree.kill('SIGKILL'));
      process.on('SIGTERM', () => process.exit(0));
      console.log(JSON.stringify({ pid: process.pid, method: native.spawnMethod(), kids: child.tree.pids(), cgroup: child.tree.cgroup ?? null }));
      setInterval(() => {}, 1 << 30);
    `);
    const { cgroup } = sup as Supervisor & { cgroup: string | null };
    expect(sup.kids).toHaveLength(3);
    const members = sup.kids.map((pid) => pidfd.open(pid));
    const script = pidfd.open(sup.pid);
    script.kill('SIGTERM');
    await script.exited;
    script.close();
    for (const m of members) {
      await m.exited;
      m.close();
    }
    await sup.empty; // nothing else is left either
    if (cgroup !== null) {
      expect(fs.existsSync(cgroup)).toBe(true); // the directory stays: nobody is left to remove it
      fs.rmdirSync(cgroup);
    }
  });

  it('without it, the children outlive a SIGKILLed parent (the control)', async () => {
    const sup = await startSupervisor(spawnKids('dieWithParent: false'));
    const kids = await killSupervisor(sup);
    for (const kid of kids) expect(await settledWithin(kid.exited, 300)).toBe('pending');
    for (const kid of kids) {
      kid.kill('SIGKILL');
      await kid.exited;
      kid.close();
    }
    await sup.empty;
  });

  it('leaves no window: a parent SIGKILLed in the middle of spawning as fast as it can leaves nothing behind', async () => {
    // Some spawns are cut short by the kill, between the clone and the child's prctl; the
    // child's getppid check ends those. Any survivor would keep the subreaper waiting.
    const sup = await startSupervisor(`
      const kids = [];
      for (let i = 0; i < 20; i++) kids.push(pidfd.spawn('sleep', ['1000'], { stdio: 'ignore', dieWithParent: true }));
      console.log(JSON.stringify({ pid: process.pid, method: native.spawnMethod(), kids: [] }));
      for (;;) {
        const kid = pidfd.spawn('sleep', ['1000'], { stdio: 'ignore', dieWithParent: true });
        kids.push(kid);
        if (kids.length > 200) kids.shift().kill('SIGKILL');
      }
    `);
    await killSupervisor(sup);
    await sup.empty;
  });

  it('in a worker, the child dies when the worker ends (the parent is the spawning thread)', async () => {
    const r = await runNode(`
      const { Worker } = await import('node:worker_threads');
      const { once } = await import('node:events');
      const spawnIn = async (die) => {
        const worker = new Worker(
          'const pidfd = await import(' + JSON.stringify(${JSON.stringify(entry)}) + ');' +
          "const c = pidfd.spawn('sleep', ['1000'], { stdio: 'ignore', dieWithParent: " + die + ' });' +
          "(await import('node:worker_threads')).parentPort.postMessage(c.pid); setInterval(() => {}, 1 << 30);",
          { eval: true },
        );
        const [pid] = await once(worker, 'message');
        const handle = pidfd.open(pid);
        await worker.terminate();
        return handle;
      };
      const dies = await spawnIn(true);
      await dies.exited;
      const lives = await spawnIn(false);
      const pending = await Promise.race([lives.exited.then(() => 'exited'), new Promise((r) => setTimeout(r, 300, 'pending'))]);
      lives.kill('SIGKILL');
      await lives.exited;
      console.log(JSON.stringify({ died: true, pending }));
    `);
    expect(lastJson(r)).toEqual({ died: true, pending: 'pending' });
  });

  it('is also kept when the child changes uid (set after setuid, which would clear it)', async () => {
    const sup = await startSupervisor(spawnKids('dieWithParent: true, uid: 65534, gid: 65534'));
    const kids = await killSupervisor(sup);
    for (const kid of kids) {
      await kid.exited;
      kid.close();
    }
    await sup.empty;
  });
});
