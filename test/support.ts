// Shared test tools: run Node scripts against the built package, read /proc, wait.
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { helper } from './helpers/build';

/**
 * Script code (for runNode inside `unshare --pid --fork --mount-proc`, with `fs` and `once`
 * imported) defining reusePid(pid, start): starts processes with start() until one gets pid,
 * steering the namespace's next pid through /proc/sys/kernel/ns_last_pid.
 */
export const reusePidScript = `
  async function reusePid(pid, start) {
    for (let i = 0; i < 50; i++) {
      fs.writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
      const next = start();
      if (next.pid === pid) return next;
      next.kill('SIGKILL');
      await once(next, 'exit');
    }
    throw new Error('pid ' + pid + ' was not reused');
  }
`;

// Where the suite runs (kernel, features, qemu-user) and the one way to skip: environment.ts.
export { qemu, skipUnderQemu } from './environment';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const entry = path.join(root, 'dist', 'index.mjs');
export const bindingEntry = path.join(root, 'dist', 'binding.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** seccomp-run rules such as 'clone3=ENOSYS'. */
  seccomp?: string[];
  /** Extra node flags such as --expose-gc. */
  nodeArgs?: string[];
  /** Wrap the command, e.g. ['unshare', '--pid', '--fork', '--mount-proc']. */
  prefix?: string[];
  env?: NodeJS.ProcessEnv;
  timeout?: number;
  /** Load the package from this copy instead of the checkout (test/tree-env.ts, non-root runs). */
  packageRoot?: string;
  /** The `helper` object in scope, when not the checkout's (name -> path). */
  helpers?: Record<string, string>;
  cwd?: string;
}

/**
 * Runs an ES module script in a fresh node, with `pidfd` (the built package), `native`
 * (the raw binding) and `helper` (paths of the C helpers) in scope.
 */
export function runNode(code: string, options: RunOptions = {}): Promise<RunResult> {
  const pkg = options.packageRoot ?? root;
  const helpers = options.helpers ?? { threads: helper('threads'), zombie: helper('zombie'), storm: helper('signal-storm') };
  const prelude =
    `import * as pidfd from ${JSON.stringify(path.join(pkg, 'dist', 'index.mjs'))};\n` +
    `import { createRequire } from 'node:module';\n` +
    `const { native } = createRequire(import.meta.url)(${JSON.stringify(path.join(pkg, 'dist', 'binding.js'))});\n` +
    `const helper = ${JSON.stringify(helpers)};\n`;
  const argv = [...(options.nodeArgs ?? []), '--input-type=module', '-e', prelude + code];
  let command = [process.execPath, ...argv];
  if (options.seccomp) command = [helper('seccomp-run'), ...options.seccomp, '--', ...command];
  if (options.prefix) command = [...options.prefix, ...command];
  return new Promise((resolve) => {
    execFile(
      command[0],
      command.slice(1),
      { env: options.env ?? process.env, cwd: options.cwd, timeout: options.timeout ?? 170_000, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** The last line of stdout, parsed as JSON; fails loudly with stderr when the run failed. */
export function lastJson<T = any>(result: RunResult): T {
  const lines = result.stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]) as T;
  } catch {
    throw new Error(`no JSON result (exit ${result.code} ${result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
}

export function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** How many pidfds this process holds. */
export function openPidfds(): number {
  let count = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`).includes('pidfd')) count++;
    } catch {
      // the directory's own fd, closed by now
    }
  }
  return count;
}

/** Direct children of this process that are zombies. */
export function zombieChildren(): number[] {
  const out: number[] = [];
  for (const tid of fs.readdirSync('/proc/self/task')) {
    const list = fs.readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim();
    for (const pid of list ? list.split(' ').map(Number) : []) {
      if (procState(pid) === 'Z') out.push(pid);
    }
  }
  return out;
}

/** The one-letter state of a process (R, S, Z...), or null when it no longer exists. */
export function procState(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return null;
  }
}

export function procStatus(pid: number, field: string): string | null {
  try {
    const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
    return line ? line.slice(field.length + 1).trim() : null;
  } catch {
    return null;
  }
}

/** The pids that process `holder` has pidfds open for (from /proc/PID/fdinfo). */
export function pidfdsHeldBy(holder: number): number[] {
  const out: number[] = [];
  let fds: string[] = [];
  try {
    fds = fs.readdirSync(`/proc/${holder}/fd`);
  } catch {
    return out; // gone
  }
  for (const fd of fds) {
    try {
      if (!fs.readlinkSync(`/proc/${holder}/fd/${fd}`).includes('pidfd')) continue;
      const pid = /^Pid:\s*(-?\d+)/m.exec(fs.readFileSync(`/proc/${holder}/fdinfo/${fd}`, 'utf8'))?.[1];
      if (pid !== undefined) out.push(Number(pid));
    } catch {
      // closed in between
    }
  }
  return out;
}

/** Lets the event loop run close callbacks (uv_close completes on the next turn). */
export const loopTurn = () => new Promise<void>((r) => setImmediate(() => setImmediate(r)));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls fn until it returns a truthy value, or throws after timeout ms. The default bound is
 * far beyond any wait on a loaded machine: only a real hang reaches it.
 */
export async function until<T>(fn: () => T, what: string, timeout = 30_000): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Settles to 'pending' if the promise has not settled within ms. */
export function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([promise, sleep(ms).then(() => 'pending' as const)]);
}

/** Starts a process that is not our child: a shell backgrounds it and exits at once. */
export function startStranger(command: string): number {
  const r = spawnSync('sh', ['-c', `${command} </dev/null >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}
