// Shared helpers for the bench harness and its section workers. No dependencies.
import { readFileSync } from 'node:fs';
import { spawn as cpSpawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const rootDir = path.resolve(benchDir, '..');
export const buildDir = path.join(benchDir, '.build');
export const limitBin = path.join(buildDir, 'limit');
export const reaperBin = path.join(buildDir, 'reaper');
export const asyncioPeer = path.join(benchDir, 'peers', 'asyncio_peer.py');
// run.mjs points the workers at a snapshot of dist/ + the addon taken when the run started
// (others may rebuild build/ meanwhile); run on their own, workers use dist/ directly.
export const libEntry = process.env.PIDFD_BENCH_LIB || path.join(rootDir, 'dist', 'index.mjs');

export const hr = () => process.hrtime.bigint();
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sorted copy of numeric samples. */
function sorted(samples) {
  return Float64Array.from(samples).sort();
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(samples, p) {
  if (samples.length === 0) return NaN;
  const s = sorted(samples);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1];
}

export function median(samples) {
  if (samples.length === 0) return NaN;
  const s = sorted(samples);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function summary(samplesNs) {
  return {
    n: samplesNs.length,
    median_ns: median(samplesNs),
    p99_ns: percentile(samplesNs, 99),
    min_ns: samplesNs.length ? Math.min(...samplesNs) : NaN,
    max_ns: samplesNs.length ? Math.max(...samplesNs) : NaN,
  };
}

/** Scheduler state letter of a pid from /proc/PID/stat ('S', 'R', 'Z'...), or null if gone. */
export function procState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const close = stat.lastIndexOf(')');
    return { comm: stat.slice(stat.indexOf('(') + 1, close), state: stat[close + 2] };
  } catch {
    return null;
  }
}

/**
 * The settle step every latency peer shares (limit.c sleeps 5 ms): wait 5 ms, then
 * until the child is `sleep` blocked in clock_nanosleep (state S), at most 200 ms more.
 */
export async function settle(pid) {
  await sleep(5);
  for (let i = 0; i < 200; i++) {
    const st = procState(pid);
    if (st === null) throw new Error(`victim ${pid} vanished before the kill`);
    if (st.state === 'S' && st.comm === 'sleep') return;
    await sleep(1);
  }
  throw new Error(`victim ${pid} never reached state S`);
}

/**
 * Runs a command to completion; resolves { code, signal, stdout, stderr }.
 * Rejects if it cannot start. stdin may be a string to write.
 */
export function run(file, args, { input, env, timeoutMs } = {}) {
  return new Promise((resolve, reject) => {
    const child = cpSpawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
      if (process.env.BENCH_VERBOSE) process.stderr.write(d);
    });
    let timer;
    if (timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** The last line of stdout that parses as a JSON object. */
export function lastJson(stdout) {
  const lines = stdout.trim().split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      return JSON.parse(line);
    } catch {
      /* keep looking */
    }
  }
  throw new Error(`no JSON object on stdout: ${JSON.stringify(stdout.slice(-400))}`);
}

/** Runs a peer that prints one JSON object; throws with its stderr on failure. */
export async function runPeer(file, args, opts) {
  const r = await run(file, args, opts);
  if (r.code !== 0) {
    throw new Error(`${path.basename(file)} ${args.join(' ')}: exit ${r.code ?? r.signal}: ${r.stderr.trim().slice(-600)}`);
  }
  return lastJson(r.stdout);
}

/** A section worker writes its result with this: one JSON line, tagged, on stdout. */
export function emitResult(obj) {
  process.stdout.write(`BENCH-RESULT ${JSON.stringify(obj)}\n`);
}

export function parseWorkerArgs() {
  return JSON.parse(process.argv[2] ?? '{}');
}

/** Reads whole lines from a readable stream, one callback per line. */
export function onLines(stream, fn) {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      fn(line);
    }
  });
}

/**
 * A helper process that answers lines: ask(line) writes one and resolves with the next
 * line it prints; next() waits for a line without asking (a greeting). Its stderr goes to
 * ours; close() ends its stdin and waits for its exit.
 */
export function lineServer(file, args) {
  const child = cpSpawn(file, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  let failure = null;
  const fail = (error) => {
    failure ??= error;
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  onLines(child.stdout, (line) => waiting.shift()?.resolve(line));
  child.on('error', fail);
  child.on('exit', (code, signal) => fail(new Error(`${path.basename(file)} ${args.join(' ')} ended (${code ?? signal})`)));
  child.stdin.on('error', () => {});
  const next = () =>
    new Promise((resolve, reject) => {
      if (failure) reject(failure);
      else waiting.push({ resolve, reject });
    });
  const exited = new Promise((resolve) => child.on('close', resolve));
  return {
    next,
    ask(line) {
      const answer = next();
      child.stdin.write(`${line}\n`);
      return answer;
    },
    close() {
      child.stdin.end();
      return exited;
    },
  };
}
