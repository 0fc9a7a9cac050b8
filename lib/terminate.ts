// terminate(): one escalation, shared by a process (Pidfd) and a whole tree (ProcessTree).
import { signalNumber } from './signals';
import { validateAbortSignal, validateInt, validateObject } from './validate';

export interface Escalation {
  signal: NodeJS.Signals | number;
  killSignal: NodeJS.Signals | number;
  timeout: number;
  abortSignal: AbortSignal | undefined;
}

/** terminate()'s options, validated, with their defaults (SIGTERM, 5000 ms, SIGKILL). */
export function escalationOptions(options: unknown): Escalation {
  const opts = validateObject(options, 'options') as Record<string, unknown>;
  const signal = (opts.signal ?? 'SIGTERM') as NodeJS.Signals | number;
  const killSignal = (opts.killSignal ?? 'SIGKILL') as NodeJS.Signals | number;
  signalNumber(signal, 'options.signal');
  signalNumber(killSignal, 'options.killSignal');
  let timeout = 5000;
  if (opts.timeout !== undefined) {
    timeout = opts.timeout === Infinity ? Infinity : validateInt(opts.timeout, 'options.timeout', 0, 0x7fffffff);
  }
  return { signal, killSignal, timeout, abortSignal: validateAbortSignal(opts.abortSignal, 'options.abortSignal') };
}

/**
 * Sends `signal` now and `killSignal` after `timeout` ms if `exit` has not settled and
 * `live()` still holds; returns `exit`. Nothing is sent once the abort signal has fired.
 */
export function escalate<T>(exit: Promise<T>, e: Escalation, kill: (signal: NodeJS.Signals | number) => unknown, live: () => boolean): Promise<T> {
  if (e.abortSignal?.aborted) return exit;
  kill(e.signal);
  if (e.timeout === Infinity) return exit;
  const timer = setTimeout(() => {
    if (live()) kill(e.killSignal);
  }, e.timeout);
  const stop = () => clearTimeout(timer);
  exit.then(stop, stop);
  return exit;
}
