// The edges of process trees (issue 18): kill() as kill(2) means it, best effort per member,
// never the caller; cgroup directories that never leak; errors that are errors; endWithRoot.
// Each supervisor runs in every environment of test/tree-env.ts (root, non-root, a read-only
// cgroup2 as in containers) with the methods it can have there, among bystanders: an
// unrelated orphan, another tree and a child_process child, which must come out untouched.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as pidfd from '../dist/index.mjs';
import { cgroupWritable, keeperWorks, skip } from './environment';
import { lastJson } from './support';
import { runIn, skipEnv, treeEnvs, type TreeEnv } from './tree-env';

// What this (root, unconfined) test process would get: the cgroup method needs a writable
// cgroup2, Linux 5.7 and clone3 (features.treeMethod checks each; tree.test.ts spawns for real).
const cgroupSpawns = cgroupWritable && pidfd.features.treeMethod.method === 'cgroup';

/** The methods a supervisor in env can have, with why the others are skipped. */
function methodsIn(env: TreeEnv): Array<{ method: 'cgroup' | 'subreaper'; skipped: boolean }> {
  const cgroup = env === 'root' && cgroupSpawns;
  return [
    { method: 'cgroup', skipped: skip(!cgroup, `[${env}] no writable cgroup2 with CLONE_INTO_CGROUP for this supervisor: the cgroup method cannot run`) },
    { method: 'subreaper', skipped: noKeeper(env, 'subreaper') },
  ];
}

/** What `tree: true` gets in env. */
const autoMethod = (env: TreeEnv) => (env === 'root' && cgroupSpawns ? 'cgroup' : 'subreaper');

/** Whether trees of that method (else tree: true's) cannot start in env: no keeper can be made (qemu-user). */
function noKeeper(env: TreeEnv, method = autoMethod(env)): boolean {
  return skip(method === 'subreaper' && !keeperWorks, `[${env}] the subreaper tree method needs a tree keeper (a CLONE_VM process), refused here`);
}

// Shared by every script: waiting on states, and bystanders that no tree may touch.
const prelude = `
  const fs = await import('node:fs');
  const cp = await import('node:child_process');
  const tick = () => new Promise((r) => setTimeout(r, 10));
  const until = async (fn, what) => {
    for (let i = 0; i < 6000; i++) { const v = fn(); if (v) return v; await tick(); }
    throw new Error('timed out waiting for ' + what);
  };
  const state = (pid) => {
    try { const s = fs.readFileSync('/proc/' + pid + '/stat', 'utf8'); return s.slice(s.lastIndexOf(')') + 2).split(' ')[0]; }
    catch { return null; }
  };
  const lines = async (stream, n) => {
    let text = '';
    stream.on('data', (d) => { text += d; });
    await until(() => text.split('\\n').filter(Boolean).length >= n, n + ' lines');
    return text.split('\\n').filter(Boolean).map(Number);
  };
  // An unrelated orphan (reparented away), another tree, a child_process child.
  const orphan = Number(cp.execFileSync('sh', ['-c', 'setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }).trim());
  const otherTree = pidfd.spawn('sleep', ['1000'], { tree: true, stdio: 'ignore' });
  const cpChild = cp.spawn('sleep', ['1000'], { stdio: 'ignore' });
  const bystanders = () => [orphan, otherTree.pid, cpChild.pid].map((pid) => state(pid) === 'S' || state(pid) === 'R');
  const dropBystanders = async () => {
    process.kill(orphan, 'SIGKILL');
    otherTree.tree.kill('SIGKILL');
    await otherTree.tree.exited; // its cgroup goes before we exit
    otherTree.tree.close();
    otherTree.close();
    cpChild.kill('SIGKILL');
  };
`;

/** A setuid-root program that takes all three uids (as sudo does), so that others may not signal it. */
let setuidSleep: string | null = null;
const setuidPids: number[] = [];
function setuidProgram(): string {
  if (setuidSleep !== null) return setuidSleep;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pidfd-setuid-'));
  fs.chmodSync(dir, 0o755);
  const src = path.join(dir, 'rootsleep.c');
  fs.writeFileSync(src, '#include <unistd.h>\nint main(void) { if (setresuid(0, 0, 0) != 0) return 1; sleep(120); return 0; }\n');
  setuidSleep = path.join(dir, 'rootsleep');
  execFileSync('cc', ['-O', '-o', setuidSleep, src]);
  fs.chownSync(setuidSleep, 0, 0);
  fs.chmodSync(setuidSleep, 0o4755);
  return setuidSleep;
}
afterAll(() => {
  for (const pid of setuidPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (setuidSleep !== null) fs.rmSync(path.dirname(setuidSleep), { recursive: true, force: true });
});

describe.each(treeEnvs)('tree edges, supervisor %s', (env) => {
  for (const { method, skipped } of methodsIn(env)) {
    it.skipIf(skipEnv(env) || skipped)(`${method}: signals mean what kill(2) says: SIGTSTP stops, SIGCONT continues, a member stopped by someone else stays stopped, kill(0) only probes`, async () => {
      const r = await runIn(env, `${prelude}
        // The kernel discards SIGTSTP/SIGTTIN/SIGTTOU in an orphaned process group (kill(2),
        // POSIX), and whether ours is orphaned depends on whoever launched the test. So the
        // root takes a process group of its own: its parent (us, or the keeper) is in the same
        // session and another group, so the group is not orphaned wherever the test runs.
        const script = "import os, subprocess\\nos.setpgid(0, 0)\\nps = [subprocess.Popen(['sleep', '1000']) for _ in range(2)]\\nfor p in ps: print(p.pid, flush=True)\\nfor p in ps: p.wait()\\n";
        const child = pidfd.spawn('python3', ['-c', script], { tree: { method: '${method}' }, stdio: ['ignore', 'pipe', 'ignore'] });
        const [a, b] = await lines(child.stdout, 2);
        const all = [child.pid, a, b];
        const states = () => all.map(state).join('');
        const out = { method: child.tree.method };
        out.tstp = child.tree.kill('SIGTSTP');
        await until(() => states() === 'TTT', 'all stopped');
        out.cont = child.tree.kill('SIGCONT');
        await until(() => !states().includes('T'), 'all continued');
        process.kill(b, 'SIGSTOP'); // someone else stops b
        await until(() => state(b) === 'T', 'b stopped');
        out.winch = child.tree.kill('SIGWINCH');
        out.afterWinch = states(); // a SIGCONT takes effect when sent: a continued b would show now
        out.probe = child.tree.kill(0);
        out.afterProbe = states();
        out.stop = child.tree.kill('SIGSTOP');
        await until(() => states() === 'TTT', 'all stopped by SIGSTOP');
        out.stillStopped = states(); // no SIGCONT after a stop signal
        out.term = child.tree.kill('SIGTERM'); // pending: stopped processes take it once continued
        out.afterTerm = states();
        out.cont2 = child.tree.kill('SIGCONT');
        await child.tree.exited;
        out.bystanders = bystanders();
        await dropBystanders();
        child.close();
        console.log(JSON.stringify(out));
        process.exit(0);
      `);
      const out = lastJson(r);
      expect(out.method).toBe(method);
      expect(out).toMatchObject({ tstp: 3, cont: 3, winch: 3, probe: 3, stop: 3, stillStopped: 'TTT', term: 3, afterTerm: 'TTT' });
      // The last SIGCONT lets the root die of its pending SIGTERM; its exit orphans its process
      // group, and the kernel itself then sends SIGHUP and SIGCONT to the stopped members
      // (exit_notify), so they may be gone before the tree reaches them: 1 to 3 signalled.
      expect(out.cont2).toBeGreaterThanOrEqual(1);
      expect(out.cont2).toBeLessThanOrEqual(3);
      expect(out.afterWinch).toMatch(/^[RS][RS]T$/);
      expect(out.afterProbe).toMatch(/^[RS][RS]T$/);
      expect(out.bystanders).toEqual([true, true, true]);
    });

    it.skipIf(skipEnv(env) || skipped)(`${method}: tree: { endWithRoot } ends the rest when the root exits; without it they run on`, async () => {
      const r = await runIn(env, `${prelude}
        const start = (endWithRoot) => pidfd.spawn('sh', ['-c', 'sleep 1000 & echo $!; read x'], { tree: { method: '${method}', endWithRoot }, stdio: ['pipe', 'pipe', 'ignore'] });
        const out = {};
        const ended = start({ timeout: 60000 });
        const [sleeper] = await lines(ended.stdout, 1);
        ended.stdin.end(); // the root exits
        await ended.exited;
        await ended.tree.exited; // the rest got SIGTERM: no timeout, no kill by hand
        out.ended = state(sleeper) === null || state(sleeper) === 'Z' ? 'gone' : state(sleeper); // a zombie until init reaps it
        const kept = start(false);
        const [other] = await lines(kept.stdout, 1);
        kept.stdin.end();
        await kept.exited;
        await new Promise((r) => setTimeout(r, 200)); // room for a wrong SIGTERM to land
        out.kept = state(other) === 'S' || state(other) === 'R' ? 'alive' : state(other);
        out.keptDone = kept.tree.done;
        kept.tree.kill('SIGKILL');
        await kept.tree.exited;
        out.bystanders = bystanders();
        await dropBystanders();
        console.log(JSON.stringify(out));
        process.exit(0);
      `);
      expect(lastJson(r)).toEqual({ ended: 'gone', kept: 'alive', keptDone: false, bystanders: [true, true, true] });
    });
  }

  it.skipIf(skipEnv(env) || noKeeper(env))(`the caller and its ancestors are never signalled: pidfd.tree(process.pid).kill('SIGTERM') returns, signalling only our descendants`, async () => {
    const r = await runIn(env, `${prelude}
      const mine = cp.spawn('sleep', ['1000'], { stdio: 'ignore' });
      const exit = new Promise((r) => mine.on('exit', (code, signal) => r(signal)));
      await until(() => state(mine.pid) === 'S', 'the child asleep');
      await dropBystanders(); // our tree would take them: they are our children
      await until(() => state(cpChild.pid) === null && state(otherTree.pid) === null, 'bystanders gone');
      const tree = pidfd.tree(process.pid);
      const count = tree.kill('SIGTERM');
      const signal = await exit;
      const parent = pidfd.tree(process.ppid).kill(0) >= 0; // a probe of our parent's tree: no stop, no signal to us
      tree.close();
      // Never stopped (a stopped caller would print nothing; under qemu-user our own stat's state reads 0).
      console.log(JSON.stringify({ count, signal, parent, stopped: state(process.pid) === 'T' }));
      process.exit(0);
    `);
    expect(lastJson(r)).toEqual({ count: 1, signal: 'SIGTERM', parent: true, stopped: false });
  });

  it.skipIf(skipEnv(env) || noKeeper(env) || skip(!env.endsWith('nonroot'), `[${env}] a root supervisor may signal every member: EPERM needs a non-root one`))('a member that refuses (EPERM) is skipped: kill() signals the others, then throws EPERM naming it; terminate() rejects; the timeout option never crashes the process', async () => {
    const suid = setuidProgram();
    const r = await runIn(env, `${prelude}
      const uids = (pid) => fs.readFileSync('/proc/' + pid + '/status', 'utf8').split('\\n').find((l) => l.startsWith('Uid:')).split(/\\s+/).slice(1).join(' ');
      const suids = [];
      const start = async (options) => {
        const child = pidfd.spawn('sh', ['-c', '${suid} & echo $!; sleep 1000 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'], ...options });
        const [root, plain] = await lines(child.stdout, 2);
        suids.push(root);
        await until(() => uids(root) === '0 0 0 0', 'the setuid member to be root');
        return { child, root, plain };
      };
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.name));
      const out = {};
      {
        const { child, root, plain } = await start({ tree: true });
        try { child.tree.kill('SIGTERM'); out.kill = 'no error'; }
        catch (e) { out.kill = { code: e.code, errno: e.errno, syscall: e.syscall, signalled: e.signalled, pids: e.pids.length === 1 && e.pids[0] === root }; }
        await until(() => state(plain) === null && state(child.pid) === null, 'the others gone');
        child.tree.close();
        child.close();
      }
      {
        const { child, plain } = await start({ tree: true });
        out.terminate = await child.tree.terminate({ timeout: 100 }).then(() => 'resolved', (e) => e.code);
        out.terminateOthers = await until(() => state(plain) === null, 'the others gone') && 'gone';
        child.tree.close();
        child.close();
      }
      {
        const { child, plain } = await start({ tree: true, timeout: 100 });
        await until(() => state(plain) === null && state(child.pid) === null, 'the timeout to kill the others');
        await until(() => warnings.includes('PidfdWarning'), 'the warning');
        out.timeout = { killedBy: child.killedBy, alive: true };
        child.tree.close();
        child.close();
      }
      out.bystanders = bystanders();
      await dropBystanders();
      console.log(JSON.stringify({ ...out, suids }));
      process.exit(0);
    `);
    const out = lastJson(r);
    setuidPids.push(...out.suids);
    expect(r.code).toBe(0);
    expect(out.kill).toEqual({ code: 'EPERM', errno: -1, syscall: 'pidfd_send_signal', signalled: 2, pids: true });
    expect(out.terminate).toBe('EPERM');
    expect(out.terminateOthers).toBe('gone');
    expect(out.timeout).toEqual({ killedBy: 'timeout', alive: true });
    expect(out.bystanders).toEqual([true, true, true]);
  });

  it.skipIf(skipEnv(env) || noKeeper(env))('EMFILE while the cgroup2 mount is looked up is EMFILE, and is not remembered', async () => {
    // Nothing before has looked the mount up: the first lookup meets EMFILE.
    const r = await runIn(env, `
      const fs = await import('node:fs');
      const held = [];
      try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
      const out = {};
      try { pidfd.spawn('true', [], { tree: { method: 'cgroup' }, stdio: 'ignore' }); out.forced = 'started'; } catch (e) { out.forced = e.code; }
      const exhausted = pidfd.features.treeMethod;
      for (const fd of held) fs.closeSync(fd);
      out.exhausted = exhausted.method + ': ' + exhausted.reason;
      out.after = pidfd.features.treeMethod;
      const child = pidfd.spawn('true', [], { tree: true, stdio: 'ignore' });
      out.spawned = child.tree.method;
      await child.tree.exited;
      child.close();
      console.log(JSON.stringify(out));
      process.exit(0);
    `);
    const out = lastJson(r);
    expect(out.forced).toBe('EMFILE');
    expect(out.exhausted).toMatch(/^subreaper: .*EMFILE/);
    expect(out.after.method).toBe(autoMethod(env));
    expect(out.spawned).toBe(autoMethod(env));
    const reasons: Record<TreeEnv, RegExp> = {
      root: cgroupSpawns ? /^writable cgroup2 / : /./,
      container: /^cgroup2 read-only$/,
      'container-nonroot': /^cgroup2 read-only$/,
      nonroot: /not writable by this user/,
    };
    expect(out.after.reason).toMatch(reasons[env]);
  });

  it.skipIf(skipEnv(env))('EMFILE during a walk (pidfd.tree(pid)) is thrown, and does not settle exited', async () => {
    const r = await runIn(env, `
      const fs = await import('node:fs');
      const cp = await import('node:child_process');
      const sh = cp.spawn('sh', ['-c', 'sleep 1000 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
      await new Promise((r) => sh.stdout.once('data', r));
      const tree = pidfd.tree(sh.pid);
      const out = { method: tree.method, before: tree.pids().length };
      const held = [];
      try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
      try { out.during = tree.pids().length; } catch (e) { out.during = e.code; }
      out.done = tree.done;
      for (const fd of held) fs.closeSync(fd);
      out.after = tree.pids().length;
      tree.kill('SIGKILL');
      await tree.exited;
      tree.close();
      console.log(JSON.stringify(out));
    `);
    expect(lastJson(r)).toEqual({ method: 'subreaper', before: 2, during: 'EMFILE', done: false, after: 2 });
  });

  it.skipIf(skipEnv(env))("stdio: 'ignore' gives /dev/null on fd 0 where the parent has fd 0 closed", async () => {
    const r = await runIn(env, `
      const fs = await import('node:fs');
      fs.closeSync(0);
      const child = pidfd.spawn('sh', ['-c', 'readlink /proc/self/fd/0 || echo closed'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let text = '';
      child.stdout.on('data', (d) => { text += d; });
      const closed = new Promise((r) => child.stdout.on('close', r));
      await child.exited;
      await closed;
      console.log(JSON.stringify(text.trim()));
    `);
    expect(lastJson(r)).toBe('/dev/null');
  });
});

describe.skipIf(skip(!cgroupSpawns, 'no writable cgroup2 with CLONE_INTO_CGROUP here: the cgroup edges cannot run'))('tree edges, cgroup directories (root)', () => {
  it('a tree cgroup is 0755 whatever the umask (0 and 077)', async () => {
    const r = await runIn('root', `
      const fs = await import('node:fs');
      const modes = [];
      for (const mask of [0, 0o077]) {
        process.umask(mask);
        const child = pidfd.spawn('sleep', ['1000'], { tree: { method: 'cgroup' }, stdio: 'ignore' });
        modes.push((fs.statSync(child.tree.cgroup).mode & 0o777).toString(8));
        child.tree.kill('SIGKILL');
        await child.tree.exited;
        child.close();
      }
      console.log(JSON.stringify(modes));
    `);
    expect(lastJson(r)).toEqual(['755', '755']);
  });

  it('30 workers terminated while spawning trees leave no pidfd-* directory', async () => {
    const r = await runIn('root', `
      const fs = await import('node:fs');
      const { Worker } = await import('node:worker_threads');
      const { ownCgroupDir } = await import(${JSON.stringify(path.resolve('dist/cgroup.js'))});
      const dir = ownCgroupDir();
      const mine = () => fs.readdirSync(dir).filter((n) => n.startsWith('pidfd-' + process.pid + '-'));
      // An eval'd worker of an ES module script is an ES module too.
      const code = 'const pidfd = await import(' + JSON.stringify(${JSON.stringify(path.resolve('dist/index.mjs'))}) + ');' +
        "(await import('node:worker_threads')).parentPort.postMessage('go');" +
        "for (;;) { const c = pidfd.spawn('sleep', ['0.05'], { tree: { method: 'cgroup' }, stdio: 'ignore' }); c.tree.unref(); c.unref(); }";
      let seen = 0;
      for (let i = 0; i < 30; i++) {
        const w = new Worker(code, { eval: true });
        await new Promise((r) => w.once('message', r));
        await new Promise((r) => setTimeout(r, 5 + (i % 7) * 3)); // stop it at a different point of its loop each time
        seen = Math.max(seen, mine().length);
        await w.terminate();
      }
      for (let i = 0; i < 3000 && mine().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
      console.log(JSON.stringify({ seen: seen > 0, left: mine() }));
    `);
    expect(lastJson(r)).toEqual({ seen: true, left: [] });
  });

  it('pidfd.tree(pid) takes the cgroup method only when every descendant is inside that cgroup', async () => {
    const r = await runIn('root', `
      const fs = await import('node:fs');
      const path = await import('node:path');
      const cp = await import('node:child_process');
      const { ownCgroupDir } = await import(${JSON.stringify(path.resolve('dist/cgroup.js'))});
      const base = ownCgroupDir();
      const a = path.join(base, 'edges-a-' + process.pid), b = path.join(base, 'edges-b-' + process.pid);
      fs.mkdirSync(a); fs.mkdirSync(b);
      const gone = (pid) => !fs.existsSync('/proc/' + pid) || fs.readFileSync('/proc/' + pid + '/stat', 'utf8').includes(') Z ');
      const run = async (elsewhere) => {
        // sh joins a, then starts a sleep that joins b (elsewhere) or stays in a.
        const script = 'echo $$ > ' + a + '/cgroup.procs; sleep 1000 & ' + (elsewhere ? 'echo $! > ' + b + '/cgroup.procs; ' : '') + 'echo $!; wait';
        const sh = cp.spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
        const sleeper = await new Promise((r) => sh.stdout.once('data', (d) => r(Number(String(d).trim()))));
        const tree = pidfd.tree(sh.pid);
        const method = tree.method;
        tree.kill('SIGKILL');
        for (let i = 0; i < 3000 && !gone(sleeper); i++) await new Promise((r) => setTimeout(r, 10));
        tree.close();
        return { method, sleeperGone: gone(sleeper) };
      };
      const out = { inside: await run(false), elsewhere: await run(true) };
      for (let i = 0; i < 3000; i++) { try { fs.rmdirSync(a); fs.rmdirSync(b); break; } catch { await new Promise((r) => setTimeout(r, 10)); } }
      console.log(JSON.stringify(out));
    `);
    expect(lastJson(r)).toEqual({ inside: { method: 'cgroup', sleeperGone: true }, elsewhere: { method: 'subreaper', sleeperGone: true } });
  });
});
