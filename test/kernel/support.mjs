// What the kernel-suite cases share: the package under test, the C helpers, a Node child runner
// and a line reader. Paths come from the environment so the arm64 VM can use its own copies:
//   PIDFD_ROOT          the package (default: two folders up), with dist/ and its addon
//   PIDFD_KSUITE_BIN    the compiled C helpers (default: PIDFD_ROOT/test/.build)
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(process.env.PIDFD_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
const require = createRequire(join(root, 'package.json'));
export const pidfd = require(join(root, 'dist', 'index.js'));
export const { native } = require(join(root, 'dist', 'binding.js'));

/** spawn methods as native.spawnMethod() reports them (src/spawn.cc). */
export const METHOD = { clone3: 0, clone: 1, fork: 2 };
export const methodName = (m) => Object.keys(METHOD).find((k) => METHOD[k] === m) ?? String(m);

const bin = resolve(process.env.PIDFD_KSUITE_BIN ?? join(root, 'test', '.build'));
/** Path of a compiled C helper (scripts/kernels/helpers.sh builds them). */
export function helper(name) {
  const path = join(bin, name);
  if (!existsSync(path)) throw new Error(`test helper ${path} is missing: run scripts/kernels/helpers.sh`);
  return path;
}

export const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs an ES module in a fresh node, with `pidfd`, `native`, `helper` (paths) and `fs` in scope;
 * prefix wraps the command (seccomp-run, unshare). Resolves { code, signal, stdout, stderr }.
 */
export function runNode(code, { prefix = [], timeout = 100_000 } = {}) {
  const prelude =
    `import { createRequire } from 'node:module'; import fs from 'node:fs';\n` +
    `const require = createRequire(${JSON.stringify(join(root, 'package.json'))});\n` +
    `const pidfd = require(${JSON.stringify(join(root, 'dist', 'index.js'))});\n` +
    `const { native } = require(${JSON.stringify(join(root, 'dist', 'binding.js'))});\n` +
    `const helper = (name) => ${JSON.stringify(bin)} + '/' + name;\n`;
  const command = [...prefix, process.execPath, '--input-type=module', '-e', prelude + code];
  return new Promise((resolvePromise) => {
    execFile(command[0], command.slice(1), { timeout, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolvePromise({
        code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
        signal: error?.signal ?? null,
        stdout,
        stderr,
      });
    });
  });
}

/** The last line of stdout parsed as JSON, failing with the child's output when it is not. */
export function lastJson(result) {
  const line = result.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`child exited ${result.code}/${result.signal} without a JSON line\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

/** Reads a stream line by line: next(regex) resolves with the first later line matching it. */
export function lineReader(stream) {
  let buffer = '';
  const lines = [];
  let waiter = null;
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buffer += chunk;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
    }
    waiter?.();
  });
  return {
    async next(regex) {
      for (;;) {
        while (lines.length) {
          const line = lines.shift();
          const m = regex.exec(line);
          if (m) return m;
        }
        await new Promise((r) => (waiter = r));
        waiter = null;
      }
    },
  };
}

/** Resolves 'settled' if promise settles within ms, else 'pending' (never rejects). */
export function settledWithin(promise, ms) {
  return Promise.race([promise.then(() => 'settled', () => 'settled'), delay(ms).then(() => 'pending')]);
}
