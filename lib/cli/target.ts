// PID[:INODE] operands. The pidfs inode names one process for the life of the system, so
// `pidfd wait 1234:5678` can tell the process it was given from a later one with the same pid.
import { open, type Pidfd } from '../index';
import { Failure, UsageError } from './args';
import { describeError } from './io';

export interface Target {
  /** The operand as given, for messages. */
  arg: string;
  pid: number;
  inode: number | null;
}

export function parseTarget(arg: string): Target {
  const match = /^([1-9]\d*)(?::([1-9]\d*))?$/.exec(arg);
  const pid = Number(match?.[1]);
  const inode = match?.[2] === undefined ? null : Number(match[2]);
  if (match === null || pid > 0x7fffffff || (inode !== null && !Number.isSafeInteger(inode))) {
    throw new UsageError(`invalid process '${arg}' (expected PID or PID:INODE)`);
  }
  return { arg, pid, inode };
}

const REPLACED = 'ERR_PIDFD_REPLACED';

/** True for openTarget()'s error when the process is gone: exited, or its pid reused. */
export function isGone(err: unknown): boolean {
  return err instanceof Failure && (err.code === 'ESRCH' || err.code === REPLACED);
}

/**
 * Opens a pidfd on the target, checking its inode when one was given. Throws a Failure,
 * for which isGone() is true when the process no longer exists.
 */
export function openTarget(target: Target): Pidfd {
  let handle: Pidfd;
  try {
    handle = open(target.pid);
  } catch (err) {
    throw new Failure(`${target.arg}: ${describeError(err)}`, (err as { code?: string }).code);
  }
  if (target.inode === null) return handle;
  const { inode } = handle;
  if (inode === target.inode) return handle;
  handle.close();
  if (inode === null) throw new Failure(`${target.arg}: PID:INODE needs pidfs inodes (Linux 6.9 or later)`);
  throw new Failure(`${target.arg}: no such process (pid ${target.pid} now belongs to another process, inode ${inode})`, REPLACED);
}
