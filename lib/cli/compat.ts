// Bridges to the handle members of issue 3 (inode, info(), terminate()) until they land in
// lib/pidfd.ts: each function uses the library's member when it exists, else an equivalent.
// Delete this file once they have landed.
import * as fs from 'node:fs';
import type { ExitStatus, Pidfd } from '../index';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  cgroupId: number | null;
}

export interface TerminateOptions {
  signal: NodeJS.Signals | number;
  timeout: number;
  killSignal: NodeJS.Signals | number;
}

type Upcoming = Pidfd & {
  inode?: number | null;
  info?(): ProcessInfo;
  terminate?(options: TerminateOptions): Promise<ExitStatus>;
};

/** The pidfs inode of the process (st_ino of the pidfd), or null where there is none. */
export function inodeOf(handle: Pidfd): number | null {
  const { inode } = handle as Upcoming;
  return inode !== undefined ? inode : fs.fstatSync(handle.fd).ino;
}

export function infoOf(handle: Pidfd): ProcessInfo {
  const upcoming = handle as Upcoming;
  if (upcoming.info) return upcoming.info();
  const status = fs.readFileSync(`/proc/${handle.pid}/status`, 'utf8');
  const field = (name: string) => (status.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))?.[1] ?? '').split(/\s+/).map(Number);
  const [uid, euid] = field('Uid');
  const [gid, egid] = field('Gid');
  return { pid: handle.pid, ppid: field('PPid')[0], uid, gid, euid, egid, cgroupId: null };
}

/** Sends signal, then killSignal if the process is still running timeout ms later. */
export function terminate(handle: Pidfd, options: TerminateOptions): Promise<ExitStatus> {
  const upcoming = handle as Upcoming;
  if (upcoming.terminate) return upcoming.terminate(options);
  handle.kill(options.signal);
  const timer = setTimeout(() => handle.kill(options.killSignal), options.timeout);
  return handle.exited.finally(() => clearTimeout(timer));
}
