// Section 5 worker: process trees. Run under `reaper run` (a child subreaper), so that the
// orphans of a killed tree are reaped.
//   node bench/sections/tree.mjs '{"size":1000,"fanout":10,"runs":10,"treeKillRuns":3,
//     "spawns":200,"warmup":3,"forktree":"...","cgroupKill":"...","graceMs":5000}'
// Prints one `BENCH-RESULT {...}` line:
//   { spawn: { plain, tree } , kill: { c, pidfd, 'tree-kill' }, cgroup_parent, tree_method }
// each peer { samples_ns, ... } or { skipped: why }.
//
// Spawn: pidfd.spawn('/bin/true') until `exited`, plain, with { tree: true } and with
// { tree: { method: 'subreaper' } } (a keeper; until both the child's and the tree's
// `exited`), alternating run by run.
// Kill each: `eachTrees` single-process trees per method, killed one by one
// (tree.kill('SIGKILL') each) until every tree's `exited`.
// Supervisor death: a dieWithParent tree of 100 (setsid and double-forked members) under a
// sub-supervisor that is SIGKILLed; from the kill to every member exited, per method.
// Kill: a tree of `size` processes (bench/helpers/forktree) killed until it is empty, the
// peers taking turns run by run (the C peer is a line server): C cgroup.kill + POLLPRI on
// cgroup.events; pidfd tree.kill('SIGKILL') + tree.exited; the tree-kill npm package
// (its callback, and the tree's cgroup empty, seen through inotify on cgroup.events).
import { spawn as cpSpawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { emitResult, hr, libEntry, lineServer, onLines, parseWorkerArgs, rootDir, sleep } from '../lib/common.mjs';

const pidfd = await import(libEntry);
const args = parseWorkerArgs();
const { size = 1000, fanout = 10, runs = 10, treeKillRuns = 3, spawns = 200, warmup = 3, graceMs = 5000, eachTrees = 500, deathRuns = 5 } = args;

/** Where this process may create cgroups: its own cgroup v2 directory, or null and why. */
function cgroupHome() {
  const mount = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .find((f) => f[f.indexOf('-') + 1] === 'cgroup2');
  if (!mount) return { why: 'no cgroup2 mount' };
  const own = /^0::(.*)$/m.exec(fs.readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
  if (own === undefined) return { why: 'not in a cgroup v2 hierarchy' };
  const dir = path.join(mount[4], own, `pidfd-bench-${process.pid}`);
  try {
    fs.mkdirSync(dir);
  } catch (e) {
    return { why: `cannot create ${dir}: ${e.code}` };
  }
  if (!fs.existsSync(path.join(dir, 'cgroup.kill'))) {
    fs.rmdirSync(dir);
    return { why: 'no cgroup.kill (Linux < 5.14)' };
  }
  return { dir };
}

const populated = (dir) => /^populated 1$/m.test(fs.readFileSync(path.join(dir, 'cgroup.events'), 'utf8'));

/** Resolves with hr() once the cgroup is empty; inotify on cgroup.events, as a JS supervisor would. */
function whenEmpty(dir) {
  const watcher = fs.watch(path.join(dir, 'cgroup.events'));
  let check;
  const empty = new Promise((resolve) => {
    check = () => {
      if (!populated(dir)) {
        watcher.close();
        resolve(hr());
      }
    };
    watcher.on('change', check);
  });
  return { empty, check, close: () => watcher.close() };
}

/** Reads the child's stdout up to its "ready" line. */
function ready(stream) {
  return new Promise((resolve, reject) => {
    onLines(stream, (line) => (line.startsWith('ready ') ? resolve() : reject(new Error(`forktree said: ${line}`))));
    stream.once('end', () => reject(new Error('forktree ended before it was ready')));
  });
}

// ---- spawn: plain vs tree -------------------------------------------------------------
async function plainSpawnOnce() {
  const t0 = hr();
  const child = pidfd.spawn('/bin/true', [], { stdio: 'ignore' });
  const t1 = hr();
  await child.exited;
  const t2 = hr();
  child.close();
  return { total: Number(t2 - t0), block: Number(t1 - t0) };
}

async function treeSpawnOnce(tree = true) {
  const t0 = hr();
  const child = pidfd.spawn('/bin/true', [], { stdio: 'ignore', tree });
  const t1 = hr();
  await Promise.all([child.exited, child.tree.exited]);
  const t2 = hr();
  child.close();
  return { total: Number(t2 - t0), block: Number(t1 - t0) };
}

// ---- kill each: many single-process trees, one kill() each ------------------------------
async function killEachOnce(method) {
  const children = [];
  for (let i = 0; i < eachTrees; i++) children.push(pidfd.spawn('sleep', ['1000'], { stdio: 'ignore', tree: { method } }));
  const t0 = hr();
  for (const child of children) child.tree.kill('SIGKILL');
  await Promise.all(children.map((child) => child.tree.exited));
  const t1 = hr();
  await Promise.all(children.map((child) => child.exited));
  for (const child of children) child.close();
  return Number(t1 - t0);
}

// ---- supervisor death: a dieWithParent tree of 100 under a SIGKILLed supervisor ---------
const crowd = 'for i in $(seq 1 33); do sleep 1000 & setsid sleep 1000 & (sleep 1000 &); done; echo ready; wait';
async function supervisorDeathOnce(method) {
  const inner = `
    const pidfd = await import(${JSON.stringify(libEntry)});
    const child = pidfd.spawn('sh', ['-c', ${JSON.stringify(crowd)}], { tree: { method: '${method}' }, dieWithParent: true, stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => child.stdout.once('data', r));
    let pids;
    while ((pids = child.tree.pids()).length < 100) await new Promise((r) => setTimeout(r, 10));
    console.log(JSON.stringify(pids));
    setInterval(() => {}, 1 << 30);
  `;
  const sup = cpSpawn(process.execPath, ['--input-type=module', '-e', inner], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exit = once(sup, 'exit');
  const pids = await new Promise((resolve, reject) => {
    onLines(sup.stdout, (line) => resolve(JSON.parse(line)));
    sup.stdout.once('end', () => reject(new Error('the supervisor ended before it was ready')));
  });
  const members = pids.map((pid) => pidfd.open(pid));
  const t0 = hr();
  sup.kill('SIGKILL');
  await Promise.all(members.map((m) => m.exited));
  const t1 = hr();
  for (const m of members) m.close();
  await exit;
  return { ns: Number(t1 - t0), members: pids.length };
}

// ---- kill: C, pidfd, tree-kill --------------------------------------------------------
async function pidfdKillOnce() {
  const child = pidfd.spawn(args.forktree, [String(size), String(fanout)], { stdio: ['ignore', 'pipe', 'inherit'], tree: true });
  await ready(child.stdout);
  const exited = child.tree.exited;
  const t0 = hr();
  const signalled = child.tree.kill('SIGKILL');
  await exited;
  const t1 = hr();
  await child.exited;
  child.stdout.destroy();
  child.close();
  return { ns: Number(t1 - t0), signalled };
}

let treeKillRun = 0;
function treeKillPeer(treeKill, parent) {
  return async () => {
    const dir = path.join(parent, `tk-${treeKillRun++}`);
    fs.mkdirSync(dir);
    const child = cpSpawn(args.forktree, [String(size), String(fanout), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exit = once(child, 'exit');
    await ready(child.stdout);
    const watch = whenEmpty(dir);
    const t0 = hr();
    const callback = await new Promise((resolve, reject) => treeKill(child.pid, 'SIGKILL', (err) => (err ? reject(err) : resolve(hr()))));
    watch.check();
    const empty = await Promise.race([watch.empty, sleep(graceMs).then(() => null)]);
    let survivors = 0;
    if (empty === null) {
      // What tree-kill missed: count it, then clean up with cgroup.kill.
      survivors = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').trim().split('\n').filter(Boolean).length;
      fs.writeFileSync(path.join(dir, 'cgroup.kill'), '1');
      await watch.empty;
    }
    watch.close();
    await exit;
    fs.rmdirSync(dir);
    return { ns: Number((empty ?? callback) - t0), callback_ns: Number(callback - t0), survivors };
  };
}

// ---- main -----------------------------------------------------------------------------
const out = { size, fanout, runs, tree_kill_runs: treeKillRuns, spawns, warmup, spawn: {}, kill: {} };
const home = cgroupHome();
out.cgroup_parent = home.dir ?? null;

// pidfd's tree: present once the library has it (spawn({ tree: true }) gives a .tree).
let treeWhy = null;
try {
  const probe = pidfd.spawn('/bin/true', [], { stdio: 'ignore', tree: true });
  if (!probe.tree) treeWhy = 'this build of pidfd has no spawn({ tree: true })';
  else out.tree_method = probe.tree.method;
  await probe.exited;
  await probe.tree?.exited;
  probe.close();
} catch (e) {
  treeWhy = `spawn({ tree: true }) failed: ${e.code ?? e.message}`;
}

/** The tree methods this process can use: subreaper always, cgroup where a forced one spawns. */
function usableTreeMethods() {
  const methods = ['subreaper'];
  try {
    const probe = pidfd.spawn('/bin/true', [], { stdio: 'ignore', tree: { method: 'cgroup' } });
    probe.tree.close();
    probe.close();
    methods.unshift('cgroup');
  } catch {
    // no writable cgroup2 here
  }
  return methods;
}

const servers = [];
try {
  // Spawn, alternating run by run.
  if (treeWhy) {
    out.spawn.tree = { skipped: treeWhy };
    out.spawn.plain = { skipped: 'measured only beside the tree peer' };
  } else {
    const once = { plain: plainSpawnOnce, tree: () => treeSpawnOnce(true), subreaper: () => treeSpawnOnce({ method: 'subreaper' }) };
    const names = Object.keys(once);
    const samples = Object.fromEntries(names.map((name) => [name, { total: [], block: [] }]));
    for (let i = 0; i < warmup + spawns; i++) {
      for (let j = 0; j < names.length; j++) {
        const name = names[(i + j) % names.length];
        const r = await once[name]();
        if (i < warmup) continue;
        samples[name].total.push(r.total);
        samples[name].block.push(r.block);
      }
    }
    for (const name of names) out.spawn[name] = { samples_ns: samples[name].total, block_samples_ns: samples[name].block };
  }

  // Kill each, and supervisor death, per method (cgroup where this process may create one).
  out.kill_each = { trees: eachTrees };
  out.supervisor_death = { runs: deathRuns };
  const treeMethods = treeWhy ? [] : usableTreeMethods();
  for (const method of treeMethods) {
    const each = [];
    for (let i = 0; i < Math.max(1, Math.ceil(runs / 5)); i++) each.push(await killEachOnce(method));
    out.kill_each[method] = { samples_ns: each };
    const death = [];
    for (let i = 0; i < deathRuns; i++) death.push((await supervisorDeathOnce(method)).ns);
    out.supervisor_death[method] = { samples_ns: death };
  }
  if (treeWhy) out.kill_each.skipped = out.supervisor_death.skipped = treeWhy;

  // Kill, the peers taking turns run by run.
  const impl = {};
  const skip = (name, why) => (out.kill[name] = { skipped: why });
  if (home.dir) {
    const c = lineServer(args.cgroupKill, ['serve', home.dir, args.forktree, String(size), String(fanout)]);
    servers.push(c);
    impl.c = async () => ({ ns: Number(await c.ask('')) });
  } else skip('c', home.why);
  if (!treeWhy) impl.pidfd = pidfdKillOnce;
  else skip('pidfd', treeWhy);
  let treeKill = null;
  try {
    treeKill = createRequire(path.join(rootDir, 'package.json'))('tree-kill');
  } catch {
    skip('tree-kill', 'the tree-kill package is not installed (npm ci installs it: a devDependency)');
  }
  const hasPs = (process.env.PATH ?? '').split(':').some((dir) => fs.existsSync(path.join(dir || '.', 'ps')));
  if (treeKill && !hasPs) skip('tree-kill', 'it runs ps(1), which is not installed (procps)');
  else if (treeKill && home.dir) impl['tree-kill'] = treeKillPeer(treeKill, home.dir);
  else if (treeKill) skip('tree-kill', `its exit is seen through the tree's cgroup: ${home.why}`);

  const samples = {};
  const names = Object.keys(impl);
  for (let i = 0; i < warmup + runs; i++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length];
      if (name === 'tree-kill' && (i < warmup || i >= warmup + treeKillRuns)) continue; // slow: no warm-up, fewer runs
      const r = await impl[name]();
      if (i < warmup && name !== 'tree-kill') continue;
      const s = (samples[name] ??= { samples_ns: [] });
      s.samples_ns.push(r.ns);
      if (r.survivors !== undefined) (s.survivors ??= []).push(r.survivors);
      if (r.callback_ns !== undefined) (s.callback_samples_ns ??= []).push(r.callback_ns);
      if (r.signalled !== undefined) (s.signalled ??= []).push(r.signalled);
    }
  }
  Object.assign(out.kill, samples);
} catch (error) {
  // A tree left running would keep `reaper run` (and so the harness) waiting for good: kill
  // what is in our cgroups, then our whole process group (the trees are in it), and fail.
  console.error(`[tree] failed: ${error.stack ?? error}`);
  for (const name of home.dir ? fs.readdirSync(home.dir) : []) {
    try {
      fs.writeFileSync(path.join(home.dir, name, 'cgroup.kill'), '1');
    } catch {
      /* not a cgroup, or gone */
    }
  }
  process.kill(0, 'SIGKILL');
}
await Promise.all(servers.map((s) => s.close()));
if (home.dir) fs.rmdirSync(home.dir);
emitResult(out);
