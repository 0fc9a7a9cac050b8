// class Pidfd: a handle on one process for good. Its fd never refers to another process,
// whatever happens to the pid.
import { constants } from 'node:os';
import { native } from './binding';
import { closedError, systemError } from './errors';
import { exitStatus, type ExitStatus } from './exit-status';
import { signalNumber } from './signals';
import { release, startWatch, track, untrack, type ExitListener, type Resources } from './watcher';
import { validateAbortSignal, validateObject, validatePid } from './validate';

const ESRCH = -constants.errno.ESRCH;
const ECHILD = -constants.errno.ECHILD;

/** Guards the constructor: handles come from open() and spawn() only. */
export const kCreate = Symbol('pidfd.create');

interface Deferred {
  promise: Promise<ExitStatus>;
  resolve(status: ExitStatus): void;
  reject(error: Error): void;
}

function deferred(): Deferred {
  let resolve!: Deferred['resolve'];
  let reject!: Deferred['reject'];
  const promise = new Promise<ExitStatus>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Only promises handed to the user report unhandled rejections (close() rejects this one).
  promise.catch(() => {});
  return { promise, resolve, reject };
}

export class Pidfd implements ExitListener {
  /** The process id this handle was opened for. */
  readonly pid: number;
  readonly #resources: Resources;
  readonly #reap: boolean;
  #exit: Deferred | undefined;
  #status: ExitStatus | undefined;
  #closed = false;
  #ref = true;

  /** @internal */
  constructor(token: symbol, pid: number, fd: number, reap: boolean) {
    if (token !== kCreate) throw new TypeError('Illegal constructor: use pidfd.open() or pidfd.spawn()');
    this.pid = pid;
    this.#resources = { fd, watch: 0 };
    this.#reap = reap;
    track(this, this.#resources);
    if (reap) this.#arm(); // our own child: always watched, so it is always reaped
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

  /** Settles once the whole thread group has exited; the same promise on every access. */
  get exited(): Promise<ExitStatus> {
    return this.#arm().promise;
  }

  /** Like `exited`, but rejects with the signal's reason when `signal` aborts. */
  onExit(options?: { signal?: AbortSignal }): Promise<ExitStatus> {
    const signal = validateAbortSignal(validateObject(options, 'options').signal, 'options.signal');
    const exit = this.#arm().promise;
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
   * Returns false when the process has already exited; 0 probes.
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const number = signalNumber(signal);
    if (this.#closed) throw closedError();
    if (this.#status !== undefined || native.readable(this.#resources.fd) === 1) return false;
    const r = native.sendSignal(this.#resources.fd, number, 0);
    if (r === 0) return true;
    if (r === ESRCH) return false;
    throw systemError(r, 'pidfd_send_signal');
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
    if (this.#status === undefined) this.#exit?.reject(closedError());
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal Called by the watcher once the thread group is empty. */
  onWatchFired(status: number, error: number): void {
    if (error !== 0 && error !== ECHILD /* reaped elsewhere: status unknown */) {
      this.#exit?.reject(systemError(error, this.#reap ? 'waitid' : 'uv_poll'));
      return;
    }
    this.#status = exitStatus(this.pid, status);
    this.#exit?.resolve(this.#status);
  }

  #arm(): Deferred {
    if (this.#exit !== undefined) return this.#exit;
    const exit = (this.#exit = deferred());
    if (this.#closed) {
      exit.reject(closedError());
      return exit;
    }
    const r = startWatch(this.#resources, this, this.#reap, this.#ref);
    if (r < 0) exit.reject(systemError(r, 'uv_poll_init'));
    return exit;
  }

  #setRef(ref: boolean): void {
    this.#ref = ref;
    if (this.#resources.watch !== 0 && this.#status === undefined) native.refWatch(this.#resources.watch, ref);
  }
}

/** Opens a pidfd for pid (pidfd_open(2)). A zombie opens; a reaped or unknown pid throws ESRCH. */
export function open(pid: number): Pidfd {
  validatePid(pid);
  const fd = native.open(pid, 0);
  if (fd < 0) throw systemError(fd, 'pidfd_open');
  return new Pidfd(kCreate, pid, fd, false);
}
