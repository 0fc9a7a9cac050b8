// Section 2 worker: spawn throughput of /bin/true, pidfd.spawn vs child_process.spawn.
//   node [--max-old-space-size=4096] bench/sections/spawn.mjs '{"n":2000,"inflight":[1,8],"heapMiB":0}'
// With heapMiB > 0 it first allocates that much live JS heap (arrays of objects and
// arrays of doubles, all reachable) and keeps it for the whole run.
// Prints one `BENCH-RESULT {...}` line.
import { spawn as cpSpawn } from 'node:child_process';
import { emitResult, hr, libEntry, median, parseWorkerArgs, percentile } from '../lib/common.mjs';

const pidfd = await import(libEntry);
const args = parseWorkerArgs();
const n = args.n ?? 2000;
const inflights = args.inflight ?? [1, 8];
const heapMiB = args.heapMiB ?? 0;
const peers = args.peers ?? ['pidfd', 'child_process'];

// ~heapMiB of live JS heap: half small objects in arrays, half packed double arrays.
const ballast = [];
function allocate(mib) {
  const objectBytes = (mib / 2) * 1024 * 1024;
  // an object { a, b, c } with 3 in-object fields is 24-32 bytes, plus an 8-byte slot
  const perChunk = 1 << 20;
  let bytes = 0;
  while (bytes < objectBytes) {
    const chunk = new Array(perChunk);
    for (let i = 0; i < perChunk; i++) chunk[i] = { a: i, b: bytes + i, c: null };
    ballast.push(chunk);
    bytes += perChunk * 40;
  }
  const doubles = (1 << 20) / 8; // 128 Ki doubles = 1 MiB per array
  while (process.memoryUsage().heapUsed < mib * 1024 * 1024) {
    const arr = new Array(doubles);
    for (let i = 0; i < doubles; i++) arr[i] = i + 0.5;
    ballast.push(arr);
  }
}

const spawnOne = {
  pidfd: () => {
    const t0 = hr();
    const child = pidfd.spawn('/bin/true', [], { stdio: 'ignore' });
    const t1 = hr();
    return {
      block: Number(t1 - t0),
      done: child.exited.then((status) => {
        child.close();
        if (status.code !== 0) throw new Error(`/bin/true exited ${JSON.stringify(status)}`);
      }),
    };
  },
  child_process: () => {
    const t0 = hr();
    const child = cpSpawn('/bin/true', [], { stdio: 'ignore' });
    const t1 = hr();
    return {
      block: Number(t1 - t0),
      done: new Promise((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`/bin/true exited ${code}`))));
      }),
    };
  },
};

async function measure(peer, total, inflight) {
  const fn = spawnOne[peer];
  const blocks = [];
  let left = total;
  const t0 = hr();
  await Promise.all(
    Array.from({ length: Math.min(inflight, total) }, async () => {
      while (left > 0) {
        left--;
        const { block, done } = fn();
        blocks.push(block);
        await done;
      }
    }),
  );
  const elapsed = Number(hr() - t0);
  return {
    n: total,
    inflight,
    elapsed_ns: elapsed,
    spawns_per_s: (total / elapsed) * 1e9,
    block_median_ns: median(blocks),
    block_p99_ns: percentile(blocks, 99),
    block_mean_ns: blocks.reduce((a, b) => a + b, 0) / blocks.length,
    block_samples_ns: blocks,
  };
}

/**
 * Waits until this process is nearly idle (< 5% of a core over 200 ms, at most 20 s): after
 * a full GC of a big heap, V8's helper threads sweep it for seconds, and on 2 cores that
 * would take a CPU from whichever peer is measured first.
 */
async function quiesce() {
  const t0 = hr();
  for (let i = 0; i < 100; i++) {
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const used = process.cpuUsage(before);
    if ((used.user + used.system) / 1000 < 10) break;
  }
  return Number(hr() - t0) / 1e6;
}

let heap = null;
if (heapMiB > 0) {
  const t0 = hr();
  allocate(heapMiB);
  globalThis.gc?.();
  const mu = process.memoryUsage();
  heap = { requested_mib: heapMiB, heap_used_mib: mu.heapUsed / 2 ** 20, rss_mib: mu.rss / 2 ** 20, alloc_ms: Number(hr() - t0) / 1e6 };
  heap.quiesce_ms = await quiesce();
}

const out = { heap, results: [] };
// warm-up: both code paths compiled, the lazy parts of each library initialised
for (const peer of peers) await measure(peer, Math.min(20, n), 1);
for (const inflight of inflights) {
  for (const peer of peers) {
    out.results.push({ peer, ...(await measure(peer, n, inflight)) });
  }
}
if (ballast.length === 0 && heapMiB > 0) throw new Error('ballast lost');
out.ballast_arrays = ballast.length;
emitResult(out);
