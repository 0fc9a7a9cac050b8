// Signal names <-> numbers, validated the way process.kill() validates them.
import { constants } from 'node:os';
import { invalidArgType, unknownSignal } from './errors';

const SIGRTMAX = 64;
const numbers = constants.signals as Record<string, number>;
const names: Record<number, NodeJS.Signals> = {};
for (const [name, number] of Object.entries(numbers)) names[number] ??= name as NodeJS.Signals;

/** The number for a signal name or number 0..64; 0 probes. Throws for unknown ones and bad types. */
export function signalNumber(signal: unknown, argName = 'signal'): number {
  if (typeof signal === 'number') {
    // 1..64 are Linux's signals (SIGRTMAX is 64), real-time ones included: they have no names
    // in os.constants. Anything else is unknown before the kernel is asked, whether or not
    // the process still runs (ChildProcess.kill() refuses it so too).
    if (!Number.isInteger(signal) || signal < 0 || signal > SIGRTMAX) throw unknownSignal(String(signal));
    return signal;
  }
  if (typeof signal === 'string') {
    const number = numbers[signal];
    if (number === undefined) throw unknownSignal(signal);
    return number;
  }
  throw invalidArgType(argName, 'of type string or number', signal);
}

/** 'SIGKILL' for 9; null for 0 or a number with no name. */
export function signalName(number: number): NodeJS.Signals | null {
  return names[number] ?? null;
}
