// Argument validation with Node's error codes. Nothing here touches the kernel.
import { invalidArgType, invalidArgValue, outOfRange } from './errors';

export function validatePid(pid: unknown, name = 'pid'): number {
  if (typeof pid !== 'number') throw invalidArgType(name, 'of type number', pid);
  if (!Number.isInteger(pid) || pid < 1 || pid > 0x7fffffff) {
    throw outOfRange(name, 'an integer >= 1 and <= 2147483647', pid);
  }
  return pid;
}

export function validateObject(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgType(name, 'of type object', value);
  }
  return value as Record<string, unknown>;
}

export function validateAbortSignal(value: unknown, name: string): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || !('aborted' in value) || typeof (value as AbortSignal).addEventListener !== 'function') {
    throw invalidArgType(name, 'an instance of AbortSignal', value);
  }
  return value as AbortSignal;
}

/** A string without NUL bytes: the kernel would silently truncate it. */
export function validateCString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
  if (value.includes('\0')) throw invalidArgValue(name, value, 'must be a string without null bytes');
  return value;
}

export function validateInt(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw outOfRange(name, `an integer >= ${min} and <= ${max}`, value);
  }
  return value;
}

export function validateBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
  return value;
}
