// Section 5 worker, run under node, deno and bun alike: kill -> exit-notification latency of
// pidfd against the runtime's own child-exit notification (Node: child_process 'exit'; Bun:
// Bun.spawn().exited; Deno: Deno.Command().spawn().status), interleaved run by run; then the
// thread count with N watches armed.
//   <runtime> bench/sections/runtimes.mjs '{"runs":100,"warmup":10,"watches":10000}'
// Prints one `BENCH-RESULT {...}` line.
import { spawn as cpSpawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { emitResult, hr, libEntry, parseWorkerArgs, settle } from '../lib/common.mjs';

// The CommonJS build by require: Deno runs CommonJS outside node_modules only that way.
const pidfd = createRequire(import.meta.url)(libEntry.replace(/index\.mjs$/, 'index.js'));
const { native } = createRequire(import.meta.url)(libEntry.replace(/index\.mjs$/, 'binding.js'));
const args = parseWorkerArgs();
const runs = args.runs ?? 100;
const warmup = args.warmup ?? 10;
const watches = args.watches ?? 10000;
const runtime = process.versions.bun ? 'bun' : process.versions.deno ? 'deno' : 'node';

async function pidfdOnce() {
  const child = pidfd.spawn('/bin/sleep', ['1000'], { stdio: 'ignore' });
  await settle(child.pid);
  const exited = child.exited;
  const t0 = hr();
  child.kill('SIGKILL');
  const status = await exited;
  const t1 = hr();
  if (status.signal !== 'SIGKILL') throw new Error(`pidfd: unexpected exit ${JSON.stringify(status)}`);
  return Number(t1 - t0);
}

// The runtime's own notification for its own child, as its users would write it.
const own = {
  async node() {
    const child = cpSpawn('/bin/sleep', ['1000'], { stdio: 'ignore' });
    const exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal)));
    await settle(child.pid);
    const t0 = hr();
    child.kill('SIGKILL');
    const signal = await exit;
    const t1 = hr();
    if (signal !== 'SIGKILL') throw new Error(`child_process: unexpected exit ${signal}`);
    return Number(t1 - t0);
  },
  async bun() {
    const child = globalThis.Bun.spawn(['/bin/sleep', '1000'], { stdio: ['ignore', 'ignore', 'ignore'] });
    await settle(child.pid);
    const t0 = hr();
    child.kill(9);
    await child.exited;
    const t1 = hr();
    if (child.signalCode !== 'SIGKILL') throw new Error(`Bun.spawn: unexpected exit ${child.signalCode}`);
    return Number(t1 - t0);
  },
  async deno() {
    const child = new globalThis.Deno.Command('/bin/sleep', { args: ['1000'], stdin: 'null', stdout: 'null', stderr: 'null' }).spawn();
    await settle(child.pid);
    const t0 = hr();
    child.kill('SIGKILL');
    const status = await child.status;
    const t1 = hr();
    if (status.signal !== 'SIGKILL') throw new Error(`Deno.Command: unexpected exit ${JSON.stringify(status)}`);
    return Number(t1 - t0);
  },
};
const ownNames = { node: "child_process 'exit'", bun: 'Bun.spawn().exited', deno: 'Deno.Command().spawn().status' };

function threadCount() {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
}

/** pidfd's own delivery threads (named by src/loop_thread.cc). */
function deliveryThreads() {
  let n = 0;
  for (const task of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim() === 'pidfd-exits') n++;
    } catch {
      // ended meanwhile
    }
  }
  return n;
}

const impl = { pidfd: pidfdOnce, own: own[runtime] };
const samples = { pidfd: [], own: [] };
const order = Object.keys(impl);
for (let i = 0; i < warmup + runs; i++) {
  for (let j = 0; j < order.length; j++) {
    const name = order[(i + j) % order.length];
    const ns = await impl[name]();
    if (i >= warmup) samples[name].push(ns);
  }
}

// N watches on 100 children (100 each, and the children's own): the thread count must not
// follow the number of watches.
const children = [];
for (let i = 0; i < 100; i++) children.push(pidfd.spawn('/bin/sleep', ['1000'], { stdio: 'ignore' }));
const threadsBefore = threadCount();
const handles = [];
for (let i = 0; handles.length + children.length < watches; i++) {
  const h = pidfd.open(children[i % children.length].pid);
  h.exited.catch(() => {});
  handles.push(h);
}
const threadsWith = threadCount();
const ours = deliveryThreads();
const t0 = hr();
for (const c of children) c.kill('SIGKILL');
await Promise.all([...children, ...handles].map((h) => h.exited));
const settleAllNs = Number(hr() - t0);
for (const h of handles) h.close();

emitResult({
  runtime,
  version: process.versions[runtime] ?? process.version,
  delivery: native.delivery(),
  own: ownNames[runtime],
  runs,
  warmup,
  peers: { pidfd: { samples_ns: samples.pidfd }, own: { samples_ns: samples.own } },
  threads: { watches, before: threadsBefore, with_watches: threadsWith, delivery_threads: ours, storm_settled_ns: settleAllNs },
});
