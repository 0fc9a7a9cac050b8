// A tiny test harness that runs the same on node, deno and bun: test(name, fn), assertions,
// a subprocess runner in the same runtime, and a summary line `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const runtime = process.versions.bun ? 'bun' : process.versions.deno ? 'deno' : 'node';
export const runtimeVersion = process.versions.bun ?? process.versions.deno ?? process.versions.node;

const tests = [];
export function test(name, fn, { skip } = {}) {
  tests.push({ name, fn, skip });
}

export class AssertionError extends Error {}

export function ok(value, message = 'expected a truthy value') {
  if (!value) throw new AssertionError(message);
}

function show(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

export function equal(actual, expected, message = '') {
  if (!Object.is(actual, expected)) throw new AssertionError(`${message} expected ${show(expected)}, got ${show(actual)}`.trim());
}

/** Every key of expected matches actual's (Object.is). */
export function match(actual, expected, message = '') {
  for (const key of Object.keys(expected)) {
    if (actual === null || typeof actual !== 'object' || !Object.is(actual[key], expected[key])) {
      throw new AssertionError(`${message} expected ${show(expected)} within ${show(actual)}`.trim());
    }
  }
}

export function throws(fn, expected, message = '') {
  let error;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new AssertionError(`${message} expected a throw matching ${show(expected)}`.trim());
  match(error, expected, message);
  return error;
}

export async function rejects(promise, expected, message = '') {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new AssertionError(`${message} expected a rejection matching ${show(expected)}`.trim());
  match(error, expected, message);
  return error;
}

/** Waits for predicate() to hold, checking every 10 ms, failing after timeoutMs (a wide bound). */
export async function until(predicate, what, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new AssertionError(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Rejects if promise has not settled within ms (a hang is a failure, not a stuck suite). */
export function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new AssertionError(`${what}: not settled after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The command line that runs a script file in this same runtime. */
export function selfCommand(file) {
  if (runtime === 'deno') return [process.execPath, 'run', '-A', file];
  return [process.execPath, file];
}

/**
 * Runs script (an ES module body, with `pidfd` imported) in a fresh process of this runtime,
 * from a file next to this one (so that `pidfd` resolves the same way).
 */
export function runScript(body, { timeout = 60_000, env } = {}) {
  const dir = path.dirname(new URL(import.meta.url).pathname);
  const file = path.join(dir, `.run-${process.pid}-${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(file, `import * as pidfd from 'pidfd';\n${body}\n`);
  try {
    const [command, ...args] = selfCommand(file);
    const r = spawnSync(command, args, { encoding: 'utf8', timeout, env: env ?? process.env });
    return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** Threads of this process (/proc/self/status). */
export function threadCount() {
  return Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
}

/** Threads of this process named name (/proc/self/task/N/comm). */
export function threadsNamed(name) {
  let n = 0;
  for (const task of fs.readdirSync('/proc/self/task')) {
    try {
      if (fs.readFileSync(`/proc/self/task/${task}/comm`, 'utf8').trim() === name) n++;
    } catch {
      // the thread ended meanwhile
    }
  }
  return n;
}

/** Runs every test in order; prints one line per test and `N passed, N failed`. */
export async function run() {
  let passed = 0, failed = 0, skipped = 0;
  const only = process.env.RUNTIME_TEST_FILTER;
  console.log(`# ${runtime} ${runtimeVersion}`);
  for (const t of tests) {
    if (only && !t.name.includes(only)) continue;
    if (t.skip) {
      skipped++;
      console.log(`skip ${t.name}: ${t.skip}`);
      continue;
    }
    const started = Date.now();
    try {
      await within(Promise.resolve().then(t.fn), 120_000, t.name);
      passed++;
      console.log(`ok   ${t.name} (${Date.now() - started} ms)`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${t.name}\n     ${String(e && e.stack ? e.stack : e).split('\n').join('\n     ')}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  return failed;
}
