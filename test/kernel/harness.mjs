// A tiny test harness for the kernel suite: plain Node, no vitest, so it starts fast inside a
// TCG VM. Tests run one after another; each has a timeout; a skip prints its reason and is not
// counted as passed. The summary line is `N passed, N failed, N skipped`.
import { inspect } from 'node:util';

const tests = [];

/** Registers a test; fn may be async. */
export function test(name, fn, { timeout = 120_000 } = {}) {
  tests.push({ name, fn, timeout });
}

/** Registers a test that is not run here, with the reason printed. */
export function skip(name, reason) {
  tests.push({ name, skip: reason });
}

export class AssertionError extends Error {}

export function assert(condition, message) {
  if (!condition) throw new AssertionError(message);
}

export function equal(actual, expected, what) {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(`${what}: expected ${inspect(expected)}, got ${inspect(actual)}`);
  }
}

/** Calls fn (may be async) and returns what it threw; fails when it does not throw. */
export async function throws(fn, what) {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new AssertionError(`${what}: did not throw`);
}

function withTimeout(promise, ms, name) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new AssertionError(`timed out after ${ms} ms: ${name}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs every registered test; returns [{ name, status, error?, ms }]. */
export async function run({ filter } = {}) {
  const results = [];
  for (const t of tests) {
    if (filter && !filter.test(t.name)) continue;
    if (t.skip) {
      console.log(`skip - ${t.name}: ${t.skip}`);
      results.push({ name: t.name, status: 'skipped', reason: t.skip, ms: 0 });
      continue;
    }
    const started = Date.now();
    try {
      await withTimeout(Promise.resolve().then(t.fn), t.timeout, t.name);
      const ms = Date.now() - started;
      console.log(`ok - ${t.name} (${ms} ms)`);
      results.push({ name: t.name, status: 'passed', ms });
    } catch (err) {
      const ms = Date.now() - started;
      const text = err instanceof AssertionError ? err.message : inspect(err);
      console.log(`FAIL - ${t.name} (${ms} ms)\n    ${text.replace(/\n/g, '\n    ')}`);
      results.push({ name: t.name, status: 'failed', error: text, ms });
    }
  }
  const count = (s) => results.filter((r) => r.status === s).length;
  console.log(`${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped`);
  return results;
}
