// What /proc says about the processes of a tree: states, parents, children. A process that
// is gone reads as gone; any other failure (EMFILE) is thrown, never taken for "gone".
import * as fs from 'node:fs';

/** The fields of /proc/PID/stat after the command name (state first, then ppid...), or null once it is gone. */
function statFields(pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The pid's one-letter state (R, S, T...), or null once it is gone. */
export function processState(pid: number): string | null {
  return statFields(pid)?.[0] ?? null;
}

/** The pid's parent, or 0 once it is gone. */
export function parentOf(pid: number): number {
  const ppid = statFields(pid)?.[1];
  return ppid === undefined ? 0 : Number(ppid);
}

/** This process and its ancestors, up to the top of our pid namespace: never signalled by a tree. */
export function callerAndAncestors(): Set<number> {
  const pids = new Set<number>();
  for (let pid = process.pid; pid > 0 && !pids.has(pid); pid = parentOf(pid)) pids.add(pid);
  return pids;
}

/** A /proc read failed because the process or thread is gone: ENOENT, or ESRCH while it exits. */
function gone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH';
}

/** The children of one thread of pid (a keeper has only one); none once it is gone; EMFILE & co. are thrown. */
export function threadChildren(pid: number, tid: number | string = pid): number[] {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
  } catch (err) {
    if (gone(err)) return [];
    throw err; // not "no children"
  }
  return text ? text.split(' ').map(Number) : [];
}

/** The children of every thread of pid (none once it is gone); EMFILE & co. are thrown. */
export function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch (err) {
    if (gone(err)) return [];
    throw err;
  }
  return tasks.flatMap((tid) => threadChildren(pid, tid));
}
