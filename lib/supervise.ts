// spawn()'s supervision options: `signal`, `timeout` and `killSignal` with child_process's
// meanings, applied to the whole tree when the child has one, and `dieWithParent`.
import { abortError, outOfRange, unknownSignal } from './errors';
import type { ExitStatus } from './exit-status';
import { signalName, signalNumber } from './signals';
import { validateAbortSignal, validateBoolean } from './validate';

const SIGKILL = 9;

export interface SupervisionOptions {
  /** Kills the child (its tree, if any) with killSignal when it aborts; already aborted: spawn() throws. */
  signal?: AbortSignal;
  /** Kills the child (its tree, if any) with killSignal after this many ms. 0 or undefined: never. */
  timeout?: number;
  /** The signal that `signal` and `timeout` send. Default 'SIGTERM'. */
  killSignal?: NodeJS.Signals | number;
  /** SIGKILL the child when this thread ends (the process dies, however it dies, or a worker ends). */
  dieWithParent?: boolean;
}

/** Why the supervision options killed a child. */
export type KillReason = 'timeout' | 'abort';

export interface Supervision {
  signal: AbortSignal | undefined;
  timeout: number;
  killSignal: number;
  /** PR_SET_PDEATHSIG for the native child: 0 none. */
  deathSignal: number;
}

/** Validated as child_process validates them; throws before anything is started. */
export function supervisionOptions(opts: Record<string, unknown>): Supervision {
  const signal = validateAbortSignal(opts.signal, 'options.signal');
  let timeout = 0;
  if (opts.timeout != null) {
    // child_process: ERR_OUT_OF_RANGE for anything but an unsigned integer. Beyond a 32-bit
    // delay setTimeout would fire at once, so that is refused too.
    const t = opts.timeout;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 0x7fffffff) {
      throw outOfRange('options.timeout', 'an unsigned integer <= 2147483647', t);
    }
    timeout = t;
  }
  let killSignal = 15;
  if (opts.killSignal !== undefined) {
    killSignal = signalNumber(opts.killSignal, 'options.killSignal');
    if (signalName(killSignal) === null) throw unknownSignal(String(opts.killSignal));
  }
  const die = opts.dieWithParent === undefined ? false : validateBoolean(opts.dieWithParent, 'options.dieWithParent');
  // As child_process, which reports it once the child exists; here nothing is started.
  if (signal?.aborted) throw abortError(signal.reason);
  return { signal, timeout, killSignal, deathSignal: die ? SIGKILL : 0 };
}

/** What supervise() needs of a Subprocess: the seam where a tree, when there is one, takes the kill. */
interface Supervised {
  readonly closed: boolean;
  readonly exited: Promise<ExitStatus>;
  kill(signal: number): boolean;
  readonly tree?: { kill(signal: number): number; readonly exited: Promise<void>; readonly closed: boolean } | null;
}

/**
 * Arms the timeout and the abort listener. Both go once the child's tree (or the child)
 * has exited, or the tree's (or the child's) handle is closed; the timer never keeps the event loop alive (the
 * child's own watch does, unless unref()ed). Calls back with the reason when it kills.
 */
export function supervise(child: Supervised, s: Supervision, onKill: (reason: KillReason) => void): void {
  if (s.signal === undefined && s.timeout === 0) return;
  const tree = child.tree;
  const kill = (reason: KillReason) => {
    if (tree ? tree.closed : child.closed) return;
    let sent: boolean;
    try {
      sent = tree ? tree.kill(s.killSignal) > 0 : child.kill(s.killSignal);
    } catch (err) {
      // From a timer or an abort listener nothing may throw: a tree's members that refused
      // (EPERM) are skipped after the others were signalled; any error becomes a warning.
      sent = ((err as { signalled?: number }).signalled ?? 0) > 0;
      process.emitWarning(`pidfd: the ${reason} could not signal every process: ${(err as Error).message}`, 'PidfdWarning');
    }
    if (sent) onKill(reason);
  };
  let timer: NodeJS.Timeout | undefined;
  if (s.timeout > 0) {
    timer = setTimeout(() => {
      timer = undefined;
      kill('timeout');
    }, s.timeout);
    timer.unref();
  }
  const signal = s.signal;
  const onAbort = () => kill('abort');
  signal?.addEventListener('abort', onAbort, { once: true });
  const stop = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    signal?.removeEventListener('abort', onAbort);
  };
  // Until no member is left, or the handle that kills is closed (its promise rejects then).
  const done: Promise<unknown> = tree ? tree.exited : child.exited;
  done.then(stop, stop);
}
