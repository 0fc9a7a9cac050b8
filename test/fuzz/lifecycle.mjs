#!/usr/bin/env node
// Lifecycle fuzzer: random sequences of open / spawn / kill / exited / onExit (with aborts) /
// close / ref / unref / dropped handles + gc / workers started and terminated mid-operation,
// over processes that exit at random moments. Checks, per run:
//   - no crash, no unhandled rejection, no uncaught exception;
//   - every ExitStatus is what the process was told to do (its own exit code or signal, or a
//     fatal signal we sent it while it ran); for handles that cannot know (open() of someone
//     else's process), the status is that or unknown (null, null);
//   - kill() returns true while the process surely runs and false once its exit was seen;
//   - every promise settles (or rejects with ERR_PIDFD_CLOSED / the abort reason);
//   - afterwards: no pidfd left in /proc/self/fd, no zombie or child left, and the process
//     exits on its own within a few seconds (no uv handle left behind).
//
//   node test/fuzz/lifecycle.mjs [--seed N] [--ops N] [--budget SECONDS] [--rounds N]
//                                [--workers=false] [--max-live N] [--verbose]
// The body runs in a fresh `node --expose-gc` (and in workers of it); this process only
// judges. Exit status 0 when every round passed. Reproduce a failure with its --seed.
import { spawn as cpSpawn, execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  children, distEntry, parseArgs, pidfdCount, pidfdTargets, prng, procState, sleep, subjectPath, until, zombies,
} from './common.mjs';

const self = fileURLToPath(import.meta.url);
const nativeBinding = () => createRequire(import.meta.url)(distEntry.replace(/index\.mjs$/, 'binding.js')).native;

// ---------------------------------------------------------------------------------------
// Signals: which kill by default (core or not), which have names (ExitStatus.signal).
const signalNumbers = constants.signals;
const signalNames = {};
for (const [name, n] of Object.entries(signalNumbers)) signalNames[n] ??= name;
const NONFATAL = new Set([0, 17, 18, 19, 20, 21, 22, 23, 28]); // CHLD CONT STOP TSTP TTIN TTOU URG WINCH
const CORE = new Set([3, 4, 5, 6, 7, 8, 11, 24, 25, 31]);
const STOP = new Set([19, 20, 21, 22]); // a stopped process keeps fatal signals pending until SIGCONT
const fatal = (n) => n >= 1 && n <= 64 && !NONFATAL.has(n);
const statusKey = (s) => (s.code !== null ? `code:${s.code}` : s.signal !== null ? `sig:${s.signal}` : 'null');
const signalKey = (n) => (signalNames[n] ? `sig:${signalNames[n]}` : 'null');

// ---------------------------------------------------------------------------------------
// The body: runs in the body process and in its workers.
async function fuzzBody({ seed, ops, budgetMs, depth, workers, maxLive, verbose }) {
  const pidfd = await import(distEntry);
  const rng = prng(seed);
  const subject = subjectPath();
  const t0 = performance.now();
  const now = () => performance.now();
  const failures = [];
  const fail = (msg) => {
    if (failures.length < 40) failures.push(`[seed ${seed}${depth ? ' worker' : ''} op ${opIndex}] ${msg}`);
    if (verbose) console.error('FAIL', msg);
  };
  let opIndex = 0;
  const counts = {};
  let unhandled = 0;
  const onUnhandled = (reason) => {
    unhandled++;
    fail(`unhandled rejection: ${reason?.stack ?? reason}`);
  };
  process.on('unhandledRejection', onUnhandled);

  /** A process we know the fate of: { pid, kind, bornAt, naturalAt, natural, sent[], exited } */
  const procs = [];
  /** Handles: { h, proc, kind, strict, closed, dropped, statusKey, checked } */
  const handles = [];
  const dropped = [];
  /** Every promise handed out: { p, label, settled, allow(err) } */
  const tracked = [];
  const liveWorkers = new Set();
  const streams = [];
  const guards = [];

  function track(p, label, allow) {
    const t = { label, settled: false };
    tracked.push(t);
    p.then(
      () => (t.settled = true),
      (err) => {
        t.settled = true;
        if (!allow(err)) fail(`${label} rejected unexpectedly: ${err?.code ?? ''} ${err?.stack ?? err}`);
      },
    );
    return p;
  }
  const closedOk = (err) => err?.code === 'ERR_PIDFD_CLOSED';

  function newProc(kind, ms, fate) {
    const proc = { pid: 0, kind, bornAt: now(), naturalAt: 0, ms, natural: fate, sent: [], handles: [], gone: false, cpStatus: null, killer: null };
    proc.naturalAt = proc.bornAt + ms; // it cannot exit on its own before this
    procs.push(proc);
    return proc;
  }

  function fateArgs() {
    const ms = rng.weighted([[rng.int(0, 5), 3], [rng.int(5, 100), 4], [rng.int(100, 600), 3], [rng.int(600, 1500), 1]]);
    if (rng.chance(0.75)) {
      const code = rng.pick([0, 1, 2, 7, 42, 100, 126, 255]);
      return { ms, args: [String(ms), String(code)], fate: `code:${code}` };
    }
    const sig = rng.pick([1, 2, 9, 10, 12, 13, 14, 15, 34, 40, 64, 3, 6, 11]);
    return { ms, args: [String(ms), String(-sig)], fate: signalKey(sig) };
  }

  /** The statuses the process may legitimately have ended with. */
  function acceptable(proc) {
    const sentFatal = proc.sent.filter((s) => s.ok && fatal(s.sig));
    // A non-core fatal signal kills the group right in send_signal (complete_signal), but
    // only when it is the first signal queued: once one is pending and the target is not
    // on a CPU, later ones just queue (wants_signal), and dequeue takes the synchronous
    // ones (SEGV BUS ILL TRAP FPE SYS) first, lowest number first, while SIGKILL still
    // acts at once. So FPE, PIPE, TRAP sent to a sleeping process ends it with TRAP
    // (checked on this kernel, child_process children alike). Core signals act at dequeue,
    // and nothing but SIGKILL acts on a stopped process before SIGCONT.
    const first = proc.sent.find((s) => s.ok && (fatal(s.sig) || STOP.has(s.sig)));
    if (first !== undefined && fatal(first.sig) && !CORE.has(first.sig) && first.at < proc.naturalAt) {
      return new Set([signalKey(first.sig)]);
    }
    return new Set([proc.natural, ...sentFatal.map((s) => signalKey(s.sig))]);
  }

  function checkStatus(entry, status, where) {
    const { proc, h } = entry;
    if (status.pid !== proc.pid) fail(`${where}: status.pid ${status.pid} != ${proc.pid}`);
    const key = statusKey(status);
    if (entry.statusKey !== undefined && entry.statusKey !== key) fail(`${where}: status changed ${entry.statusKey} -> ${key}`);
    entry.statusKey = key;
    proc.gone = true;
    const ok = acceptable(proc);
    if (proc.cpStatus !== null && key !== 'null' && key !== proc.cpStatus) {
      fail(`${where}: ${proc.kind} ${proc.pid}: ours ${key}, child_process says ${proc.cpStatus}`);
    }
    if (key === 'null' && !entry.strict) return;
    if (!ok.has(key)) {
      fail(`${where}: ${proc.kind} ${proc.pid} ${entry.kind} exited ${key}, expected one of ${[...ok].join(' ')} ` +
        `(sent ${JSON.stringify(proc.sent.map((s) => [s.sig, Math.round(s.at - proc.bornAt), s.ok]))}, ms ${proc.ms})`);
    }
    void h;
  }

  function watchExit(entry, label) {
    entry.checked = true;
    track(entry.h.exited.then((s) => checkStatus(entry, s, label)), `${label} exited`, closedOk);
  }

  function addHandle(h, proc, kind, strict) {
    const entry = { h, proc, kind, strict, closed: false, dropped: false, statusKey: undefined, checked: false };
    handles.push(entry);
    proc.handles.push(entry);
    if (kind === 'spawn') watchExit(entry, 'spawn'); // a Subprocess is watched from the start anyway
    return entry;
  }

  const live = () => handles.filter((e) => !e.closed && !e.dropped);
  const liveProcs = () => procs.filter((p) => !p.gone && now() - p.bornAt < p.ms + 5000);

  // --- operations ----------------------------------------------------------------------
  function opSpawn() {
    const { ms, args, fate } = fateArgs();
    const stdio = rng.pick([
      'ignore', 'ignore', 'pipe', 'inherit', undefined,
      ['ignore', 'pipe', 'ignore'], ['pipe', 'ignore', 'ignore', 'pipe'], ['ignore', 'ignore', 'ignore', 'ignore', 'pipe'],
    ]);
    const options = { stdio };
    if (rng.chance(0.2)) options.detached = true;
    if (rng.chance(0.2)) options.cwd = rng.pick(['/', '/tmp']);
    if (rng.chance(0.2)) options.env = { PATH: '/usr/bin:/bin', FUZZ: 'x'.repeat(rng.int(0, 3000)) };
    if (rng.chance(0.1)) options.argv0 = 'fuzz-subject';
    const proc = newProc('spawn', ms, fate);
    let h;
    try {
      h = pidfd.spawn(subject, args, options);
    } catch (err) {
      procs.pop();
      fail(`spawn threw ${err.code} ${err.message}`);
      return;
    }
    proc.pid = h.pid;
    // Our unreaped child: its pid cannot be reused until we reap it, and a live (not zombie)
    // child has not been reaped. Used at the end for processes left stopped with no handle.
    proc.killer = () => {
      const stat = (() => { try { return fs.readFileSync(`/proc/${proc.pid}/stat`, 'utf8'); } catch { return ''; } })();
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] && fields[0] !== 'Z' && Number(fields[1]) === process.pid) process.kill(proc.pid, 'SIGKILL');
    };
    for (const s of h.stdio) {
      if (!s) continue;
      streams.push(s);
      s.on('error', () => {});
      if (s.readable) s.resume();
      if (rng.chance(0.2)) s.destroy();
      else if (s.writable && rng.chance(0.3)) s.write('x'.repeat(rng.int(1, 100000)));
    }
    addHandle(h, proc, 'spawn', true);
  }

  function opChildProcess() {
    const { ms, args, fate } = fateArgs();
    const proc = newProc('cp', ms, fate);
    const cp = cpSpawn(subject, args, { stdio: 'ignore', detached: rng.chance(0.2) });
    proc.pid = cp.pid;
    proc.killer = () => cp.kill('SIGKILL');
    cp.on('error', (err) => fail(`child_process error ${err.message}`));
    cp.on('exit', (code, signal) => {
      proc.cpStatus = statusKey({ code, signal });
      const ok = acceptable(proc);
      // Node's ChildProcess reports a death by a signal without a name (SIGRTMIN+n) as code 0.
      if (proc.cpStatus === 'code:0' && ok.has('null') && !ok.has('code:0')) proc.cpStatus = 'null';
      if (!ok.has(proc.cpStatus) && !(proc.cpStatus === 'null')) {
        fail(`child_process child ${proc.pid} exited ${proc.cpStatus}, expected ${[...ok].join(' ')}`);
      }
    });
    // open() is safe until the event loop runs (libuv reaps only from the loop).
    if (rng.chance(0.5)) addHandle(pidfd.from(cp), proc, 'from', true);
    else addHandle(pidfd.open(cp.pid), proc, 'open-cp', false);
  }

  function opStranger() {
    const { ms, args, fate } = fateArgs();
    const proc = newProc('stranger', Math.max(ms, 300), fate);
    args[0] = String(proc.ms);
    proc.pending = true;
    execFile('sh', ['-c', `'${subject}' ${args.join(' ')} </dev/null >/dev/null 2>&1 & echo $!`], (err, stdout) => {
      proc.pending = false;
      if (err) return fail(`stranger shell failed: ${err.message}`);
      proc.pid = Number(stdout.trim());
      try {
        addHandle(pidfd.open(proc.pid), proc, 'stranger', false);
        // A handle of our own to end it if the fuzz leaves it stopped (closed before the fd check).
        const guard = pidfd.open(proc.pid);
        guards.push(guard);
        proc.killer = () => guard.kill('SIGKILL');
      } catch (e) {
        // It may be gone already (and the pid may even be reused: then not ours to judge).
        if (e.code !== 'ESRCH') fail(`open(stranger) threw ${e.code}`);
        proc.gone = true;
      }
    });
  }

  function opOpenSecond() {
    const candidates = handles.filter((e) => e.kind === 'spawn' && !e.closed && !e.proc.gone);
    if (candidates.length === 0) return;
    const e = rng.pick(candidates);
    try {
      addHandle(pidfd.open(e.proc.pid), e.proc, 'open-own', false);
    } catch (err) {
      if (err.code !== 'ESRCH') fail(`open(own child) threw ${err.code}`); // reaped in between
    }
  }

  function sendVia(entry, sig, scope) {
    const { proc, h } = entry;
    const at = now();
    const exitSeen = entry.statusKey !== undefined;
    const noFatalYet = !proc.sent.some((s) => s.ok && fatal(s.sig));
    let ok;
    try {
      ok = scope === undefined ? h.kill(sig) : h.kill(sig, { scope });
    } catch (err) {
      if (entry.closed && err.code === 'ERR_PIDFD_CLOSED') return;
      fail(`kill(${sig}${scope ? ', ' + scope : ''}) threw ${err.code} ${err.message}`);
      return;
    }
    if (entry.closed) fail('kill() on a closed handle did not throw');
    if (typeof ok !== 'boolean') fail(`kill returned ${ok}`);
    // Judged by the time kill() returned, not when it was called: its syscalls ran in
    // between, and a thread can be preempted there for milliseconds.
    const surelyRunning = noFatalYet && now() < proc.naturalAt;
    const number = typeof sig === 'string' ? signalNumbers[sig] : sig;
    if (scope !== 'processGroup') {
      if (exitSeen && ok) fail(`kill(${sig}) returned true after the exit was delivered (${proc.kind} ${proc.pid})`);
      if (surelyRunning && !ok) {
        const readable = entry.closed ? 'closed' : nativeBinding().readable(h.fd);
        fail(`kill(${sig}${scope ? ', ' + scope : ''}) returned false while ${proc.kind} ${proc.pid} surely ran (${entry.kind}, fd ${h.fd}, ` +
          `readable ${readable}, state ${procState(proc.pid)}, ${Math.round(at - proc.bornAt)} ms after birth, ms ${proc.ms}, ` +
          `sent ${JSON.stringify(proc.sent.map((x) => [x.sig, Math.round(x.at - proc.bornAt), x.ok]))})`);
      }
    }
    proc.sent.push({ sig: number, at, ok });
  }

  function opKill() {
    const list = live().filter((e) => e.proc.pid > 0);
    if (list.length === 0) return;
    const entry = rng.pick(list);
    let sig = rng.chance(0.5) ? rng.int(0, 64) : rng.pick(Object.keys(signalNumbers));
    if (rng.chance(0.2)) sig = rng.pick([0, 'SIGKILL', 'SIGTERM', 'SIGSTOP', 'SIGCONT', 'SIGINT']);
    // A worker may be terminated: what it leaves stopped nobody could end. Not there.
    if (depth > 0 && STOP.has(typeof sig === 'string' ? signalNumbers[sig] : sig)) sig = 'SIGCONT';
    let scope = rng.chance(0.15) ? rng.pick(['thread', 'process', 'processGroup']) : undefined;
    if (!pidfd.features.signalScope) scope = undefined; // before Linux 6.9 a scope throws EINVAL, by design
    sendVia(entry, sig, scope);
  }

  function opKillBad() {
    const list = handles.filter((e) => e.h);
    if (list.length === 0) return;
    const entry = rng.pick(list);
    const [sig, code] = rng.pick([
      [65, 'ERR_UNKNOWN_SIGNAL'], [-1, 'ERR_UNKNOWN_SIGNAL'], [1000, 'ERR_UNKNOWN_SIGNAL'], [1.5, 'ERR_UNKNOWN_SIGNAL'], [NaN, 'ERR_UNKNOWN_SIGNAL'],
      ['SIGFOO', 'ERR_UNKNOWN_SIGNAL'], ['sigterm', 'ERR_UNKNOWN_SIGNAL'], ['', 'ERR_UNKNOWN_SIGNAL'],
      [null, 'ERR_INVALID_ARG_TYPE'], [{}, 'ERR_INVALID_ARG_TYPE'], [2n, 'ERR_INVALID_ARG_TYPE'],
    ]);
    // Every one is refused before the handle's state is looked at: running, exited or closed.
    try {
      entry.h.kill(sig);
      fail(`kill(${String(sig)}) did not throw`);
    } catch (err) {
      if (err.code !== code) fail(`kill(${String(sig)}) threw ${err.code}, expected ${code}`);
    }
  }

  function opExited() {
    const list = live();
    if (list.length === 0) return;
    const e = rng.pick(list);
    if (e.h.exited !== e.h.exited) fail('exited is not the same promise on every access');
    watchExit(e, e.kind);
  }

  function opOnExit() {
    const list = live();
    if (list.length === 0) return;
    const e = rng.pick(list);
    const how = rng.int(0, 3);
    let signal;
    let reasonOk = closedOk;
    if (how === 1) {
      const ac = new AbortController();
      signal = ac.signal;
      const t = setTimeout(() => ac.abort(), rng.int(0, 300));
      if (rng.chance(0.5)) t.unref();
      reasonOk = (err) => closedOk(err) || err?.name === 'AbortError';
    } else if (how === 2) {
      signal = AbortSignal.timeout(rng.int(0, 300));
      reasonOk = (err) => closedOk(err) || err?.name === 'TimeoutError';
    } else if (how === 3) {
      const reason = new Error('pre-aborted');
      signal = AbortSignal.abort(reason);
      reasonOk = (err) => err === reason;
    }
    let p;
    try {
      p = e.h.onExit(signal ? { signal } : undefined);
    } catch (err) {
      fail(`onExit threw ${err.code}`);
      return;
    }
    track(p.then((s) => checkStatus(e, s, 'onExit')), 'onExit', reasonOk);
  }

  function opClose() {
    const list = live();
    if (list.length === 0) return;
    const e = rng.pick(list);
    const pending = e.statusKey === undefined;
    e.h.close();
    e.closed = true;
    if (rng.chance(0.3)) e.h.close(); // idempotent
    if (e.h.fd !== -1 || !e.h.closed || e.h.running !== false) fail('closed handle: fd/closed/running wrong');
    try {
      e.h.kill(0);
      fail('kill after close did not throw');
    } catch (err) {
      if (err.code !== 'ERR_PIDFD_CLOSED') fail(`kill after close threw ${err.code}`);
    }
    // A pending exit rejects with ERR_PIDFD_CLOSED; a settled one stays settled.
    track(e.h.exited.then(
      (s) => { if (pending && e.statusKey === undefined) checkStatus(e, s, 'exited after close'); },
    ), 'exited after close', closedOk);
  }

  function opRef() {
    const list = live();
    if (list.length === 0) return;
    const e = rng.pick(list);
    if (rng.chance(0.5)) e.h.unref();
    else e.h.ref();
  }

  function opDrop() {
    const list = live().filter((e) => e.kind !== 'spawn' || rng.chance(0.5));
    if (list.length === 0) return;
    const e = rng.pick(list);
    e.dropped = true;
    dropped.push(new WeakRef(e.h));
    e.h = null; // our only strong reference goes: the registry or the watcher takes over
  }

  function opProbe() {
    const list = live();
    if (list.length === 0) return;
    const e = rng.pick(list);
    const running = e.h.running;
    if (e.statusKey !== undefined && running) fail('running is true after the exit was delivered');
    const surely = now() < e.proc.naturalAt && !e.proc.sent.some((s) => s.ok && fatal(s.sig));
    if (surely && !running) {
      // Say what the pidfd and /proc said, to tell a real exit from a broken handle.
      const readable = nativeBinding().readable(e.h.fd);
      fail(`running is false while ${e.proc.kind} ${e.proc.pid} surely runs (${e.kind}, fd ${e.h.fd}, readable ${readable}, state ${procState(e.proc.pid)})`);
    }
    if (e.h.pid !== e.proc.pid) fail('pid changed');
    try {
      const inode = e.h.inode;
      if (inode !== null && !(inode > 0)) fail(`inode ${inode}`);
      const info = e.h.info();
      if (info.pid !== undefined && info.pid !== e.proc.pid && info.pid !== null) fail(`info().pid ${info.pid}`);
    } catch (err) {
      if (err.code !== 'ESRCH') fail(`info() threw ${err.code} ${err.message}`);
    }
  }

  function opTerminate() {
    const list = live().filter((e) => e.proc.pid > 0);
    if (list.length === 0) return;
    const e = rng.pick(list);
    const timeout = rng.int(0, 100);
    const at = now();
    const exitSeen = e.statusKey !== undefined;
    let p;
    try {
      p = e.h.terminate({ timeout });
    } catch (err) {
      fail(`terminate threw ${err.code}`);
      return;
    }
    // terminate() sends SIGTERM at once and SIGKILL after timeout: both may count.
    if (!exitSeen) e.proc.sent.push({ sig: 15, at, ok: true }, { sig: 9, at: at + timeout, ok: true });
    track(p.then((s) => checkStatus(e, s, 'terminate')), 'terminate', closedOk);
  }

  function opWorker() {
    if (depth > 0 || !workers || liveWorkers.size >= 3) return;
    const w = new Worker(self, {
      workerData: { seed: rng.int(1, 2 ** 31), ops: rng.int(5, 200), budgetMs: rng.int(100, 2000), depth: 1, workers: false, maxLive: 10, verbose },
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    const entry = { w, terminated: false, done: false, exited: new Promise((r) => w.once('exit', r)) };
    liveWorkers.add(entry);
    w.on('message', (result) => {
      entry.done = true;
      for (const f of result.failures) fail(`worker: ${f}`);
    });
    w.on('error', (err) => fail(`worker error: ${err?.stack ?? err}`));
    entry.exited.then(() => liveWorkers.delete(entry));
  }

  function opTerminateWorker() {
    const list = [...liveWorkers].filter((x) => !x.terminated);
    if (list.length === 0) return;
    const entry = rng.pick(list);
    entry.terminated = true;
    const delay = rng.int(0, 50);
    setTimeout(() => entry.w.terminate(), delay);
  }

  async function opWait() {
    await sleep(rng.weighted([[0, 3], [rng.int(1, 10), 3], [rng.int(10, 80), 1]]));
  }

  function opGc() {
    globalThis.gc?.();
  }

  const table = [
    [opSpawn, 12], [opChildProcess, 5], [opStranger, 1], [opOpenSecond, 3], [opKill, 15], [opKillBad, 2],
    [opExited, 8], [opOnExit, 8], [opClose, 6], [opRef, 4], [opDrop, 3], [opProbe, 4], [opTerminate, 2],
    [opGc, 1], [opWorker, 1], [opTerminateWorker, 1], [opWait, 10],
  ];

  // --- the run -------------------------------------------------------------------------
  const deadline = t0 + budgetMs;
  let lastFdCheck = 0;
  for (opIndex = 0; opIndex < ops && now() < deadline; opIndex++) {
    let op = rng.weighted(table);
    const spawning = op === opSpawn || op === opChildProcess || op === opStranger;
    // child_process children of a terminated worker are never reaped (libuv's loop is gone):
    // Node's business, not ours; workers only use pidfd.spawn.
    if (depth > 0 && (op === opChildProcess || op === opStranger)) op = opSpawn;
    if (spawning && liveProcs().length >= maxLive) op = opWait;
    counts[op.name] = (counts[op.name] ?? 0) + 1;
    try {
      await op();
    } catch (err) {
      fail(`${op.name} threw ${err?.code ?? ''} ${err?.stack ?? err}`);
    }
    if (rng.chance(0.3)) await null; // let reactions run between some ops
    if (rng.chance(0.05)) await new Promise((r) => setImmediate(r));
    // Mid-run fd bound (only without workers: they share our fd table).
    if (depth === 0 && liveWorkers.size === 0 && opIndex - lastFdCheck >= 100) {
      lastFdCheck = opIndex;
      // Handles, stranger guards, and the watches that closed handles leave on our unreaped
      // children (counted as the children).
      const bound = handles.filter((e) => !e.closed).length + guards.filter((g) => !g.closed).length + children().length;
      const n = pidfdCount();
      if (n > bound) fail(`${n} pidfds open, at most ${bound} expected`);
    }
  }
  const opsDone = opIndex;

  // --- wind down -----------------------------------------------------------------------
  // Each bound below only catches a hang: it is waited out only when something is stuck, so it
  // is wide enough for a machine ten times slower than usual.
  for (const entry of liveWorkers) if (!entry.terminated && rng.chance(0.5)) entry.terminated = true, entry.w.terminate();
  const workerDeadline = Date.now() + 30_000;
  for (const entry of [...liveWorkers]) {
    const left = Math.max(0, workerDeadline - Date.now());
    let timer;
    const r = await Promise.race([entry.exited.then(() => 'exit'), new Promise((resolve) => (timer = setTimeout(resolve, left, 'timeout')))]);
    clearTimeout(timer); // a pending timer would keep this process alive after the body
    if (r === 'timeout') {
      fail(`a worker ${entry.terminated ? 'being terminated' : 'that finished'} did not exit within 30 s`);
      await entry.w.terminate();
    } else if (!entry.terminated && !entry.done) {
      fail('a worker exited without reporting');
    }
  }
  await until(() => procs.every((p) => !p.pending), 30_000);

  // Every process still running through a handle is killed; the rest end on their own.
  for (const e of live()) {
    if (e.statusKey === undefined && e.proc.pid > 0 && !e.proc.gone) sendVia(e, 'SIGKILL');
  }
  // Processes whose handles were all closed or dropped: stopped ones would never end.
  for (const proc of procs) {
    if (proc.gone || proc.pid <= 0 || proc.handles.some((e) => !e.closed && !e.dropped)) continue;
    if (!proc.sent.some((s) => s.ok && STOP.has(s.sig))) continue;
    try {
      proc.killer?.();
      proc.sent.push({ sig: 9, at: now(), ok: true });
    } catch {}
  }
  for (const e of live()) if (!e.checked) watchExit(e, `final ${e.kind}`);
  const settleBy = Date.now() + 30_000;
  while (Date.now() < settleBy && tracked.some((t) => !t.settled)) await sleep(10);
  for (const t of tracked) if (!t.settled) fail(`${t.label}: never settled (30 s after everything was killed)`);

  for (const e of handles) if (e.h && !e.closed) e.h.close(), (e.closed = true);
  for (const g of guards) g.close();
  for (const s of streams) s.destroy();
  await sleep(20);
  for (const t of tracked) if (!t.settled) fail(`${t.label}: still pending after close()`);

  // Dropped handles: the FinalizationRegistry gives their fds back after gc.
  const fdsGone = await (async () => {
    const by = Date.now() + 30_000;
    for (;;) {
      globalThis.gc?.();
      await new Promise((r) => setImmediate(r));
      if (depth > 0) return true; // the fd table is shared with the main thread: judged there
      if (pidfdCount() === 0) return true;
      if (Date.now() > by) return false;
      await sleep(20);
    }
  })();
  if (!fdsGone) fail(`${pidfdCount()} pidfd(s) still open after closing everything (dropped: ${dropped.filter((r) => r.deref()).length} not collected): ${pidfdTargets().join(' ')}`);
  if (depth === 0) {
    const clean = await until(() => children().length === 0, 30_000);
    if (!clean) {
      const left = children().map((c) => `${c.pid}:${c.state}:${procs.find((p) => p.pid === c.pid)?.kind ?? '?'}`);
      fail(`children left: ${left.join(' ')} (zombies: ${zombies().join(' ') || 'none'})`);
    }
  }
  process.off('unhandledRejection', onUnhandled);
  const kinds = {};
  for (const p of procs) kinds[p.kind] = (kinds[p.kind] ?? 0) + 1;
  return { seed, ops: opsDone, ms: Math.round(now() - t0), processes: kinds, handles: handles.length, counts, unhandled, failures };
}

// ---------------------------------------------------------------------------------------
// Entry points.
if (!isMainThread) {
  process.on('uncaughtException', (err) => parentPort.postMessage({ failures: [`uncaught in worker: ${err.stack}`] }));
  fuzzBody(workerData).then(
    (result) => parentPort.postMessage(result),
    (err) => parentPort.postMessage({ failures: [`worker body threw: ${err.stack}`] }),
  );
} else {
  const opts = parseArgs(process.argv.slice(2), {
    seed: Math.floor(Math.random() * 2 ** 31), ops: 1_000_000, budget: 20, rounds: 1, workers: true, 'max-live': 40,
    verbose: false, body: false,
  });
  if (opts.body) {
    // The body process: print the result, then leave: the loop must drain by itself.
    // Which timers are still pending if the process does not exit: their creation stacks.
    const timers = new Map();
    const realSetTimeout = globalThis.setTimeout;
    const realClearTimeout = globalThis.clearTimeout;
    globalThis.setTimeout = (fn, ms, ...rest) => {
      const t = realSetTimeout(() => { timers.delete(t); fn(...rest); }, ms);
      timers.set(t, new Error(`timer ${ms} ms`).stack.split('\n').slice(2, 9).join(' <- '));
      return t;
    };
    globalThis.clearTimeout = (t) => { timers.delete(t); realClearTimeout(t); };
    let uncaught = 0;
    process.on('uncaughtException', (err) => {
      uncaught++;
      console.log(`UNCAUGHT ${JSON.stringify(String(err?.stack ?? err))}`);
    });
    const result = await fuzzBody({
      seed: opts.seed, ops: opts.ops, budgetMs: opts.budget * 1000, depth: 0, workers: opts.workers,
      maxLive: opts['max-live'], verbose: opts.verbose,
    });
    result.uncaught = uncaught;
    console.log(`RESULT ${JSON.stringify(result)}`);
    // Done: the process must now exit on its own. 'beforeExit' is emitted exactly when the event
    // loop has emptied, so no uv handle was left. A loop that stops emptying (no handle or
    // watch goes away for 30 s: judged by progress, not by how long a slow exit takes) is a
    // hang: say what holds it.
    process.once('beforeExit', () => console.log('DRAINED'));
    const pendingWatches = () => {
      try { return nativeBinding().pendingWatches(); } catch (e) { return e.message; }
    };
    let last = '';
    let still = 0;
    setInterval(() => {
      const handles = process._getActiveHandles();
      const now = `${handles.length}/${pendingWatches()}/${[...timers].filter(([t]) => t.hasRef()).length}`;
      still = now === last ? still + 1 : 0;
      last = now;
      if (still < 3) return;
      const described = handles.map((h) => {
        const name = h?.constructor?.name ?? typeof h;
        const fd = h?._handle?.fd;
        let target = '';
        try { target = fd >= 0 ? fs.readlinkSync(`/proc/self/fd/${fd}`) : ''; } catch {}
        return fd >= 0 ? `${name}(fd ${fd} ${target} r=${h.readable} w=${h.writable} destroyed=${h.destroyed} label=${h.__fuzzLabel ?? ''})` : name;
      });
      const live = [...timers].filter(([t]) => t.hasRef()).map(([, where]) => where);
      console.log(`HANGING ${JSON.stringify(described)} pendingWatches=${pendingWatches()} timers=${JSON.stringify(live)}`);
      process.exit(3);
    }, 10_000).unref();
  } else {
    subjectPath(); // compile before the clock starts
    let failed = 0;
    const started = Date.now();
    for (let round = 0; round < opts.rounds; round++) {
      const seed = opts.seed + round;
      const verdict = await runRound(seed, opts);
      console.log(JSON.stringify(verdict));
      if (!verdict.ok) failed++;
    }
    console.log(`lifecycle fuzz: ${opts.rounds - failed}/${opts.rounds} round(s) passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    process.exitCode = failed ? 1 : 0;
  }
}

function runRound(seed, opts) {
  const args = ['--expose-gc', self, '--body', '--seed', String(seed), '--ops', String(opts.ops), '--budget', String(opts.budget),
    `--workers=${opts.workers}`, '--max-live', String(opts['max-live'])];
  if (opts.verbose) args.push('--verbose');
  return new Promise((resolve) => {
    const child = cpSpawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let resultAt = 0;
    child.stdout.on('data', (d) => {
      out += d;
      if (!resultAt && out.includes('RESULT ')) resultAt = Date.now();
    });
    child.stderr.on('data', (d) => (err += d));
    const hard = setTimeout(() => child.kill('SIGKILL'), (opts.budget + 60) * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(hard);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      const result = line ? JSON.parse(line.slice(7)) : null;
      const problems = [];
      if (signal || code !== 0) problems.push(`body exited with ${signal ?? code}`);
      if (!result) problems.push('no result');
      else problems.push(...result.failures);
      if (result?.uncaught) problems.push(`${result.uncaught} uncaught exception(s)`);
      for (const l of out.split('\n')) if (l.startsWith('UNCAUGHT ') || l.startsWith('HANGING ')) problems.push(l);
      // How long the exit took is reported, not judged (a sanitizer's exit is slow): whether the
      // loop emptied on its own is.
      const exitMs = resultAt ? Date.now() - resultAt : null;
      const drained = out.split('\n').includes('DRAINED');
      if (result && !drained) problems.push('the event loop did not empty after the result (a uv handle left?)');
      if (err.trim()) problems.push(`stderr: ${err.trim().slice(0, 2000)}`);
      const { failures, ...summary } = result ?? {};
      void failures;
      resolve({ ok: problems.length === 0, seed, exitMs, drained, ...summary, problems });
    });
  });
}

void procState;
