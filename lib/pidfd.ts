// class Pidfd: a handle on one process for good. Its fd never refers to another process,
// whatever happens to the pid.
import * as fs from 'node:fs';
import { constants } from 'node:os';
import { native } from './binding';
import { closedError, invalidArgValue, systemError } from './errors';
import { exitStatus, type ExitStatus } from './exit-status';
import { featureError, hasFeature, type FeatureName } from './features';
import { processInfo, type ProcessInfo } from './info';
import { signalNumber } from './signals';
import { escalate, escalationOptions } from './terminate';
import { validateAbortSignal, validateBoolean, validateInt, validateObject, validatePid } from './validate';
import { adoptWatch, release, startWatch, track, untrack, WatchMode, type Resources } from './watcher';

const { ESRCH, ECHILD, ENOSYS, ENOENT, EINVAL } = constants.errno;
const PIDFD_THREAD = 0o200; // O_EXCL

/** kill() scopes: pidfd_send_signal's PIDFD_SIGNAL_* flags (Linux 6.9). */
const scopes = { thread: 1, process: 2, processGroup: 4 } as const;
export type SignalScope = keyof typeof scopes;

export interface TerminateOptions {
  /** Sent first. Default 'SIGTERM'. */
  signal?: NodeJS.Signals | number;
  /** Milliseconds to wait for the exit before sending killSignal. Default 5000; Infinity never escalates. */
  timeout?: number;
  /** Sent when the timeout expires. Default 'SIGKILL'. */
  killSignal?: NodeJS.Signals | number;
  /** Stops waiting (rejecting with its reason) and cancels the escalation. */
  abortSignal?: AbortSignal;
}

/** Guards the constructor: handles come from open(), spawn() and from() only. */
export const kCreate = Symbol('pidfd.create');

/** @internal How a handle learns of its process's exit. */
export interface HandleKind {
  mode: WatchMode;
  thread: boolean;
  /** Where the status comes from when the kernel cannot tell (from(): the ChildProcess). */
  statusFallback?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The id of a watch the native side already started (spawn()). */
  watch?: number;
}

const noop = () => {};

/** A negative errno from the native layer as an Error; ENOSYS names the missing feature. */
function failure(r: number, syscall: string, feature?: FeatureName): Error {
  return feature !== undefined && r === -ENOSYS ? featureError(feature, r) : systemError(r, syscall);
}

// An ExitListener (./watcher) by shape only: `implements` would name onWatchFired, which the
// published declarations strip, in every user's type check.
export class Pidfd {
  /** The process (or, for a thread handle, thread) id this handle was opened for. */
  readonly pid: number;
  /** True for a thread handle from open(tid, { thread: true }). */
  readonly thread: boolean;
  readonly #resources: Resources;
  readonly #kind: HandleKind;
  // The exit promise and its settlers, kept on the handle itself: at 10,000 watches every
  // object per handle shows in the RSS.
  #exit: Promise<ExitStatus> | undefined;
  #resolve: ((status: ExitStatus) => void) | undefined;
  #reject: ((error: Error) => void) | undefined;
  #status: ExitStatus | undefined;
  #inode: number | null | undefined;
  #closed = false;
  #ref = true;

  /** @internal */
  constructor(token: symbol, pid: number, fd: number, kind: HandleKind) {
    if (token !== kCreate) throw new TypeError('Illegal constructor: use pidfd.open() or pidfd.spawn()');
    this.pid = pid;
    this.thread = kind.thread;
    this.#resources = { fd, watch: 0 };
    this.#kind = kind;
    track(this, this.#resources);
    if (kind.watch !== undefined) {
      adoptWatch(this.#resources, this, kind.watch); // our own child: watched since its birth
      this.#createExit();
    }
  }

  /** The pidfd, or -1 once closed. */
  get fd(): number {
    return this.#closed ? -1 : this.#resources.fd;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** False once the whole thread group has exited (a zombie has) or the handle is closed. */
  get running(): boolean {
    if (this.#closed || this.#status !== undefined) return false;
    return native.readable(this.#resources.fd) === 0;
  }

  /**
   * The pidfs inode (Linux 6.9+): an identity that, unlike the pid, is never reused for the
   * life of the system. null where the kernel has no pidfs, or once closed before first read.
   */
  get inode(): number | null {
    if (this.#inode === undefined) {
      if (this.#closed || !hasFeature('inode')) return null;
      const out = new Float64Array(2);
      this.#inode = native.stat(this.#resources.fd, out) === 0 ? out[0] : null;
    }
    return this.#inode;
  }

  /** Settles once the whole thread group has exited; the same promise on every access. */
  get exited(): Promise<ExitStatus> {
    return this.#arm();
  }

  /** Like `exited`, but rejects with the signal's reason when `signal` aborts. */
  onExit(options?: { signal?: AbortSignal }): Promise<ExitStatus> {
    const signal = validateAbortSignal(validateObject(options, 'options').signal, 'options.signal');
    const exit = this.#arm();
    if (signal === undefined) return exit.then();
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<ExitStatus>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      exit.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /**
   * Sends a signal through the pidfd, never to whatever process reuses the pid.
   * Returns false when the process has already exited; 0 probes. `scope` (Linux 6.9)
   * directs it at the thread, the whole process, or the process group the process leads.
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM', options?: { scope?: SignalScope }): boolean {
    const number = signalNumber(signal);
    const scope = validateObject(options, 'options').scope;
    let flags = 0;
    if (scope !== undefined) {
      if (typeof scope !== 'string' || !Object.hasOwn(scopes, scope)) {
        throw invalidArgValue('options.scope', scope, "must be 'thread', 'process' or 'processGroup'");
      }
      flags = scopes[scope as SignalScope];
    }
    if (this.#closed) throw closedError();
    if (flags !== 0 && !hasFeature('signalScope')) throw featureError('signalScope');
    // A zombie takes signals silently: report false for it, checked natively in the same
    // call. An exited leader may still lead a live process group, though.
    const group = scope === 'processGroup';
    if (this.#status !== undefined && !group) return false;
    const r = native.sendSignal(this.#resources.fd, number, flags, !group);
    if (r === 0) return true;
    if (r === 1 || r === -ESRCH) return false;
    throw systemError(r, 'pidfd_send_signal');
  }

  /**
   * Sends `signal`, waits for the exit, and sends `killSignal` if it has not come after
   * `timeout` ms. Resolves with the exit status.
   */
  terminate(options?: TerminateOptions): Promise<ExitStatus> {
    const e = escalationOptions(options);
    if (this.#closed) throw closedError();
    return escalate(this.onExit({ signal: e.abortSignal }), e, (signal) => this.kill(signal), () => !this.#closed);
  }

  /** The process's ids and cgroup (PIDFD_GET_INFO, or /proc checked against the pidfd). */
  info(): ProcessInfo {
    if (this.#closed) throw closedError();
    return processInfo(this.pid, this.#resources.fd);
  }

  /**
   * Duplicates file descriptor `targetFd` of the process into ours (pidfd_getfd, Linux 5.6;
   * needs ptrace rights over it, else EPERM). The caller owns the new, close-on-exec fd.
   */
  getfd(targetFd: number): number {
    validateInt(targetFd, 'targetFd', 0, 0x7fffffff);
    if (this.#closed) throw closedError();
    const r = native.getfd(this.#resources.fd, targetFd);
    if (r < 0) throw failure(r, 'pidfd_getfd', 'getfd');
    return r;
  }

  /**
   * Releases the memory of a process that is being killed now rather than when its exit
   * completes (process_mrelease, Linux 5.15). Call after kill('SIGKILL'). EINVAL when the
   * process is not dying; ESRCH when it is already gone.
   */
  mrelease(): void {
    if (this.#closed) throw closedError();
    const r = native.mrelease(this.#resources.fd);
    if (r < 0) throw failure(r, 'process_mrelease', 'mrelease');
  }

  /** A pending watch keeps the event loop alive (the default). */
  ref(): this {
    this.#setRef(true);
    return this;
  }

  /** Lets the process exit while this handle's watch is pending. */
  unref(): this {
    this.#setRef(false);
    return this;
  }

  /** Closes the pidfd; idempotent. A pending exit rejects with ERR_PIDFD_CLOSED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    untrack(this.#resources);
    release(this.#resources);
    if (this.#status === undefined) this.#fail(closedError());
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Called by the watcher once the thread group is empty. */
  onWatchFired(status: number, error: number): void {
    if (error !== 0 && error !== -ECHILD /* reaped elsewhere, no record: status unknown */) {
      this.#fail(systemError(error, this.#kind.mode === WatchMode.Reap ? 'waitid' : 'uv_poll'));
      return;
    }
    const fallback = this.#kind.statusFallback;
    if (status < 0 && fallback !== undefined) {
      fallback.then(({ code, signal }) => this.#settle({ pid: this.pid, code, signal, coreDumped: false }));
      return;
    }
    this.#settle(exitStatus(this.pid, status));
  }

  #settle(status: ExitStatus): void {
    this.#status = status;
    this.#resolve?.(status);
  }

  #fail(error: Error): void {
    if (this.#exit === undefined) return;
    // Only promises handed to the user report unhandled rejections, not this one (marked
    // handled here rather than up front: a handler per watch costs memory at scale).
    this.#exit.catch(noop);
    this.#reject!(error);
  }

  #createExit(): Promise<ExitStatus> {
    return (this.#exit = new Promise<ExitStatus>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    }));
  }

  #arm(): Promise<ExitStatus> {
    if (this.#exit !== undefined) return this.#exit;
    const exit = this.#createExit();
    if (this.#closed) {
      this.#fail(closedError());
      return exit;
    }
    const r = startWatch(this.#resources, this, this.#kind.mode, this.#ref, this.pid);
    if (r < 0) this.#fail(systemError(r, 'uv_poll_init'));
    return exit;
  }

  #setRef(ref: boolean): void {
    this.#ref = ref;
    if (this.#resources.watch !== 0 && this.#status === undefined) native.refWatch(this.#resources.watch, ref);
  }
}

// Shared by every handle of a kind (one object less per handle).
const kinds = {
  record: Object.freeze({ mode: WatchMode.Record, thread: false }),
  plain: Object.freeze({ mode: WatchMode.Plain, thread: false }),
  thread: Object.freeze({ mode: WatchMode.Plain, thread: true }),
};

/** @internal How open() watches a process that is not ours to reap. */
export function observedKind(thread: boolean): HandleKind {
  if (thread) return kinds.thread;
  return hasFeature('exitInfo') ? kinds.record : kinds.plain;
}

function threadGroupOf(tid: number): number | null {
  try {
    const match = fs.readFileSync(`/proc/${tid}/status`, 'utf8').match(/^Tgid:\s*(\d+)/m);
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Opens a pidfd for pid (pidfd_open(2)). A zombie opens; a reaped or unknown pid throws
 * ESRCH. With `thread: true` (PIDFD_THREAD, Linux 6.9) pid may be any thread id: the handle
 * exits when that thread does, and kill() signals that thread.
 */
export function open(pid: number, options?: { thread?: boolean }): Pidfd {
  validatePid(pid);
  const opts = validateObject(options, 'options');
  const thread = opts.thread === undefined ? false : validateBoolean(opts.thread, 'options.thread');
  if (thread && !hasFeature('thread')) throw featureError('thread');
  const fd = native.open(pid, thread ? PIDFD_THREAD : 0);
  if (fd < 0) {
    const err = systemError(fd, 'pidfd_open');
    const tgid = fd === -ENOENT || fd === -EINVAL ? threadGroupOf(pid) : null;
    if (!thread && tgid !== null && tgid !== pid) {
      err.message = `pidfd_open ${err.code}: ${pid} is a thread of process ${tgid}; open it with { thread: true }`;
    }
    throw err;
  }
  return new Pidfd(kCreate, pid, fd, observedKind(thread));
}
