// Section 1 worker: kill -> exit-notification latency, every peer interleaved run by run.
//   node bench/sections/latency.mjs '{"runs":60,"warmup":10,"limit":"...","python":"python3",
//                                    "floor":"...node" | null,"floorSkipped":"why"}'
// Prints one `BENCH-RESULT {...}` line: { peers: { name: { samples_ns } | { skipped } } }.
//
// Each iteration runs every peer once, in an order that rotates with the iteration, so a
// drift in the machine's speed (this is a shared VM: it drifts by tens of percent over
// seconds) touches all peers alike. The C and Python peers are line servers that run one
// measurement per request: their runs interleave with ours.
import { spawn as cpSpawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { asyncioPeer, emitResult, hr, libEntry, lineServer, parseWorkerArgs, reaperBin, settle } from '../lib/common.mjs';

const pidfd = await import(libEntry);
const args = parseWorkerArgs();
const runs = args.runs ?? 300;
const warmup = args.warmup ?? 10;

function expectKilled(status, who) {
  if (status.signal !== 'SIGKILL') throw new Error(`${who}: unexpected exit ${JSON.stringify(status)}`);
}

// pidfd.spawn(): the handle's watch is armed from the start (it reaps the child).
async function pidfdSpawnOnce() {
  const child = pidfd.spawn('/bin/sleep', ['1000'], { stdio: 'ignore' });
  try {
    await settle(child.pid);
    const exited = child.exited;
    const t0 = hr();
    child.kill('SIGKILL');
    const status = await exited;
    const t1 = hr();
    expectKilled(status, 'pidfd.spawn');
    return Number(t1 - t0);
  } finally {
    if (child.running) child.kill('SIGKILL');
    await child.exited.catch(() => {});
    child.close();
  }
}

// pidfd.open() on a child_process child: a non-reaping watch (libuv reaps the child).
async function pidfdOpenOnce() {
  const child = cpSpawn('/bin/sleep', ['1000'], { stdio: 'ignore' });
  const cpExit = once(child, 'exit');
  const handle = pidfd.open(child.pid);
  try {
    const exited = handle.exited; // arm the watch before the clock starts
    await settle(child.pid);
    const t0 = hr();
    handle.kill('SIGKILL');
    await exited;
    const t1 = hr();
    return Number(t1 - t0);
  } finally {
    handle.close();
    child.kill('SIGKILL');
    await cpExit;
  }
}

// child_process: child.kill('SIGKILL') -> 'exit' event.
async function childProcessOnce() {
  const child = cpSpawn('/bin/sleep', ['1000'], { stdio: 'ignore' });
  const exit = once(child, 'exit');
  try {
    await settle(child.pid);
    const t0 = hr();
    child.kill('SIGKILL');
    const [, signal] = await exit;
    const t1 = hr();
    if (signal !== 'SIGKILL') throw new Error(`child_process: unexpected exit signal ${signal}`);
    return Number(t1 - t0);
  } finally {
    child.kill('SIGKILL');
  }
}

// The Node floor (bench/peers/floor.c): the same work as pidfd.spawn with nothing on top.
function floorPeer(file) {
  const floor = createRequire(import.meta.url)(file);
  return async () => {
    const [pid, fd] = floor.spawnSleep();
    let reaped;
    const done = new Promise((resolve) => (reaped = resolve));
    floor.watch(fd, reaped);
    await settle(pid);
    const t0 = hr();
    const r = floor.kill(fd, 9);
    if (r !== 0) throw new Error(`floor: pidfd_send_signal: ${r}`);
    const status = await done;
    const t1 = hr();
    if (status !== 9) throw new Error(`floor: unexpected si_status ${status}`);
    return Number(t1 - t0);
  };
}

// The polling peers watch a process that is NOT our child: `reaper serve` starts it and
// reaps it the moment it dies (as a reaping init would), so kill(pid, 0) turns to ESRCH
// once it is reaped. The poller runs every `ms` with a phase that is uniformly random
// relative to the kill, as a long-running poller's would be.
function pollerPeer(reaper, ms) {
  return async () => {
    const pid = Number(await reaper.ask(''));
    await settle(pid);
    let resolveSeen;
    const seen = new Promise((resolve) => (resolveSeen = resolve));
    let interval;
    const tick = () => {
      try {
        process.kill(pid, 0);
      } catch (e) {
        if (e.code !== 'ESRCH') throw e;
        const t = hr();
        clearInterval(interval);
        resolveSeen(t);
      }
    };
    const timer = setTimeout(() => {
      tick();
      interval = setInterval(tick, ms);
    }, Math.random() * ms);
    const t0 = hr();
    try {
      process.kill(pid, 'SIGKILL');
    } catch (e) {
      clearTimeout(timer);
      throw e;
    }
    const t1 = await seen;
    return Number(t1 - t0);
  };
}

const servers = [];
function serve(file, serverArgs) {
  const server = lineServer(file, serverArgs);
  servers.push(server);
  return server;
}

// name -> run once -> ns, or { name: ns } for a run that yields several peers' samples.
const impl = {};
const skipped = {};
const limit = serve(args.limit, ['latency-serve']);
impl['c-poll'] = async () => {
  const [readable, reaped] = (await limit.ask('')).split(' ').map(Number);
  return { 'c-poll': readable, 'c-poll-reap': reaped };
};
if (args.floor) impl.floor = floorPeer(args.floor);
else skipped.floor = args.floorSkipped ?? 'not built';
impl['pidfd-spawn'] = pidfdSpawnOnce;
impl['pidfd-open'] = pidfdOpenOnce;
impl.child_process = childProcessOnce;
let pythonVersion = null;
if (args.python) {
  const python = serve(args.python, [asyncioPeer, 'latency-serve']);
  const greeting = await python.next();
  if (greeting.startsWith('ready ')) {
    pythonVersion = greeting.slice('ready '.length);
    impl['python-asyncio'] = async () => Number(await python.ask('plain'));
    impl['python-asyncio-reap'] = async () => Number(await python.ask('reap'));
  } else {
    skipped['python-asyncio'] = skipped['python-asyncio-reap'] = greeting.replace(/^skipped /, '');
  }
} else {
  skipped['python-asyncio'] = skipped['python-asyncio-reap'] = 'python3 not found';
}
const reaper = serve(reaperBin, ['serve']);
impl['kill0-10ms'] = pollerPeer(reaper, 10);
impl['kill0-100ms'] = pollerPeer(reaper, 100);

const out = { runs, warmup, python: pythonVersion, peers: {} };
const samples = {};
try {
  const order = Object.keys(impl);
  for (let i = 0; i < warmup + runs; i++) {
    for (let j = 0; j < order.length; j++) {
      const name = order[(i + j) % order.length];
      const r = await impl[name]();
      if (i < warmup) continue;
      for (const [peer, ns] of Object.entries(typeof r === 'number' ? { [name]: r } : r)) (samples[peer] ??= []).push(ns);
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.close()));
}
for (const [name, reason] of Object.entries(skipped)) out.peers[name] = { skipped: reason };
for (const [name, s] of Object.entries(samples)) out.peers[name] = { samples_ns: s };
emitResult(out);
