// Process trees on this kernel (once the tree API is in the build: spawn({ tree })): a child
// and what it starts, setsid'd ones included, killed and awaited as one. The cgroup method
// kills with cgroup.kill where the kernel has it (5.14) and through the freezer before (5.10);
// the subreaper method needs no cgroup at all: each tree has a keeper process (its subreaper
// and the root's parent), which also kills the tree when a dieWithParent supervisor dies.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
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

/** pidfds of the members, opened before the kill: exited (zombie or reaped) is what counts. */
const hold = (pids) => pids.map((pid) => pidfd.open(pid));
function assertAllExited(handles) {
  for (const h of handles) {
    assert(!h.running, `member ${h.pid} still runs`);
    h.close();
  }
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
    const members = hold(pids);
    sub.tree.kill('SIGKILL');
    await sub.tree.exited;
    assertAllExited(members);
  });

  for (const method of ['subreaper', 'cgroup']) {
    test(`dieWithParent: a SIGKILLed supervisor takes its whole ${method} tree (setsid daemon included) with it`, async () => {
      const inner = `
        const pidfd = require(${JSON.stringify(join(root, 'dist', 'index.js'))});
        const sub = pidfd.spawn('sh', ['-c', ${JSON.stringify(SCRIPT)}], { stdio: ['ignore', 'pipe', 'ignore'], tree: { method: '${method}' }, dieWithParent: true });
        sub.stdout.once('data', async () => {
          let pids;
          while ((pids = sub.tree.pids()).length < 3) await new Promise((r) => setTimeout(r, 10));
          console.log(JSON.stringify({ pids, cgroup: sub.tree.cgroup }));
        });
        setInterval(() => {}, 1 << 30);
      `;
      const sup = spawn(process.execPath, ['-e', inner], { stdio: ['ignore', 'pipe', 'inherit'] });
      const { pids, cgroup } = JSON.parse((await lineReader(sup.stdout).next(/^\{.*/))[0]);
      const members = hold(pids);
      sup.kill('SIGKILL');
      await Promise.all(members.map((h) => h.exited));
      assertAllExited(members);
      for (let i = 0; i < 3000 && cgroup && existsSync(cgroup); i++) await delay(10);
      assert(!cgroup || !existsSync(cgroup), `the tree's cgroup ${cgroup} was removed`);
    });
  }
}
