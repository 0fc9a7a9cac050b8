// pidfd info: who a process is (ids, cgroup, pidfs inode) and its state, read through a pidfd.
import * as fs from 'node:fs';
import { type Command, Failure, parseArgs, UsageError } from './args';
import { describeError, print, printError } from './io';
import { openTarget, parseTarget } from './target';

const help = `Usage: pidfd info [options] PID[:INODE]...

Prints each process's pid, parent pid, real and effective uid and gid, cgroup id,
pidfs inode (use PID:INODE with wait and kill to name this very process later),
state (from /proc/PID/stat: R running, S sleeping, D disk sleep, T stopped, Z zombie...)
and command name.

Options:
      --json  print one JSON object per process, one per line
  -h, --help  show this help

Exit status: 0, or 1 when a process could not be read (the others are still printed).`;

const spec = { json: {}, help: { short: 'h' } };

const columns = ['pid', 'ppid', 'uid', 'euid', 'gid', 'egid', 'cgroupId', 'inode', 'state', 'command'] as const;
type Row = Record<(typeof columns)[number], string | number | null>;

/** State and command name from /proc/PID/stat ("1234 (name) S ..."; the name may hold spaces). */
function stat(pid: number): { state: string; command: string } {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const close = text.lastIndexOf(')');
  return { state: text.slice(close + 2).split(' ')[0], command: text.slice(text.indexOf('(') + 1, close) };
}

function read(arg: string): Row {
  const handle = openTarget(parseTarget(arg));
  try {
    // /proc first, the pidfd after: info() throws ESRCH once the process has been reaped, so
    // a success proves the /proc files read before belonged to this process, not a pid reuser.
    const { state, command } = stat(handle.pid);
    const { pid, ppid, uid, euid, gid, egid, cgroupId } = handle.info();
    return { pid, ppid, uid, euid, gid, egid, cgroupId, inode: handle.inode, state, command };
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new Failure(`${arg}: ${code === 'ENOENT' || code === 'ESRCH' ? 'no such process' : describeError(err)}`);
  } finally {
    handle.close();
  }
}

function table(rows: Row[]): string {
  const cells = [columns.map((c) => (c === 'cgroupId' ? 'CGROUP' : c.toUpperCase())), ...rows.map((row) => columns.map((c) => String(row[c] ?? '-')))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i].length)));
  return cells.map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const { options, positionals } = parseArgs(argv, spec);
  if (options.help) {
    print(help);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('no processes given');
  positionals.forEach(parseTarget); // every operand is checked before any is read
  const rows: Row[] = [];
  let failed = false;
  for (const arg of positionals) {
    try {
      rows.push(read(arg));
    } catch (err) {
      if (!(err instanceof Failure)) throw err;
      printError(`pidfd info: ${err.message}`);
      failed = true;
    }
  }
  if (options.json) for (const row of rows) print(JSON.stringify(row));
  else if (rows.length > 0) print(table(rows));
  return failed ? 1 : 0;
}

export const info: Command = { summary: 'show who processes are and their state', help, failure: 1, main };
