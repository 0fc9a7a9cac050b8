// Signal names <-> numbers, validated the way process.kill() validates them.
import { constants } from 'node:os';
import { invalidArgType, unknownSignal } from './errors';

const numbers = constants.signals as Record<string, number>;
const names: Record<number, NodeJS.Signals> = {};
for (const [name, number] of Object.entries(numbers)) names[number] ??= name as NodeJS.Signals;

/** The number for a signal name or number; 0 probes. Throws for unknown names and bad types. */
export function signalNumber(signal: unknown, argName = 'signal'): number {
  if (typeof signal === 'number') {
    if (!Number.isInteger(signal)) throw unknownSignal(String(signal));
    return signal; // out-of-range numbers are the kernel's to refuse (EINVAL), as with kill(2)
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
