// Process trees on this kernel (once the tree API is in the build: spawn({ tree })): a child
// and what it starts, setsid'd ones included, killed and awaited as one. The cgroup method
// kills with cgroup.kill where the kernel has it (5.14) and through the freezer before (5.10);
// the subreaper method needs no cgroup at all: each tree has a keeper process (its subreaper
// and the root's parent), which also kills the tree when a dieWithParent supervisor dies.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import { assert, equal, skip, test } from './harness.mjs';
import { atLeast } from './history.mjs';
import { delay, lineReader, native, pidfd, root } from './support.mjs';

const kernel = release();
// A shell with a background child, a setsid'd (daemon-like) one, and itself.
const SCRIPT = 'sleep 1000 & setsid sleep 1000 & echo ready; wait';

/** The cgroup v2 directory pid is in, from /proc/self/mountinfo and /proc/PID/cgroup. */
function cgroupDirOf(pid) {
  const mount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' - ')).find(([, fs]) => fs?.startsWith('cgroup2 '));
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
  return mount && line ? join(mount[0].split(' ')[4], line.slice(3)) : null;
}

/** The parent of pid (a tree's root: its keeper). */
const parentOf = (pid) => Number(/\) \S (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))[1]);

/**
 * A cgroup v2 directory with the memory controller, for the OOM test, or why there is none.
 * In the matrix's VMs (hostname kernel-vm, a throwaway root) the controller is enabled at the
 * root; elsewhere it is used only where it already is.
 */
function memoryCgroupParent() {
  const mount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map((l) => l.split(' - ')).find(([left, fs]) => fs?.startsWith('cgroup2 ') && left.split(' ')[3] === '/');
  if (!mount) return { why: 'no cgroup2 mount at its root' };
  const top = mount[0].split(' ')[4];
  const enabled = () => readFileSync(join(top, 'cgroup.subtree_control'), 'utf8').trim().split(' ').includes('memory');
  if (!enabled() && hostname() === 'kernel-vm' && readFileSync(join(top, 'cgroup.controllers'), 'utf8').includes('memory')) {
    writeFileSync(join(top, 'cgroup.subtree_control'), '+memory');
  }
  return enabled() ? { dir: top } : { why: `memory is not enabled in ${top}/cgroup.subtree_control (the host's setup; the VMs enable it)` };
}

/** pidfds of the members, opened before the kill: exited (zombie or reaped) is what counts. */
const hold = (pids) => pids.map((pid) => pidfd.open(pid));
function assertAllExited(handles) {
  for (const h of handles) {
    assert(!h.running, `member ${h.pid} still runs`);
    h.close();
  }
}

/**
 * A supervisor's script: a dieWithParent tree of `method`; once its members are listed, it
 * prints them (and the tree's cgroup) as JSON and runs `then`.
 */
function supervisor(method, then) {
  return `
    const pidfd = require(${JSON.stringify(join(root, 'dist', 'index.js'))});
    const sub = pidfd.spawn('sh', ['-c', ${JSON.stringify(SCRIPT)}], { stdio: ['ignore', 'pipe', 'ignore'], tree: { method: '${method}' }, dieWithParent: true });
    sub.stdout.once('data', async () => {
      let pids;
      while ((pids = sub.tree.pids()).length < 3) await new Promise((r) => setTimeout(r, 10));
      console.log(JSON.stringify({ pids, cgroup: sub.tree.cgroup }));
      ${then}
    });
  `;
}

/** Every member exits (whoever ends them) and the tree's cgroup, if any, is removed. */
async function treeGone(members, cgroup) {
  await Promise.all(members.map((h) => h.exited));
  assertAllExited(members);
  for (let i = 0; i < 3000 && cgroup && existsSync(cgroup); i++) await delay(10);
  assert(!cgroup || !existsSync(cgroup), `the tree's cgroup ${cgroup} was removed`);
}

async function startTree(tree) {
  const sub = pidfd.spawn('sh', ['-c', SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'], tree });
  await lineReader(sub.stdout).next(/^ready/);
  return sub;
}

if (typeof pidfd.tree !== 'function') {
  skip('process trees (cgroup.kill, the freezer before 5.14, subreaper)', 'the process-tree API is not in this build');
} else {
  const killPath = atLeast(kernel, '5.14') ? 'cgroup.kill' : 'the freezer (no cgroup.kill before 5.14)';
  test(`a cgroup tree is killed as one with ${killPath}`, async () => {
    const sub = await startTree({ method: 'cgroup' });
    const tree = sub.tree;
    equal(tree.method, 'cgroup', 'method');
    const dir = cgroupDirOf(sub.pid);
    assert(dir !== null, 'the child is in a cgroup2 directory');
    equal(existsSync(join(dir, 'cgroup.kill')), atLeast(kernel, '5.14'), `cgroup.kill in ${dir}`);
    assert(existsSync(join(dir, 'cgroup.freeze')), 'cgroup.freeze exists (5.2)');
    const members = hold(tree.pids());
    assert(members.length >= 3, `members ${members.map((h) => h.pid)}`);
    assert(tree.kill('SIGKILL') >= 3, 'signalled every member');
    await tree.exited;
    equal((await sub.exited).signal, 'SIGKILL', 'the root');
    assertAllExited(members);
    assert(!existsSync(dir), `the tree's cgroup ${dir} was removed`);
  });

  test('a cgroup tree is signalled through the freezer (SIGTERM), then terminated', async () => {
    const sub = await startTree(true);
    const tree = sub.tree;
    const members = hold(tree.pids());
    await tree.terminate({ signal: 'SIGTERM', timeout: 60_000 });
    assertAllExited(members);
  });

  test('a subreaper tree (no cgroup) is terminated as one, the setsid child included', async () => {
    const sub = await startTree({ method: 'subreaper' });
    const tree = sub.tree;
    equal(tree.method, 'subreaper', 'method');
    const members = hold(tree.pids());
    assert(members.length >= 3, `members ${members.map((h) => h.pid)}`);
    await tree.terminate({ signal: 'SIGTERM', timeout: 60_000 });
    await sub.exited;
    assertAllExited(members);
  });

  test('a subreaper tree has a keeper: an orphaned setsid daemon is a member, and this process never becomes a subreaper', async () => {
    const sub = pidfd.spawn('sh', ['-c', 'setsid sleep 1000 >/dev/null 2>&1 & exit 0'], { stdio: 'ignore', tree: { method: 'subreaper' } });
    equal(native.childSubreaper(), 0, 'our subreaper flag');
    equal((await sub.exited).code, 0, 'the root');
    let pids = [];
    for (let i = 0; i < 3000 && pids.length === 0; i++) {
      pids = sub.tree.pids();
      if (pids.length === 0) await delay(10);
    }
    assert(pids.length >= 1, 'the orphaned daemon is listed');
    assert(readlinkSync(`/proc/${parentOf(pids[0])}/exe`).endsWith('/pidfd-keeper'), 'the keeper runs the pidfd-keeper program');
    const members = hold(pids);
    sub.tree.kill('SIGKILL');
    await sub.tree.exited;
    assertAllExited(members);
  });

  for (const method of ['subreaper', 'cgroup']) {
    test(`dieWithParent: a SIGKILLed supervisor takes its whole ${method} tree (setsid daemon included) with it`, async () => {
      const sup = spawn(process.execPath, ['-e', supervisor(method, 'setInterval(() => {}, 1 << 30);')], { stdio: ['ignore', 'pipe', 'inherit'] });
      const { pids, cgroup } = JSON.parse((await lineReader(sup.stdout).next(/^\{.*/))[0]);
      const members = hold(pids);
      sup.kill('SIGKILL');
      await treeGone(members, cgroup);
    });
  }

  // The OOM killer kills every process sharing its victim's memory: the keeper runs a program
  // of its own, so an OOM-killed supervisor's dieWithParent tree still dies.
  const memory = memoryCgroupParent();
  for (const method of ['subreaper', 'cgroup']) {
    const name = `dieWithParent: an OOM-killed supervisor takes its whole ${method} tree with it`;
    if (!memory.dir) {
      skip(name, memory.why);
      continue;
    }
    test(name, async () => {
      const dir = join(memory.dir, `pidfd-oom-${process.pid}-${method}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'memory.max'), String(384 << 20));
      if (existsSync(join(dir, 'memory.swap.max'))) writeFileSync(join(dir, 'memory.swap.max'), '0');
      const hog = "process.stdin.once('data', () => { const hog = []; for (;;) hog.push(Buffer.alloc(8 << 20, 1)); });";
      const sup = spawn('sh', ['-c', 'echo $$ > "$0" && exec "$@"', join(dir, 'cgroup.procs'), process.execPath, '-e', supervisor(method, hog)], { stdio: ['pipe', 'pipe', 'inherit'] });
      const exit = new Promise((r) => sup.once('exit', (code, signal) => r(signal)));
      const { pids, cgroup } = JSON.parse((await lineReader(sup.stdout).next(/^\{.*/))[0]);
      const members = hold(pids);
      sup.stdin.end('go\n');
      equal(await exit, 'SIGKILL', "the supervisor's end");
      assert(/^oom_kill [1-9]/m.test(readFileSync(join(dir, 'memory.events'), 'utf8')), 'the OOM killer ended it');
      await treeGone(members, cgroup);
      for (let i = 0; i < 500; i++) {
        try {
          rmdirSync(dir);
          break;
        } catch {
          await delay(20);
        }
      }
    });
  }
}
