// The runtime suite: the package as a user installs it, under node, deno and bun, asserting
// the behaviours the vitest suite asserts on Node. Run by scripts/test-runtimes.sh from an
// app folder that installed the packed tarball; PIDFD_TEST_HELPERS names the folder of the
// compiled test/helpers programs.
//   node suite.mjs | deno run -A suite.mjs | bun suite.mjs    (RUNTIME_TEST_FILTER=name)
import { spawn as cpSpawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pidfd from 'pidfd';
import {
  equal, match, ok, rejects, run, runScript, runtime, test, threadCount, threadsNamed, throws, until, within,
} from './harness.mjs';

const helpers = process.env.PIDFD_TEST_HELPERS;
const helper = (name) => path.join(helpers, name);

/** Collects a stream's text; resolves `ended` at EOF. */
function collect(stream) {
  const state = { text: '', ended: null };
  state.ended = new Promise((resolve, reject) => {
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => (state.text += chunk));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  return state;
}

/** The process state letter from /proc/<pid>/stat ('Z' zombie), or null once reaped. */
function procState(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return null;
  }
}

// features and basics

test('features: a frozen object of booleans; open and spawnPidfd on any supported kernel', () => {
  const f = pidfd.features;
  ok(Object.isFrozen(f), 'frozen');
  for (const key of ['open', 'spawnPidfd', 'waitid', 'thread', 'signalScope', 'info', 'exitInfo', 'getfd', 'mrelease', 'inode']) {
    equal(typeof f[key], 'boolean', key);
  }
  equal(f.open, true, 'open');
});

test('spawn: the exit code', async () => {
  const child = pidfd.spawn('sh', ['-c', 'exit 7'], { stdio: 'ignore' });
  ok(child.pid > 0);
  match(await child.exited, { pid: child.pid, code: 7, signal: null, coreDumped: false });
  equal(child.running, false, 'running');
});

test('spawn: a killing signal, kill() true while running and false after', async () => {
  const child = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
  equal(child.running, true);
  equal(child.kill('SIGKILL'), true, 'kill while running');
  match(await child.exited, { code: null, signal: 'SIGKILL' });
  equal(child.kill('SIGTERM'), false, 'kill after the exit');
  equal(procState(child.pid), null, 'reaped');
});

test('spawn: stdio pipes are streams (stdout, stderr, stdin)', async () => {
  const child = pidfd.spawn('sh', ['-c', 'read line; echo "got $line"; echo err >&2']);
  const out = collect(child.stdout);
  const err = collect(child.stderr);
  child.stdin.end('hello\n');
  match(await child.exited, { code: 0 });
  await within(Promise.all([out.ended, err.ended]), 30_000, 'stdio EOF');
  equal(out.text, 'got hello\n', 'stdout');
  equal(err.text, 'err\n', 'stderr');
});

test('spawn: ENOENT and a bad cwd throw synchronously, Node-style', () => {
  throws(() => pidfd.spawn('no-such-program-pidfd'), { code: 'ENOENT', syscall: 'spawn no-such-program-pidfd' });
  throws(() => pidfd.spawn('true', [], { cwd: '/no/such/dir' }), { code: 'ENOENT', syscall: 'chdir' });
});

test('bad input: validated like Node', () => {
  throws(() => pidfd.open('1'), { code: 'ERR_INVALID_ARG_TYPE' });
  throws(() => pidfd.open(0), { code: 'ERR_OUT_OF_RANGE' });
  throws(() => pidfd.open(2 ** 31), { code: 'ERR_OUT_OF_RANGE' });
  throws(() => pidfd.spawn('sh', ['a\0b']), { code: 'ERR_INVALID_ARG_VALUE' });
  throws(() => pidfd.spawn('sh', [], { stdio: 'nope' }), { code: 'ERR_INVALID_ARG_VALUE' });
  const self = pidfd.open(process.pid);
  throws(() => self.kill('SIGNOPE'), { code: 'ERR_UNKNOWN_SIGNAL' });
  self.close();
});

test('open: a pid that does not exist throws ESRCH', async () => {
  const child = pidfd.spawn('true', [], { stdio: 'ignore' });
  await child.exited;
  const e = throws(() => pidfd.open(child.pid), { code: 'ESRCH', syscall: 'pidfd_open' });
  ok(e.errno < 0, 'negative errno');
});

test('open: another handle on our child settles with its status', async () => {
  const child = pidfd.spawn('sh', ['-c', 'sleep 0.2; exit 5'], { stdio: 'ignore' });
  const other = pidfd.open(child.pid);
  const [a, b] = await Promise.all([child.exited, other.exited]);
  match(a, { code: 5 });
  equal(b.pid, child.pid);
  ok(b.code === 5 || b.code === null, `code ${b.code}`);
  other.close();
});

test('close(): a pending exited rejects ERR_PIDFD_CLOSED; kill throws it', async () => {
  const child = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
  const handle = pidfd.open(child.pid);
  const pending = handle.exited;
  handle.close();
  await rejects(pending, { code: 'ERR_PIDFD_CLOSED' });
  throws(() => handle.kill(), { code: 'ERR_PIDFD_CLOSED' });
  child.kill('SIGKILL');
  await child.exited;
});

test('onExit: an AbortSignal rejects with its reason; the watch stays armed', async () => {
  const child = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
  const controller = new AbortController();
  const waiting = child.onExit({ signal: controller.signal });
  controller.abort();
  await rejects(waiting, { name: 'AbortError' });
  child.kill('SIGKILL');
  match(await child.exited, { signal: 'SIGKILL' });
});

test('terminate: escalates to SIGKILL after the timeout', async () => {
  const child = pidfd.spawn('sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 1; done']);
  const out = collect(child.stdout);
  await until(() => out.text.includes('ready'), 'ready');
  match(await child.terminate({ timeout: 300 }), { signal: 'SIGKILL' });
});

test('terminate: resolves on the first signal when it works', async () => {
  const child = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
  match(await child.terminate({ timeout: 60_000 }), { signal: 'SIGTERM' });
});

test('info(): our ids, ppid is us', () => {
  const child = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
  const info = child.info();
  match(info, { pid: child.pid, ppid: process.pid });
  equal(typeof info.uid, 'number');
  child.kill('SIGKILL');
  return child.exited;
});

test('from(child): a child_process child, status at the exit', async () => {
  const cp = cpSpawn('sh', ['-c', 'sleep 0.2; exit 3'], { stdio: 'ignore' });
  const handle = pidfd.from(cp);
  equal(handle.pid, cp.pid);
  match(await within(handle.exited, 30_000, 'from(child).exited'), { code: 3 });
});

// the kernel's meaning of "exited"

test('threads: an early-exiting leader is not an exit; the last thread is', async () => {
  const child = pidfd.spawn(helper('threads'), ['leader-exit-wait', '3'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const out = collect(child.stdout);
  await until(() => out.text.includes('leader-exited'), 'leader-exited');
  const observer = pidfd.open(child.pid);
  let settled = false;
  observer.exited.then(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 200));
  equal(settled, false, 'settled while a thread ran');
  equal(observer.running, true, 'running');
  child.stdin.end('go\n');
  match(await child.exited, { code: 3 });
  await observer.exited;
  observer.close();
});

test('threads: a non-leader thread execve is not an exit', async () => {
  const child = pidfd.spawn(helper('threads'), ['thread-exec', '/bin/sleep', '30'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const out = collect(child.stdout);
  await until(() => out.text.includes('exec'), 'exec');
  await until(() => {
    try {
      return fs.readlinkSync(`/proc/${child.pid}/exe`).endsWith('sleep');
    } catch {
      return false;
    }
  }, 'the exec');
  equal(child.running, true, 'running after the exec');
  equal(child.kill('SIGKILL'), true);
  match(await child.exited, { signal: 'SIGKILL' });
});

test('zombies: a zombie opens and counts as exited', async () => {
  const parent = pidfd.spawn(helper('zombie'), ['1']);
  const out = collect(parent.stdout);
  await until(() => out.text.includes('ready'), 'ready');
  const zombiePid = Number(out.text.split('\n')[0]);
  await until(() => procState(zombiePid) === 'Z', 'the zombie');
  const handle = pidfd.open(zombiePid);
  equal(handle.running, false, 'running');
  equal(handle.kill('SIGTERM'), false, 'kill a zombie');
  const status = await within(handle.exited, 30_000, 'zombie exited');
  equal(status.pid, zombiePid);
  handle.close();
  parent.kill('SIGKILL');
  await parent.exited;
});

// process trees (docs/trees.md): both methods where this machine has them

// The cgroup method needs a writable cgroup2 and CLONE_INTO_CGROUP: where this machine has
// neither, its tests are skipped, saying why.
function probeCgroupMethod() {
  try {
    const probe = pidfd.spawn('true', [], { stdio: 'ignore', tree: { method: 'cgroup' } });
    return probe.exited.then(() => probe.tree.exited).then(() => undefined);
  } catch (e) {
    return Promise.resolve(`the cgroup method is not available here (${e.code}: ${e.message})`);
  }
}
const treeSkip = { cgroup: await probeCgroupMethod(), subreaper: undefined };

for (const method of ['cgroup', 'subreaper']) {
  test(`trees (${method}): a detached grandchild is a member; kill('SIGKILL') empties the tree`, async () => {
    const child = pidfd.spawn('sh', ['-c', 'setsid sleep 1000 & echo "grandchild $!"; exec sleep 1000'], { tree: { method } });
    equal(child.tree.method, method);
    const out = collect(child.stdout);
    await until(() => out.text.includes('grandchild'), 'the grandchild');
    const grandchild = Number(/grandchild (\d+)/.exec(out.text)[1]);
    await until(() => child.tree.pids().includes(grandchild), `grandchild ${grandchild} in ${child.tree.pids()}`);
    ok(child.tree.pids().includes(child.pid), 'the root is a member');
    if (method === 'subreaper') {
      // Its keeper (the root's parent) runs the pidfd-keeper program installed beside the addon.
      const keeper = Number(fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      const exe = fs.readlinkSync(`/proc/${keeper}/exe`);
      ok(/\/node_modules\/pidfd\/prebuilds\/linux-\w+\/pidfd-keeper$/.test(exe), `the keeper runs ${exe}`);
    }
    ok(child.tree.kill('SIGKILL') >= 1, 'signalled');
    await within(child.tree.exited, 60_000, 'tree.exited');
    equal(child.tree.done, true);
    match(await child.exited, { signal: 'SIGKILL' });
    await until(() => procState(grandchild) === null, 'the grandchild gone and reaped');
  }, { skip: treeSkip[method] });

  test(`trees (${method}): terminate() ends the whole tree`, async () => {
    const child = pidfd.spawn('sh', ['-c', 'sleep 1000 & sleep 1000 & echo ready; wait'], { tree: { method } });
    const out = collect(child.stdout);
    await until(() => out.text.includes('ready'), 'ready');
    await until(() => child.tree.pids().length >= 3, 'three members');
    const pids = child.tree.pids();
    match(await within(child.tree.terminate({ timeout: 60_000 }), 60_000, 'tree.terminate'), {});
    equal(child.tree.done, true);
    match(await child.exited, { signal: 'SIGTERM' });
    // Exited members are reaped by their parents (the root by us): none is left running.
    for (const pid of pids) await until(() => procState(pid) === null, `member ${pid} gone`);
  }, { skip: treeSkip[method] });
}

test('trees: bad input is refused', () => {
  throws(() => pidfd.spawn('true', [], { tree: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' });
  throws(() => pidfd.spawn('true', [], { tree: { method: 'nope' } }), { code: 'ERR_INVALID_ARG_VALUE' });
});

// many watches, threads, lifecycle

test('many watches: 10,000 concurrent watches settle correctly with a constant thread count', async () => {
  const children = [];
  for (let i = 0; i < 100; i++) children.push(pidfd.spawn('sh', ['-c', `read x; exit ${i % 50}`], { stdio: ['pipe', 'ignore', 'ignore'] }));
  // Our own threads carry a name: one delivery thread per environment on the thread path
  // (Deno, Bun, PIDFD_DELIVERY=thread), none on Node's uv path, however many watches.
  const handles = [];
  try {
    const ours = process.versions.bun || process.versions.deno || process.env.PIDFD_DELIVERY === 'thread' ? 1 : 0;
    equal(threadsNamed('pidfd-exits'), ours, 'delivery threads with 100 watches');
    const before = threadCount();
    for (let i = 0; i < 9_900; i++) {
      const h = pidfd.open(children[i % 100].pid);
      handles.push(h);
      h.exited;  // arm the watch
    }
    const during = threadCount();
    equal(threadsNamed('pidfd-exits'), ours, 'delivery threads with 10,000 watches');
    // The runtime may start a helper of its own meanwhile (a GC thread for the bigger heap):
    // a little slack, nothing like a thread per watch.
    ok(during <= before + 2, `threads grew from ${before} to ${during} with 10,000 watches`);
    for (const child of children) child.stdin.end('\n');
    const statuses = await within(Promise.all(children.map((c) => c.exited)), 60_000, 'children');
    statuses.forEach((s, i) => equal(s.code, i % 50, `child ${i}`));
    const observed = await within(Promise.all(handles.map((h) => h.exited)), 60_000, '9,900 watches');
    observed.forEach((s, i) => {
      equal(s.pid, children[i % 100].pid);
      ok(s.code === (i % 100) % 50 || s.code === null, `watch ${i}: code ${s.code}`);
    });
    ok(threadCount() <= before + 2, 'threads after');
  } finally {
    // A failure must not leave them running (their watches would keep the runtime alive).
    for (const child of children) if (child.running) child.kill('SIGKILL');
    for (const h of handles) h.close();
  }
});

test('a loop of spawn, kill, await (200 rounds)', async () => {
  for (let i = 0; i < 200; i++) {
    const child = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
    child.kill('SIGKILL');
    match(await child.exited, { signal: 'SIGKILL' }, `round ${i}`);
  }
});

test('ref: a pending watch keeps the runtime alive until the exit', () => {
  const r = runScript(`
    const child = pidfd.spawn('sh', ['-c', 'sleep 0.3; exit 4'], { stdio: 'ignore' });
    child.exited.then((s) => console.log('exited ' + s.code));
  `);
  equal(r.stdout.trim(), 'exited 4', r.stderr);
  equal(r.code, 0, r.stderr);
});

test('unref: an unref()ed watch lets the runtime exit; the child is not left a zombie of ours', () => {
  const r = runScript(`
    const child = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' });
    child.unref();
    child.exited.then(() => console.log('never'));
    console.log(child.pid);
  `);
  equal(r.code, 0, r.stderr);
  equal(r.stdout.includes('never'), false);
  const pid = Number(r.stdout.trim());
  ok(pid > 0, r.stdout);
  try { process.kill(pid, 'SIGKILL'); } catch {}
});

test('exit with watches pending: process.exit and a natural end, no crash', () => {
  const r = runScript(`
    const kids = [];
    for (let i = 0; i < 50; i++) kids.push(pidfd.spawn('sleep', ['30'], { stdio: 'ignore' }));
    for (const k of kids) { const h = pidfd.open(k.pid); h.exited; h.unref(); k.unref(); }
    const quick = pidfd.spawn('true', [], { stdio: 'ignore' });
    await quick.exited;
    for (const k of kids.slice(0, 25)) k.kill('SIGKILL');
    console.log('pids ' + kids.map((k) => k.pid).join(','));
  `);
  equal(r.code, 0, `status ${r.code} ${r.signal}: ${r.stderr}`);
  equal(r.signal, null);
  ok(r.stdout.includes('pids '), r.stdout);
  ok(!/panic|fatal|HandleScope|Segmentation/i.test(r.stderr), r.stderr);
  for (const pid of r.stdout.split('pids ')[1].trim().split(',').map(Number)) {
    try { process.kill(pid, 'SIGKILL'); } catch {}
  }
  const e = runScript(`
    for (let i = 0; i < 20; i++) { const k = pidfd.spawn('sleep', ['30'], { stdio: 'ignore' }); k.exited; setTimeout(() => k.kill('SIGKILL'), 1); }
    setTimeout(() => process.exit(0), 2);
  `);
  equal(e.code, 0, `process.exit: status ${e.code} ${e.signal}: ${e.stderr}`);
  ok(!/panic|fatal|HandleScope|Segmentation/i.test(e.stderr), e.stderr);
});

test('workers: a worker spawns and awaits a child; a terminated worker leaves no zombie', async () => {
  const { Worker } = await import('node:worker_threads');
  const source = `
    import * as pidfd from 'pidfd';
    import { parentPort } from 'node:worker_threads';
    const child = pidfd.spawn('sh', ['-c', 'exit 9'], { stdio: 'ignore' });
    const status = await child.exited;
    const long = pidfd.spawn('sleep', ['0.5'], { stdio: 'ignore' });
    long.exited;
    parentPort.postMessage({ code: status.code, long: long.pid });
  `;
  const file = path.join(path.dirname(new URL(import.meta.url).pathname), `.worker-${process.pid}.mjs`);
  fs.writeFileSync(file, source);
  try {
    const worker = new Worker(file);
    const message = await within(new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    }), 60_000, 'worker message');
    equal(message.code, 9, 'status in the worker');
    await worker.terminate();
    // The worker's environment is gone while its child runs: someone must still reap it.
    await until(() => procState(message.long) === null, 'the orphan reaped', 30_000);
  } finally {
    fs.rmSync(file, { force: true });
  }
});

process.exitCode = (await run()) === 0 ? 0 : 1;
