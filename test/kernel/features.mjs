// pidfd.features on this kernel, entry by entry against the kernel's history, and what each
// feature does here: it works, or it throws its documented error naming the kernel it needs,
// or (info, exitInfo, inode) it falls back as documented.
import { release } from 'node:os';
import { spawn as spawnChild } from 'node:child_process';
import { once } from 'node:events';
import { assert, equal, test, throws } from './harness.mjs';
import { atLeast, history } from './history.mjs';
import { helper, lineReader, pidfd } from './support.mjs';

const kernel = release();
const expected = (name) => atLeast(kernel, history[name]);
const features = pidfd.features;

test('the history table names exactly the features pidfd reports', () => {
  equal(Object.keys(history).sort().join(','), Object.keys(features).sort().join(','), 'feature names');
});

for (const name of Object.keys(history)) {
  test(`features.${name} is ${expected(name)} on ${kernel} (since Linux ${history[name]})`, () => {
    equal(features[name], expected(name), `features.${name}`);
  });
}

/** A missing feature's error: an errno code and a message naming the kernel it needs. */
function assertFeatureError(err, name) {
  assert(['ENOSYS', 'EINVAL', 'ENOTTY', 'EPERM'].includes(err.code), `${name}: unexpected code ${err.code} (${err.message})`);
  assert(typeof err.errno === 'number' && err.errno < 0, `${name}: errno ${err.errno}`);
  assert(err.message.includes(`Linux ${history[name]}`), `${name}: message does not name Linux ${history[name]}: ${err.message}`);
}

/** A child of child_process (not ours to reap) with a pidfd, and how to end it. */
async function stranger(args = ['1000']) {
  const child = spawnChild('sleep', args, { stdio: 'ignore' });
  await once(child, 'spawn');
  return { child, handle: pidfd.from(child) };
}

test(`open(tid, { thread: true }) ${expected('thread') ? 'gives a thread pidfd that exits with its thread' : 'throws, naming Linux 6.9'}`, async () => {
  const sub = pidfd.spawn(helper('threads'), ['thread-exit-on-signal'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const lines = lineReader(sub.stdout);
    const tid = Number((await lines.next(/^tid (\d+)/))[1]);
    await lines.next(/^ready/);
    if (!expected('thread')) {
      assertFeatureError(await throws(() => pidfd.open(tid, { thread: true }), 'thread open'), 'thread');
      // Without PIDFD_THREAD a non-leader tid is refused, and the message says whose thread it is.
      const err = await throws(() => pidfd.open(tid), 'open of a non-leader tid');
      equal(err.code, 'EINVAL', 'code for a non-leader tid before 6.16');
      assert(err.message.includes(`thread of process ${sub.pid}`), err.message);
      return;
    }
    const err = await throws(() => pidfd.open(tid), 'open of a non-leader tid');
    equal(err.code, atLeast(kernel, '6.16') ? 'ENOENT' : 'EINVAL', 'code for a non-leader tid');
    const thread = pidfd.open(tid, { thread: true });
    try {
      assert(thread.kill('SIGUSR1', { scope: 'thread' }), 'kill to the thread');
      await thread.exited;
      assert(sub.running, 'the process outlives its thread');
    } finally {
      thread.close();
    }
  } finally {
    sub.kill('SIGKILL');
    await sub.exited;
  }
});

test(`kill(signal, { scope }) ${expected('signalScope') ? 'signals the process group' : 'throws, naming Linux 6.9'}`, async () => {
  const { child, handle } = await stranger();
  try {
    if (!expected('signalScope')) {
      assertFeatureError(await throws(() => handle.kill(0, { scope: 'process' }), 'scoped kill'), 'signalScope');
      equal(handle.kill(0), true, 'an unscoped kill still works');
      return;
    }
    equal(handle.kill(0, { scope: 'process' }), true, 'scoped kill 0');
    equal(handle.kill('SIGTERM', { scope: 'process' }), true, 'scoped SIGTERM');
    const status = await handle.exited;
    equal(status.signal, 'SIGTERM', 'signal');
  } finally {
    child.kill('SIGKILL');
    handle.close();
  }
});

test(`info() gives pid and ppid ${expected('info') ? 'through PIDFD_GET_INFO' : 'from /proc'}, and ESRCH once reaped`, async () => {
  const sub = pidfd.spawn('sleep', ['1000'], { stdio: 'ignore' });
  const info = sub.info();
  equal(info.pid, sub.pid, 'pid');
  equal(info.ppid, process.pid, 'ppid');
  equal(info.uid, process.getuid(), 'uid');
  sub.kill('SIGKILL');
  await sub.exited;
  equal((await throws(() => sub.info(), 'info after reap')).code, 'ESRCH', 'code after reap');
});

test(`a non-child's exit status is ${expected('exitInfo') ? 'read from PIDFD_INFO_EXIT' : 'null (no PIDFD_INFO_EXIT)'}`, async () => {
  // Someone else (the zombie helper) reaps its child after our handle was opened.
  const reaper = spawnChild(helper('zombie'), ['1', 'reap-on-line'], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const lines = lineReader(reaper.stdout);
    const pid = Number((await lines.next(/^(\d+)$/))[1]);
    await lines.next(/^ready/);
    const handle = pidfd.open(pid);
    equal(handle.running, false, 'a zombie is not running');
    reaper.stdin.write('\n');
    await lines.next(/^reaped/);
    const status = await handle.exited;
    equal(status.pid, pid, 'pid');
    equal(status.code, expected('exitInfo') ? 7 : null, 'code');
    handle.close();
  } finally {
    reaper.kill('SIGKILL');
  }
});

test(`getfd() ${expected('getfd') ? 'duplicates an fd out of a process' : 'throws, naming Linux 5.6'}`, async () => {
  const sub = pidfd.spawn('sleep', ['1000'], { stdio: ['pipe', 'ignore', 'ignore'] });
  try {
    if (!expected('getfd')) {
      assertFeatureError(await throws(() => sub.getfd(0), 'getfd'), 'getfd');
      return;
    }
    const fd = sub.getfd(0);
    assert(fd > 2, `fd ${fd}`);
    (await import('node:fs')).closeSync(fd);
    equal((await throws(() => sub.getfd(999), 'getfd of an unknown fd')).code, 'EBADF', 'code');
  } finally {
    sub.kill('SIGKILL');
    await sub.exited;
  }
});

test(`mrelease() ${expected('mrelease') ? 'releases a killed process, EINVAL for a live one' : 'throws, naming Linux 5.15'}`, async () => {
  const sub = pidfd.spawn('sleep', ['1000'], { stdio: 'ignore' });
  try {
    if (!expected('mrelease')) {
      assertFeatureError(await throws(() => sub.mrelease(), 'mrelease'), 'mrelease');
      return;
    }
    equal((await throws(() => sub.mrelease(), 'mrelease of a live process')).code, 'EINVAL', 'code');
    sub.kill('SIGKILL');
    try {
      sub.mrelease();
    } catch (err) {
      equal(err.code, 'ESRCH', 'mrelease after SIGKILL: 0 or ESRCH');
    }
  } finally {
    sub.kill('SIGKILL');
    await sub.exited;
  }
});

test(`inode is ${expected('inode') ? 'the pidfs inode, shared by two handles' : 'null (no pidfs)'}`, async () => {
  const { child, handle } = await stranger();
  try {
    const again = pidfd.open(child.pid);
    try {
      if (!expected('inode')) {
        equal(handle.inode, null, 'inode');
        return;
      }
      assert(Number.isInteger(handle.inode) && handle.inode > 0, `inode ${handle.inode}`);
      equal(again.inode, handle.inode, 'the second handle');
    } finally {
      again.close();
    }
  } finally {
    child.kill('SIGKILL');
    await handle.exited;
    handle.close();
  }
});

test('waitid(P_PIDFD) reaps our child with its exact status', async () => {
  equal(features.waitid, true, 'features.waitid');
  const sub = pidfd.spawn('sh', ['-c', 'exit 42'], { stdio: 'ignore' });
  const status = await sub.exited;
  equal(status.code, 42, 'code');
});
