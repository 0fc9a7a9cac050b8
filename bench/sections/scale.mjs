// Sections 3 and 4 worker: N processes that are not our children, watched at once.
//   node --expose-gc bench/sections/scale.mjs '{"n":10000,"idleMs":5000,"readFileMs":1000,"pollMs":100}'
// Two batches of N `sleep 1000`, each started by one `sh` in a new process group under
// bench/.build/reaper (a subreaper that reaps them once killed: PID 1 here does not):
//   batch 1: the C epoll peer (limit scale-wait) watches them; kill storm; time to last ready.
//   batch 2: pidfd.open() + exited for each: RSS per watch, idle CPU, the kill(pid, 0)
//            polling loop's CPU, fs.promises.readFile throughput without/with the watches,
//            then the kill storm until every exited promise has settled.
// Prints one `BENCH-RESULT {...}` line.
import { spawn as cpSpawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { emitResult, hr, libEntry, limitBin, median, onLines, parseWorkerArgs, procState, reaperBin, sleep } from '../lib/common.mjs';

const pidfd = await import(libEntry);
const args = parseWorkerArgs();
const N = args.n ?? 10000;
const idleMs = args.idleMs ?? 5000;
const readFileMs = args.readFileMs ?? 1000;
const readFileConcurrency = args.readFileConcurrency ?? 4;
const readFileRounds = args.readFileRounds ?? 8;
const pollMs = args.pollMs ?? 100;
if (typeof globalThis.gc !== 'function') throw new Error('run with --expose-gc');

// Every group we start is killed on the way out, whatever happens.
const liveGroups = new Set();
function killGroup(pgid) {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
process.on('exit', () => liveGroups.forEach(killGroup));
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    liveGroups.forEach(killGroup);
    process.exit(1);
  });
}

/** Starts N `sleep 1000` from one sh in a new process group; resolves once all sleep (state S). */
async function startBatch(n) {
  const t0 = hr();
  const script = `echo $$; i=0; while [ $i -lt ${n} ]; do /bin/sleep 1000 & echo $!; i=$((i+1)); done; wait`;
  const reaper = cpSpawn(reaperBin, ['run', '/bin/sh', '-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(reaper, 'exit');
  const batch = { pgid: 0, pids: [], reaper, exited };
  await new Promise((resolve, reject) => {
    reaper.once('exit', (code) => reject(new Error(`reaper exited (${code}) with ${batch.pids.length} of ${n} victims started`)));
    onLines(reaper.stdout, (line) => {
      const v = Number(line);
      if (!batch.pgid) {
        batch.pgid = v;
        liveGroups.add(v);
      } else batch.pids.push(v);
      if (batch.pids.length === n) resolve();
    });
  });
  let waiting = batch.pids;
  for (let tries = 0; waiting.length > 0; tries++) {
    if (tries > 600) throw new Error(`${waiting.length} victims never reached state S`);
    waiting = waiting.filter((pid) => {
      const st = procState(pid);
      if (st === null) throw new Error(`victim ${pid} vanished`);
      return !(st.state === 'S' && st.comm === 'sleep');
    });
    if (waiting.length) await sleep(50);
  }
  batch.start_ms = Number(hr() - t0) / 1e6;
  return batch;
}

/** Kills the group (if still there) and waits until the reaper has reaped every victim. */
async function endBatch(batch) {
  killGroup(batch.pgid);
  await batch.exited;
  liveGroups.delete(batch.pgid);
}

function gcFully() {
  for (let i = 0; i < 3; i++) globalThis.gc();
}

function cpuPercent(ms) {
  return async (during) => {
    const c0 = process.cpuUsage();
    const w0 = hr();
    await during(ms);
    const c = process.cpuUsage(c0);
    const wallUs = Number(hr() - w0) / 1e3;
    return { wall_ms: wallUs / 1e3, user_us: c.user, system_us: c.system, cpu_percent: ((c.user + c.system) / wallUs) * 100 };
  };
}

async function readFileThroughput(file, ms) {
  let ops = 0;
  const t0 = hr();
  const end = t0 + BigInt(Math.round(ms * 1e6));
  await Promise.all(
    Array.from({ length: readFileConcurrency }, async () => {
      while (hr() < end) {
        await readFile(file);
        ops++;
      }
    }),
  );
  const elapsed = Number(hr() - t0);
  return { ops, elapsed_ns: elapsed, ops_per_s: (ops / elapsed) * 1e9 };
}

function slabKiB() {
  const m = /^Slab:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const out = { n: N, idle_ms: idleMs, poll_ms: pollMs, read_file_concurrency: readFileConcurrency };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pidfd-bench-'));
const smallFile = path.join(tmp, 'small.txt');
writeFileSync(smallFile, 'x'.repeat(1024));
let handles = [];
try {
  // ---- batch 1: the C epoll peer --------------------------------------------------
  {
    const batch = await startBatch(N);
    try {
      const limit = cpSpawn(limitBin, ['scale-wait', '60000'], { stdio: ['pipe', 'pipe', 'pipe'] });
      const limitExit = once(limit, 'exit');
      let stdout = '';
      let stderr = '';
      limit.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
      const ready = new Promise((resolve, reject) => {
        limit.stderr.setEncoding('utf8').on('data', (d) => {
          stderr += d;
          if (stderr.includes('ready\n')) resolve();
        });
        limitExit.then(([code]) => reject(new Error(`limit scale-wait exited ${code} before ready: ${stderr}`)));
      });
      limit.stdin.end(batch.pids.join('\n') + '\n');
      await ready;
      const t0 = hr();
      process.kill(-batch.pgid, 'SIGKILL');
      const tKill = hr();
      const [code] = await limitExit;
      if (code !== 0) throw new Error(`limit scale-wait exit ${code}: ${stderr}`);
      const r = JSON.parse(stdout.trim().split('\n').pop());
      if (r.count !== N) throw new Error(`limit scale-wait saw ${r.count} of ${N}`);
      out.c_epoll = {
        ...r,
        start_ms: batch.start_ms,
        kill_ns: Number(tKill - t0),
        first_ready_ns: Number(BigInt(r.first_ready_monotonic_ns) - t0),
        storm_ns: Number(BigInt(r.last_ready_monotonic_ns) - t0),
        // until every victim was also reaped by its parent; null where the kernel cannot say
        reaped_ns: r.last_reaped_monotonic_ns === null ? null : Number(BigInt(r.last_reaped_monotonic_ns) - t0),
      };
    } finally {
      await endBatch(batch);
    }
  }

  // ---- batch 2: pidfd --------------------------------------------------------------
  const batch = await startBatch(N);
  try {
    const pids = batch.pids;
    // Memory first, while the process has done nothing but start (no readFile garbage
    // left resident to absorb the watches' allocations).
    gcFully();
    await sleep(100);
    gcFully();
    const before = process.memoryUsage();
    const slabBefore = slabKiB();
    const tOpen = hr();
    handles = pids.map((pid) => pidfd.open(pid));
    const armed = handles.map((h) => h.exited); // arms every watch (one uv_poll each)
    const openNs = Number(hr() - tOpen);
    gcFully();
    await sleep(100);
    gcFully();
    const after = process.memoryUsage();
    const slabAfter = slabKiB();
    out.memory = {
      open_and_arm_ns: openNs,
      rss_before: before.rss,
      rss_after: after.rss,
      rss_per_watch_bytes: (after.rss - before.rss) / N,
      heap_used_per_watch_bytes: (after.heapUsed - before.heapUsed) / N,
      external_per_watch_bytes: (after.external - before.external) / N,
      kernel_slab_per_watch_bytes: ((slabAfter - slabBefore) * 1024) / N, // informational: system-wide
    };

    // Nothing happening: CPU used by the process over idleMs with N armed watches.
    out.idle = await cpuPercent(idleMs)((ms) => sleep(ms));

    // readFile throughput with and without the N pending watches, alternating rounds
    // (close all / reopen all between rounds) so drift hits both sides alike.
    await readFileThroughput(smallFile, readFileMs / 2); // warm-up (JIT, fs paths)
    const closeAll = () => {
      for (const h of handles) h.close();
      handles = [];
    };
    const openAll = () => {
      handles = pids.map((pid) => pidfd.open(pid));
      return handles.map((h) => h.exited);
    };
    const withRounds = [];
    const withoutRounds = [];
    let exits = armed;
    for (let round = 0; round < readFileRounds; round++) {
      withRounds.push(await readFileThroughput(smallFile, readFileMs));
      closeAll();
      gcFully();
      withoutRounds.push(await readFileThroughput(smallFile, readFileMs));
      if (round === 0) out.idle_baseline = await cpuPercent(idleMs)((ms) => sleep(ms)); // no watches
      exits = openAll();
    }
    const total = (rounds) => rounds.reduce((acc, r) => ({ ops: acc.ops + r.ops, ns: acc.ns + r.elapsed_ns }), { ops: 0, ns: 0 });
    const w = total(withRounds);
    const wo = total(withoutRounds);
    out.read_file = {
      with_rounds: withRounds,
      without_rounds: withoutRounds,
      with_ops_per_s: (w.ops / w.ns) * 1e9,
      without_ops_per_s: (wo.ops / wo.ns) * 1e9,
      round_ratios: withRounds.map((r, i) => r.ops_per_s / withoutRounds[i].ops_per_s),
    };
    // The headline: the median of the per-round ratios (one busy round cannot swing it).
    out.read_file.ratio_of_totals = out.read_file.with_ops_per_s / out.read_file.without_ops_per_s;
    out.read_file.ratio = median(out.read_file.round_ratios);

    out.polling = await cpuPercent(idleMs)(async (ms) => {
      let alive = 0;
      const timer = setInterval(() => {
        alive = 0;
        for (const pid of pids) {
          try {
            process.kill(pid, 0);
            alive++;
          } catch {
            /* ESRCH: gone */
          }
        }
      }, pollMs);
      await sleep(ms);
      clearInterval(timer);
      if (alive !== N) throw new Error(`polling loop saw ${alive} of ${N} alive`);
    });

    // Kill storm: t0 before the group kill, end when the last exited promise settles.
    let firstNs = 0;
    const tStart = hr();
    Promise.race(exits).then(() => (firstNs = Number(hr() - tStart)));
    const t0 = hr();
    process.kill(-batch.pgid, 'SIGKILL');
    const tKill = hr();
    const statuses = await Promise.all(exits);
    const t1 = hr();
    out.pidfd = {
      count: statuses.length,
      start_ms: batch.start_ms,
      kill_ns: Number(tKill - t0),
      first_ready_ns: firstNs,
      storm_ns: Number(t1 - t0),
    };
  } finally {
    for (const h of handles) h.close();
    await endBatch(batch);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
emitResult(out);
