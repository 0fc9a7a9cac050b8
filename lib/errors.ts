// Every Error the library throws or rejects with is made here, shaped like Node's own:
// system errors carry code, negative errno and syscall; argument errors carry Node's codes.
import * as util from 'node:util';

export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  spawnargs?: string[];
}

// Linux errnos that libuv has no name for, but pidfd calls return.
const linuxOnly: Record<number, string> = { [-10]: 'ECHILD', [-66]: 'EREMOTE' };

/** 'ESRCH' for -3. */
export function errnoName(errno: number): string {
  return linuxOnly[errno] ?? util.getSystemErrorName(errno);
}

/** What would help, for the refusals a user can act on, by `<syscall> <code>`. */
const remedies: Record<string, string> = {
  'pidfd_send_signal EPERM':
    "signalling another user's process needs CAP_KILL, or a real or effective uid equal to its real or saved uid",
  'pidfd_getfd EPERM':
    'taking a file descriptor needs ptrace rights over the process: the same uid and a kernel.yama.ptrace_scope that allows it, or CAP_SYS_PTRACE',
  'setuid EPERM': 'running the child as another user needs CAP_SETUID (root)',
  'setgid EPERM': 'running the child as another group needs CAP_SETGID (root)',
};

/** The remedy for `syscall` failing with `code`, or undefined. */
export function remedy(syscall: string, code: string): string | undefined {
  return remedies[`${syscall} ${code}`];
}

/** An Error for a negative errno from the native layer, e.g. `pidfd_open ESRCH`. */
export function systemError(errno: number, syscall: string, extra?: { path?: string; spawnargs?: string[] }): SystemError {
  const code = errnoName(errno);
  const subject = extra?.path === undefined ? syscall : `${syscall} ${extra.path}`;
  const help = remedy(syscall, code);
  const err = new Error(help === undefined ? `${subject} ${code}` : `${subject} ${code}: ${help}`) as SystemError;
  err.errno = errno;
  err.code = code;
  err.syscall = syscall;
  if (extra) Object.assign(err, extra);
  Error.captureStackTrace(err, systemError);
  return err;
}

function withCode<E extends Error>(err: E, code: string): E & { code: string } {
  return Object.assign(err, { code });
}

/** pidfd off Linux: says what to use instead. */
export function platformError(platform: string): Error & { code: string } {
  return withCode(
    new Error(
      `pidfd works on Linux only (this is ${platform}): pidfds are a Linux kernel feature. ` +
        'Check pidfd.supported and use node:child_process elsewhere.',
    ),
    'ERR_PIDFD_PLATFORM',
  );
}

export function closedError(): Error & { code: string } {
  return withCode(new Error('The pidfd handle is closed'), 'ERR_PIDFD_CLOSED');
}

function describe(value: unknown): string {
  if (value == null) return ` Received ${value}`;
  if (typeof value === 'function') return ` Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name ? ` Received an instance of ${name}` : ` Received ${util.inspect(value, { depth: -1 })}`;
  }
  let shown = util.inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return ` Received type ${typeof value} (${shown})`;
}

export function invalidArgType(name: string, expected: string, value: unknown): TypeError & { code: string } {
  return withCode(new TypeError(`The "${name}" argument must be ${expected}.${describe(value)}`), 'ERR_INVALID_ARG_TYPE');
}

export function outOfRange(name: string, range: string, value: unknown): RangeError & { code: string } {
  const shown = typeof value === 'number' || typeof value === 'bigint' ? String(value) : util.inspect(value);
  return withCode(
    new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${shown}`),
    'ERR_OUT_OF_RANGE',
  );
}

export function invalidArgValue(name: string, value: unknown, reason: string): TypeError & { code: string } {
  const shown = util.inspect(value, { depth: 0 });
  return withCode(new TypeError(`The argument '${name}' ${reason}. Received ${shown}`), 'ERR_INVALID_ARG_VALUE');
}

/**
 * A cgroup the tree could not be made in (EACCES, EPERM, EROFS from mkdir or open): says what
 * delegation means, in the message of the error itself.
 */
export function explainCgroupRefusal(err: unknown, parent: string | null): unknown {
  const e = err as Partial<SystemError> | null;
  if (e === null || typeof e !== 'object' || !['EACCES', 'EPERM', 'EROFS'].includes(e.code ?? '')) return err;
  const where = parent ?? 'the cgroup2 hierarchy';
  (e as Error).message +=
    e.code === 'EROFS'
      ? `: ${where} is mounted read-only (a container's usual cgroup2): use { tree: { method: 'subreaper' } }, or mount cgroup2 writable`
      : `: ${where} is not delegated to this user: a tree's cgroup is made there (mkdir), and starting the child in it ` +
        `needs write access to cgroup.procs up to the cgroup this process is in (systemd: Delegate=yes on the unit; ` +
        `or run as root); or use { tree: { method: 'subreaper' } }`;
  return err;
}

/** For a ChildProcess whose spawn failed: it has no pid, so there is nothing to open. */
export function notStarted(name: string, file: string): TypeError & { code: string } {
  const message = `The argument '${name}' is a ChildProcess that never started: spawning ${util.inspect(file)} failed (see its 'error' event)`;
  return withCode(new TypeError(message), 'ERR_INVALID_ARG_VALUE');
}

/** Node's AbortError, as child_process gives it for an aborted `signal` option. */
export function abortError(reason: unknown): Error & { code: string } {
  const err = withCode(new Error('The operation was aborted', { cause: reason }), 'ABORT_ERR');
  err.name = 'AbortError';
  return err;
}

export function unknownSignal(signal: string): TypeError & { code: string } {
  return withCode(new TypeError(`Unknown signal: ${signal}`), 'ERR_UNKNOWN_SIGNAL');
}
