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
const linuxOnly: Record<number, string> = { [-66]: 'EREMOTE' };

/** 'ESRCH' for -3. */
export function errnoName(errno: number): string {
  return linuxOnly[errno] ?? util.getSystemErrorName(errno);
}

/** An Error for a negative errno from the native layer, e.g. `pidfd_open ESRCH`. */
export function systemError(errno: number, syscall: string, extra?: { path?: string; spawnargs?: string[] }): SystemError {
  const code = errnoName(errno);
  const subject = extra?.path === undefined ? syscall : `${syscall} ${extra.path}`;
  const err = new Error(`${subject} ${code}`) as SystemError;
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

/** Node's AbortError, as child_process gives it for an aborted `signal` option. */
export function abortError(reason: unknown): Error & { code: string } {
  const err = withCode(new Error('The operation was aborted', { cause: reason }), 'ABORT_ERR');
  err.name = 'AbortError';
  return err;
}

export function unknownSignal(signal: string): TypeError & { code: string } {
  return withCode(new TypeError(`Unknown signal: ${signal}`), 'ERR_UNKNOWN_SIGNAL');
}
