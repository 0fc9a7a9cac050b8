#!/usr/bin/env node
// Smoke test for `npm run bench`: `node bench/run.mjs --quick` must succeed in a few
// seconds, write valid JSON and SVG (to a temporary directory, never over the committed
// bench/results.*), and leave no victim process behind. A plain node script: prints
// "N passed, N failed" and exits non-zero on any failure.
//   node bench/smoke.test.mjs
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const runScript = path.join(benchDir, 'run.mjs');
let passed = 0;
let failed = 0;

function check(name, fn) {
  try {
    const r = fn();
    if (r === false) throw new Error('check returned false');
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message}`);
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}
const finite = (v, what) => assert(typeof v === 'number' && Number.isFinite(v), `${what} is not a finite number: ${v}`);

/**
 * pids of `sleep 1000` and forktree processes started under the bench (they inherit its
 * PIDFD_BENCH_LIB): the bench's victims look like this; other tests' subjects do not.
 */
function sleepers() {
  const out = new Set();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!((path.basename(argv[0]) === 'sleep' && argv[1] === '1000') || path.basename(argv[0]) === 'forktree')) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').some((v) => v.startsWith('PIDFD_BENCH_LIB='))) out.add(Number(entry));
    } catch {
      /* gone */
    }
  }
  return out;
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'pidfd-bench-smoke-'));
const jsonFile = path.join(tmp, 'results.json');
const svgFile = path.join(tmp, 'results.svg');
try {
  check('unknown option is refused with a non-zero exit', () => {
    const r = spawnSync(process.execPath, [runScript, '--no-such-flag'], { encoding: 'utf8', timeout: 30000 });
    assert(r.status !== 0, `exit status ${r.status}`);
    assert(/unknown option/.test(r.stderr), `stderr: ${r.stderr.slice(0, 200)}`);
  });

  const before = sleepers();
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [runScript, '--quick', '--out', jsonFile, '--svg', svgFile], {
    encoding: 'utf8',
    timeout: 360000, // a hang detector only
    maxBuffer: 16 << 20,
  });
  const seconds = (Date.now() - t0) / 1000;

  check('--quick exits with status 0', () => {
    assert(r.error === undefined, `spawn error: ${r.error?.message}`);
    assert(r.status === 0, `status ${r.status} signal ${r.signal}\nstderr: ${r.stderr.slice(-1500)}`);
  });
  // No bound on its duration: a loaded machine is slow, and timing claims live in the bench.
  console.log(`--quick took ${seconds.toFixed(1)} s`);
  check('the table is printed', () => {
    for (const heading of ['Exit-notification latency', 'Spawn throughput', 'Scale', 'No threadpool', 'Process trees', 'Goals']) {
      assert(r.stdout.includes(heading), `no "${heading}" in stdout`);
    }
  });

  let res;
  check('results JSON parses', () => {
    res = JSON.parse(readFileSync(jsonFile, 'utf8'));
  });
  if (res) {
    check('machine info', () => {
      for (const k of ['kernel', 'cpu_model', 'node', 'cpus']) assert(res.machine?.[k], `machine.${k} missing`);
    });
    check('latency: every peer has its runs and a median and p99', () => {
      const peers = res.latency.peers;
      const mayskip = ['floor', 'python-asyncio', 'python-asyncio-reap']; // no headers, no pidfd in Python
      for (const name of ['c-poll', 'c-poll-reap', 'floor', 'pidfd-spawn', 'pidfd-open', 'child_process', 'kill0-10ms', 'kill0-100ms', 'python-asyncio', 'python-asyncio-reap']) {
        const p = peers[name];
        assert(p, `peer ${name} missing`);
        if (p.skipped && mayskip.includes(name)) continue;
        assert(!p.skipped, `${name} skipped: ${p.skipped}`);
        assert(p.samples_ns.length === res.latency.runs, `${name}: ${p.samples_ns.length} samples`);
        finite(p.median_ns, `${name}.median_ns`);
        finite(p.p99_ns, `${name}.p99_ns`);
        assert(p.median_ns > 0 && p.p99_ns >= p.median_ns, `${name}: median ${p.median_ns} p99 ${p.p99_ns}`);
        finite(p.median_vs_c, `${name}.median_vs_c`);
      }
    });
    check('spawn: C, pidfd, child_process at 1 and 8 in flight', () => {
      for (const peer of ['c-posix_spawn', 'pidfd', 'child_process']) {
        for (const k of [1, 8]) {
          const row = res.spawn.results.find((x) => x.peer === peer && x.inflight === k);
          assert(row, `${peer} k=${k} missing`);
          finite(row.spawns_per_s, `${peer} k=${k} spawns_per_s`);
          assert(row.spawns_per_s > 0, `${peer} k=${k}: ${row.spawns_per_s}`);
        }
      }
      const ours = res.spawn.results.find((x) => x.peer === 'pidfd');
      finite(ours.block_median_ns, 'pidfd block_median_ns');
    });
    check('heap: the ballast was allocated and both peers ran', () => {
      assert(res.heap.heap.heap_used_mib >= res.heap.heap_mib * 0.9, `heap used ${res.heap.heap.heap_used_mib} MiB`);
      for (const peer of ['pidfd', 'child_process']) assert(res.heap.results.some((x) => x.peer === peer && x.spawns_per_s > 0), `${peer} missing`);
    });
    check('scale: every exit seen, by C and by pidfd', () => {
      const s = res.scale;
      assert(s.c_epoll.count === s.n, `c_epoll.count ${s.c_epoll.count} of ${s.n}`);
      assert(s.pidfd.count === s.n, `pidfd.count ${s.pidfd.count} of ${s.n}`);
      for (const k of ['storm_ns', 'kill_ns']) {
        finite(s.c_epoll[k], `c_epoll.${k}`);
        finite(s.pidfd[k], `pidfd.${k}`);
      }
      finite(s.memory.rss_per_watch_bytes, 'rss_per_watch_bytes');
      finite(s.idle.cpu_percent, 'idle.cpu_percent');
      finite(s.polling.cpu_percent, 'polling.cpu_percent');
      finite(s.read_file.ratio, 'read_file.ratio');
      assert(s.read_file.with_ops_per_s > 0 && s.read_file.without_ops_per_s > 0, 'readFile made no progress');
    });
    check('tree: every kill peer ran or says why not; tree-kill reports its survivors', () => {
      const t = res.tree;
      for (const name of ['c', 'pidfd', 'tree-kill']) {
        const p = t.kill[name];
        assert(p, `kill peer ${name} missing`);
        if (p.skipped) {
          assert(typeof p.skipped === 'string' && p.skipped.length > 0, `${name} skipped without a reason`);
          continue;
        }
        const runs = name === 'tree-kill' ? t.tree_kill_runs : t.runs;
        assert(p.samples_ns.length === runs, `${name}: ${p.samples_ns.length} samples of ${runs}`);
        finite(p.median_ns, `${name}.median_ns`);
        if (name === 'tree-kill') assert(p.survivors.length === runs, `tree-kill survivors: ${p.survivors}`);
      }
      if (t.cgroup_parent) {
        assert(!t.kill.c.skipped, `C peer skipped with a cgroup parent: ${t.kill.c.skipped}`);
        assert(!existsSync(t.cgroup_parent), `cgroup ${t.cgroup_parent} left behind`);
      }
      for (const name of ['plain', 'tree']) {
        const p = t.spawn[name];
        assert(p.skipped || p.samples_ns.length === t.spawns, `spawn ${name}: ${p.samples_ns?.length}`);
      }
    });
    check('goals: each has a value, a target and a verdict', () => {
      assert(Array.isArray(res.goals) && res.goals.length >= 10, `${res.goals?.length} goals`);
      for (const g of res.goals) {
        finite(g.value, `goal ${g.id} value`);
        assert(typeof g.met === 'boolean', `goal ${g.id}: met is ${g.met}`);
      }
    });
  }
  check('SVG is a complete document with no NaN/undefined', () => {
    const svg = readFileSync(svgFile, 'utf8');
    assert(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'), 'not an <svg> document');
    assert(!/NaN|undefined|Infinity/.test(svg), 'NaN/undefined/Infinity in the SVG');
    assert((svg.match(/<rect/g) ?? []).length > 10, 'too few bars');
  });
  check('no victim process left behind', () => {
    // Other tests (and other suites on this machine) start `sleep 1000` processes too, and end
    // them within seconds; a victim the bench left would live 1000 s. Give theirs 30 s to go.
    const left = () => [...sleepers()].filter((pid) => !before.has(pid));
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 300 && left().length > 0; i++) Atomics.wait(pause, 0, 0, 100);
    const still = left();
    assert(still.length === 0, `${still.length} 'sleep 1000' processes left: ${still.slice(0, 10).join(' ')}`);
  });
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
