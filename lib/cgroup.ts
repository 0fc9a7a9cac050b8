// Where cgroup v2 lives for this process, and a tree's own cgroup directory in it. The
// directory names and the default-parent rule are documented in README "Process trees".
import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';
import { native } from './binding';
import { invalidArgValue, systemError } from './errors';

const EEXIST = 17;

export interface Cgroup2Mount {
  /** Where the cgroup2 hierarchy is mounted here (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts). */
  mountPoint: string;
  /** Which cgroup that mount shows at its top, as /proc/self/cgroup names cgroups. */
  root: string;
  /** Mounted read-only (as containers mount it): no tree cgroups here. */
  readOnly: boolean;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8)));

/** Remembered once found; never a failure, which may be transient (EMFILE). */
let mount: Cgroup2Mount | undefined;

/** Reads a /proc file; null when it does not exist (no /proc, the process is gone), else throws (EMFILE...). */
function readProc(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return null;
    throw err;
  }
}

/**
 * The cgroup2 mount from /proc/self/mountinfo (fstype cgroup2), or null when there is none.
 * Throws what reading mountinfo threw (EMFILE...): that is not "no mount".
 */
export function cgroup2Mount(): Cgroup2Mount | null {
  if (mount !== undefined) return mount;
  const text = readProc('/proc/self/mountinfo');
  if (text === null) return null;
  let found: Cgroup2Mount | null = null;
  for (const line of text.split('\n')) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const [left, right] = line.split(' - ');
    if (right === undefined || right.split(' ')[0] !== 'cgroup2') continue;
    const fields = left.split(' ');
    found = { mountPoint: unescape(fields[4]), root: unescape(fields[3]), readOnly: fields[5].split(',').includes('ro') };
  }
  if (found !== null) mount = found;
  return found;
}

/** This process's own cgroup v2 directory, or null when it is not reachable through the mount. */
export function ownCgroupDir(): string | null {
  const m = cgroup2Mount();
  if (m === null) return null;
  const text = readProc('/proc/self/cgroup');
  return text === null ? null : cgroupDir(m, text); // no /proc here: no cgroup method either
}

/** The directory of the cgroup that a /proc/PID/cgroup text names (its `0::` line). */
export function cgroupDir(m: Cgroup2Mount, procCgroup: string): string | null {
  const line = procCgroup.split('\n').find((l) => l.startsWith('0::'));
  if (line === undefined) return null;
  const name = line.slice(3);
  const root = m.root === '/' ? '' : m.root;
  if (name !== m.root && !name.startsWith(`${root}/`)) return null;
  return path.resolve(m.mountPoint, `.${name.slice(root.length)}`);
}

/** True when dir is the cgroup2 mount or inside it. */
function insideMount(m: Cgroup2Mount, dir: string): boolean {
  return dir === m.mountPoint || dir.startsWith(`${m.mountPoint}/`);
}

/**
 * The parent to create a tree's cgroup under: `requested` (validated: an existing cgroup
 * directory inside the cgroup2 mount), else this process's own cgroup. Throws for a bad
 * `requested`; returns null when there is no cgroup2 at all (the caller may fall back).
 * Errors reading /proc (EMFILE) are thrown when `strict`, else null (nothing remembered).
 */
export function treeParent(requested: string | undefined, strict = true): string | null {
  if (!strict) {
    try {
      return treeParent(requested, true);
    } catch (err) {
      if ((err as { code?: string }).code?.startsWith('ERR_') === true) throw err; // a bad argument
      return null;
    }
  }
  const m = cgroup2Mount();
  if (requested === undefined) return m === null ? null : ownCgroupDir();
  const dir = path.resolve(requested);
  if (m === null) throw invalidArgValue('options.tree.cgroup', requested, 'must be a cgroup v2 directory, but no cgroup2 file system is mounted');
  if (!insideMount(m, dir) || dir.split('/').includes('..')) {
    throw invalidArgValue('options.tree.cgroup', requested, `must be a directory in the cgroup2 hierarchy (mounted at ${m.mountPoint})`);
  }
  if (!fs.existsSync(path.join(dir, 'cgroup.procs'))) {
    throw invalidArgValue('options.tree.cgroup', requested, 'must be an existing cgroup v2 directory');
  }
  return dir;
}

let sequence = 0;
const swept = new Set<string>();
/** How old a directory of a dead process must be before it is swept (never one being set up). */
const STALE_MS = 60_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes, once per parent and process, the empty tree cgroups that a process which died
 * without cleaning up (SIGKILL) left under parent. A populated cgroup cannot be removed, and
 * a live creator's are left alone.
 */
function sweep(parent: string): void {
  if (swept.has(parent)) return;
  swept.add(parent);
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const match = /^pidfd-(\d+)-\d+-\d+$/.exec(name);
    if (match === null || Number(match[1]) === process.pid || alive(Number(match[1]))) continue;
    try {
      const dir = path.join(parent, name);
      if (Date.now() - fs.statSync(dir).mtimeMs > STALE_MS) fs.rmdirSync(dir);
    } catch {
      // populated, or gone meanwhile
    }
  }
}

/** A tree's cgroup, created: the directory and the fds that spawn() and the watch need. */
export interface TreeCgroup {
  dir: string;
  dirFd: number;
  eventsFd: number;
}

/**
 * Creates `PARENT/pidfd-<pid>-<thread>-<n>` and opens it (sweeping what dead processes left
 * there first). Throws the mkdir/open error (EACCES, EROFS...) with nothing left behind.
 */
export function createTreeCgroup(parent: string): TreeCgroup {
  sweep(parent);
  let dir: string;
  for (;;) {
    dir = path.join(parent, `pidfd-${process.pid}-${threadId}-${++sequence}`);
    // Natively: 0755 whatever the umask, and removed even if this worker is terminated
    // before the tree's watch takes the directory over.
    const r = native.createCgroup(dir);
    if (r === 0) break;
    if (r !== -EEXIST) throw systemError(r, 'mkdir', { path: dir }); // EEXIST: a pid reused since a crash
  }
  const dirFd = native.openCgroupFile(dir, true);
  const eventsFd = dirFd < 0 ? dirFd : native.openCgroupFile(path.join(dir, 'cgroup.events'), false);
  if (eventsFd < 0) {
    if (dirFd >= 0) native.close(dirFd);
    native.removeCgroup(dir);
    throw systemError(eventsFd, 'open', { path: dir });
  }
  return { dir, dirFd, eventsFd };
}

/** Removes a tree cgroup that never got a process (spawn failed). */
export function discardTreeCgroup(cgroup: TreeCgroup): void {
  native.close(cgroup.dirFd);
  native.close(cgroup.eventsFd);
  native.removeCgroup(cgroup.dir); // ENOENT: already gone
}

/** The pids in a cgroup and in the cgroups below it (members may make their own). */
export function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  const visit = (d: string) => {
    let text: string;
    try {
      text = fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8');
    } catch {
      return; // removed: empty
    }
    for (const word of text.split('\n')) if (word) pids.push(Number(word));
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) if (entry.isDirectory()) visit(path.join(d, entry.name));
  };
  visit(dir);
  return pids;
}

/** The cgroup ids (directory inodes) of a cgroup and those below it. */
export function cgroupIds(dir: string): Set<number> {
  const ids = new Set<number>();
  const visit = (d: string) => {
    try {
      ids.add(fs.statSync(d).ino);
      for (const entry of fs.readdirSync(d, { withFileTypes: true })) if (entry.isDirectory()) visit(path.join(d, entry.name));
    } catch {
      // removed meanwhile
    }
  };
  visit(dir);
  return ids;
}
