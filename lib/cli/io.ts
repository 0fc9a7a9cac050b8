// Output for the pidfd command. Writes are synchronous, straight to fds 1 and 2: `pidfd run`
// shares those with its child, and Node's stream setup would make a shared pipe non-blocking.
import * as fs from 'node:fs';
import * as util from 'node:util';

export function print(line: string): void {
  fs.writeSync(1, `${line}\n`);
}

export function printError(line: string): void {
  fs.writeSync(2, `${line}\n`);
}

/** 'no such process' for a system error (ESRCH), else the error's message. */
export function describeError(err: unknown): string {
  const e = err as { errno?: unknown; message?: unknown };
  if (typeof e?.errno === 'number') {
    const known = util.getSystemErrorMap().get(e.errno);
    if (known) return known[1];
  }
  return e instanceof Error ? e.message : String(err);
}

/** '1.25s' */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
}
