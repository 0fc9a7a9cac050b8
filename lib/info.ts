// Process information for a pidfd: PIDFD_GET_INFO where the kernel has it (6.13+), else
// /proc, checked against the pidfd afterwards so the answer provably belongs to this process.
import * as fs from 'node:fs';
import { constants } from 'node:os';
import { native } from './binding';
import { cgroup2Mount, cgroupDir } from './cgroup';
import { systemError } from './errors';
import { hasFeature } from './features';

export interface ProcessInfo {
  pid: number;
  /** 0 when the parent is outside our pid namespace. */
  ppid: number;
  uid: number;
  gid: number;
  euid: number;
  egid: number;
  /** The cgroup v2 id (the cgroup directory's inode), or null where it cannot be known. */
  cgroupId: number | null;
}

const PIDFD_INFO_PID = 1;
const PIDFD_INFO_CREDS = 2;
const PIDFD_INFO_CGROUPID = 4;
const ESRCH = -constants.errno.ESRCH;

function fromKernel(fd: number): ProcessInfo {
  const bytes = new Uint8Array(72);
  const r = native.getInfo(fd, PIDFD_INFO_PID | PIDFD_INFO_CREDS | PIDFD_INFO_CGROUPID, bytes);
  if (r < 0) throw systemError(r, 'ioctl');
  const view = new DataView(bytes.buffer);
  const mask = Number(view.getBigUint64(0, true));
  const u32 = (offset: number) => view.getUint32(offset, true);
  return {
    pid: u32(16),
    ppid: u32(24),
    uid: u32(28),
    gid: u32(32),
    euid: u32(36),
    egid: u32(40),
    cgroupId: mask & PIDFD_INFO_CGROUPID ? Number(view.getBigUint64(8, true)) : null,
  };
}

function cgroupIdFromProc(pid: number): number | null {
  try {
    const mount = cgroup2Mount(); // not always /sys/fs/cgroup (hybrid hosts: .../unified)
    const dir = mount && cgroupDir(mount, fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
    return dir ? fs.statSync(dir).ino : null;
  } catch {
    return null;
  }
}

function fromProc(pid: number, fd: number): ProcessInfo {
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    throw systemError(ESRCH, 'open', { path: `/proc/${pid}/status` });
  }
  const field = (name: string) => (status.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))?.[1] ?? '').split(/\s+/).map(Number);
  const [uid, euid] = field('Uid');
  const [gid, egid] = field('Gid');
  const info = { pid, ppid: field('PPid')[0], uid, gid, euid, egid, cgroupId: cgroupIdFromProc(pid) };
  // Read first, check after: the pid cannot have been reused while the process is not
  // reaped. Where the pidfd tells a reap apart (POLLHUP, pidfs kernels) a zombie is fine;
  // elsewhere any exit makes the answer unprovable.
  const state = native.readable(fd);
  if (state !== 0 && (state !== 1 || !hasFeature('inode'))) throw systemError(ESRCH, 'open', { path: `/proc/${pid}/status` });
  return info;
}

export function processInfo(pid: number, fd: number): ProcessInfo {
  return hasFeature('info') ? fromKernel(fd) : fromProc(pid, fd);
}
