// The core contract on this kernel: open, spawn, kill, exited; a thread group is exited only
// when it is empty (an early-exiting leader and a non-leader execve are not exits); a zombie
// is exited; a pidfd never acts on the process that reused its pid (pid namespace, forced reuse).
import { spawn as spawnChild } from 'node:child_process';
import { once } from 'node:events';
import { assert, equal, test, throws } from './harness.mjs';
import { helper, lastJson, lineReader, pidfd, runNode, settledWithin } from './support.mjs';

// How long an exit that must not happen is given to (wrongly) happen.
const QUIET_MS = 500;

test('open() of our own process, and ESRCH for a reaped pid', async () => {
  const self = pidfd.open(process.pid);
  equal(self.running, true, 'running');
  equal(self.kill(0), true, 'kill 0');
  self.close();
  equal(self.fd, -1, 'fd after close');
  const child = spawnChild('true');
  await once(child, 'exit');
  equal((await throws(() => pidfd.open(child.pid), 'open of a reaped pid')).code, 'ESRCH', 'code');
});

test('spawn() gives the exit code; a missing program throws ENOENT synchronously', async () => {
  const sub = pidfd.spawn('sh', ['-c', 'echo hi; exit 3']);
  let out = '';
  sub.stdout.on('data', (d) => (out += d));
  const closed = once(sub.stdout, 'close'); // listen now: it may close before the exit settles
  const status = await sub.exited;
  equal(status.code, 3, 'code');
  equal(status.signal, null, 'signal');
  await closed;
  equal(out, 'hi\n', 'stdout');
  const err = await throws(() => pidfd.spawn('/nonexistent/program'), 'spawn of a missing program');
  equal(err.code, 'ENOENT', 'code');
});

test('kill() sends through the pidfd, and returns false once the process has exited', async () => {
  const sub = pidfd.spawn('sleep', ['1000'], { stdio: 'ignore' });
  equal(sub.kill('SIGTERM'), true, 'first kill');
  const status = await sub.exited;
  equal(status.signal, 'SIGTERM', 'signal');
  equal(sub.kill('SIGTERM'), false, 'kill after exit');
  equal(sub.running, false, 'running');
});

test('exited of a child_process child carries its status (from())', async () => {
  const child = spawnChild('sh', ['-c', 'read x; exit 9'], { stdio: ['pipe', 'ignore', 'ignore'] });
  await once(child, 'spawn');
  const handle = pidfd.from(child);
  child.stdin.end('\n');
  const status = await handle.exited;
  equal(status.code, 9, 'code');
  handle.close();
});

test('a leader that exits early is not an exit: the process ends with its last thread', async () => {
  const sub = pidfd.spawn(helper('threads'), ['leader-exit-wait', '5'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = lineReader(sub.stdout);
  await lines.next(/^ready/);
  await lines.next(/^leader-exited/);
  const other = pidfd.open(sub.pid); // a second, non-owner view of the same process
  equal(sub.running, true, 'running after the leader exited');
  equal(await settledWithin(sub.exited, QUIET_MS), 'pending', 'exited after the leader exited');
  equal(await settledWithin(other.exited, QUIET_MS), 'pending', 'exited of the second handle');
  sub.stdin.end('\n');
  equal((await sub.exited).code, 5, 'code');
  await other.exited;
  other.close();
});

test('a non-leader execve is not an exit: the pid carries on in the new program', async () => {
  const sub = pidfd.spawn(helper('threads'), ['thread-exec', 'sh', '-c', 'echo execd; read x; exit 4'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = lineReader(sub.stdout);
  await lines.next(/^execd/);
  equal(sub.running, true, 'running after the exec');
  equal(await settledWithin(sub.exited, QUIET_MS), 'pending', 'exited after the exec');
  sub.stdin.end('\n');
  equal((await sub.exited).code, 4, 'code of the new program');
});

test('a zombie is exited: not running, exited settles, kill() returns false', async () => {
  const parent = spawnChild(helper('zombie'), ['3'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const lines = lineReader(parent.stdout);
    const pids = [];
    for (let i = 0; i < 3; i++) pids.push(Number((await lines.next(/^(\d+)$/))[1]));
    await lines.next(/^ready/);
    for (const pid of pids) {
      const handle = pidfd.open(pid);
      equal(handle.running, false, `running of zombie ${pid}`);
      equal(handle.kill('SIGKILL'), false, `kill of zombie ${pid}`);
      const status = await handle.exited;
      equal(status.pid, pid, 'pid');
      handle.close();
    }
  } finally {
    parent.kill('SIGKILL');
    await once(parent, 'exit');
  }
});

test('after a forced pid reuse (pid namespace, ns_last_pid) the old pidfd reaches nothing', async () => {
  const result = await runNode(
    `
    import { spawn } from 'node:child_process';
    import { once } from 'node:events';
    const start = async () => { const c = spawn('sleep', ['1000'], { stdio: 'ignore' }); await once(c, 'spawn'); return c; };
    const first = await start();
    const pid = first.pid;
    const old = pidfd.open(pid);
    const oldInode = old.inode;
    first.kill('SIGKILL');
    await once(first, 'exit'); // reaped by child_process
    await old.exited;
    let second = null;
    for (let i = 0; i < 50 && !second; i++) {
      fs.writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
      const c = await start();
      if (c.pid === pid) second = c;
      else { c.kill('SIGKILL'); await once(c, 'exit'); }
    }
    if (!second) throw new Error('pid ' + pid + ' was not reused');
    const killed = old.kill('SIGKILL');
    const running = old.running;
    let alive = true;
    try { process.kill(pid, 0); } catch { alive = false; }
    const now = pidfd.open(pid);
    const out = { pid, killed, running, alive, inodes: oldInode === null ? null : now.inode !== oldInode };
    now.close(); old.close();
    second.kill('SIGKILL');
    await once(second, 'exit');
    console.log(JSON.stringify(out));
    `,
    { prefix: ['unshare', '-p', '-f', '-m', '--mount-proc'] },
  );
  const out = lastJson(result);
  equal(out.killed, false, 'kill through the old pidfd');
  equal(out.running, false, 'running of the old pidfd');
  equal(out.alive, true, 'the process that reused the pid is alive');
  equal(out.inodes, pidfd.features.inode ? true : null, 'the new process has another inode');
});
