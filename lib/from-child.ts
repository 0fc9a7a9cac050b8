// pidfd.from(child): a handle for a process started with child_process.
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { native } from './binding';
import { invalidArgType, notStarted, systemError } from './errors';
import { kCreate, observedKind, Pidfd } from './pidfd';

/**
 * Opens a handle for a ChildProcess. Call it right after child_process.spawn(): libuv reaps
 * its children only from the event loop, so until then the pid cannot have been reused.
 * The status comes from the kernel's exit record (Linux 6.15+) or from the child's 'exit'.
 */
export function from(child: ChildProcess): Pidfd {
  if (child === null || typeof child !== 'object' || typeof child.once !== 'function' || !('exitCode' in child)) {
    throw invalidArgType('child', 'an instance of ChildProcess', child);
  }
  if (typeof child.pid !== 'number') {
    // spawn() failed (ENOENT...): child_process reports that on the child's 'error' event.
    throw notStarted('child', child.spawnfile);
  }
  if (child.exitCode !== null || child.signalCode !== null) {
    throw systemError(-constants.errno.ESRCH, 'pidfd_open'); // already reaped: the pid may be another's now
  }
  const fd = native.open(child.pid, 0);
  if (fd < 0) throw systemError(fd, 'pidfd_open');
  const statusFallback = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return new Pidfd(kCreate, child.pid, fd, { ...observedKind(false), statusFallback });
}
