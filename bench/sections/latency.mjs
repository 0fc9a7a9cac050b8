// Section 1 worker: kill -> exit-notification latency for the Node.js peers.
//   node bench/sections/latency.mjs '{"runs":300,"warmup":10,"peers":[...]}'
// Prints one `BENCH-RESULT {...}` line: { peers: { name: { samples_ns, ... } } }.
import { spawn as cpSpawn } from 'node:child_process';
import { once } from 'node:events';
import { emitResult, hr, libEntry, onLines, parseWorkerArgs, reaperBin, settle } from '../lib/common.mjs';

const pidfd = await import(libEntry);
const args = parseWorkerArgs();
const runs = args.runs ?? 300;
const warmup = args.warmup ?? 10;
const peers = args.peers ?? ['pidfd-spawn', 'pidfd-open', 'child_process', 'kill0-10ms', 'kill0-100ms'];

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

// The polling peers watch a process that is NOT our child: `reaper serve` starts it and
// reaps it the moment it dies (as a reaping init would), so kill(pid, 0) turns to ESRCH
// once it is reaped. The poller runs every `ms` with a phase that is uniformly random
// relative to the kill, as a long-running poller's would be.
let reaper;
let pidWaiters = [];
function startReaper() {
  reaper = cpSpawn(reaperBin, ['serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  onLines(reaper.stdout, (line) => pidWaiters.shift()?.(Number(line)));
  reaper.stdin.on('error', () => {});
}
function victim() {
  return new Promise((resolve) => {
    pidWaiters.push(resolve);
    reaper.stdin.write('\n');
  });
}

function pollerOnce(ms) {
  return async () => {
    const pid = await victim();
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

const impl = {
  'pidfd-spawn': pidfdSpawnOnce,
  'pidfd-open': pidfdOpenOnce,
  child_process: childProcessOnce,
  'kill0-10ms': pollerOnce(10),
  'kill0-100ms': pollerOnce(100),
};

const out = { runs, warmup, peers: {} };
try {
  if (peers.some((p) => p.startsWith('kill0'))) startReaper();
  for (const name of peers) {
    const measure = impl[name];
    if (!measure) throw new Error(`unknown latency peer ${name}`);
    for (let i = 0; i < warmup; i++) await measure();
    const samples = [];
    for (let i = 0; i < runs; i++) samples.push(await measure());
    out.peers[name] = { samples_ns: samples };
  }
} finally {
  if (reaper) {
    reaper.stdin.end();
    await once(reaper, 'exit');
  }
}
emitResult(out);
