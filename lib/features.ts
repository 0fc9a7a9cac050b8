// pidfd.features: what this kernel, in this sandbox, can do, probed once on first use with
// real syscalls on a pidfd of our own process. A missing feature throws featureError().
import { constants } from 'node:os';
import * as util from 'node:util';
import { native } from './binding';
import { errnoName, type SystemError } from './errors';

export interface Features {
  /** pidfd_open (Linux 5.3) */
  readonly open: boolean;
  /** spawn() gets its pidfd from clone3 or clone with CLONE_PIDFD (5.2/5.3), not fork + pidfd_open */
  readonly spawnPidfd: boolean;
  /** waitid(P_PIDFD) (5.4) */
  readonly waitid: boolean;
  /** PIDFD_THREAD: pidfds for single threads (6.9) */
  readonly thread: boolean;
  /** PIDFD_SIGNAL_THREAD / _THREAD_GROUP / _PROCESS_GROUP scopes for kill() (6.9) */
  readonly signalScope: boolean;
  /** PIDFD_GET_INFO: info() without /proc (6.13) */
  readonly info: boolean;
  /** PIDFD_INFO_EXIT: exit statuses of processes that are not our children (6.15) */
  readonly exitInfo: boolean;
  /** pidfd_getfd (5.6) */
  readonly getfd: boolean;
  /** process_mrelease (5.15) */
  readonly mrelease: boolean;
  /** pidfs: a unique, never reused inode per process (6.9) */
  readonly inode: boolean;
}

export type FeatureName = keyof Features;

/** Which method `spawn(..., { tree: true })` would take in this process now, and why. */
export interface TreeMethodReport {
  readonly method: 'cgroup' | 'subreaper';
  /** In words, e.g. 'cgroup2 read-only', 'no cgroup2 mount', 'writable cgroup2 /sys/fs/cgroup/x'. */
  readonly reason: string;
}

export interface TreeMethodFeature {
  /**
   * Decided afresh on each read (a failure may be transient), so not among the enumerable
   * booleans: `{ ...features }` stays what the kernel can do.
   */
  readonly treeMethod: TreeMethodReport;
}

let decideTreeMethod: () => TreeMethodReport = () => ({ method: 'subreaper', reason: 'process trees are not loaded' });

/** @internal lib/tree.ts says how it decides (it imports this file, not the other way round). */
export function registerTreeMethod(decide: () => TreeMethodReport): void {
  decideTreeMethod = decide;
}

function treeMethodProperty(): PropertyDescriptorMap {
  return { treeMethod: { enumerable: false, get: () => decideTreeMethod() } };
}

/** What each feature needs, for error messages. */
const needs: Record<FeatureName, string> = {
  open: 'pidfd_open (Linux 5.3)',
  spawnPidfd: 'clone3 or clone with CLONE_PIDFD (Linux 5.2)',
  waitid: 'waitid(P_PIDFD) (Linux 5.4)',
  thread: 'PIDFD_THREAD (Linux 6.9)',
  signalScope: 'PIDFD_SIGNAL_* scopes (Linux 6.9)',
  info: 'the PIDFD_GET_INFO ioctl (Linux 6.13)',
  exitInfo: 'PIDFD_INFO_EXIT (Linux 6.15)',
  getfd: 'pidfd_getfd (Linux 5.6)',
  mrelease: 'process_mrelease (Linux 5.15)',
  inode: 'pidfs inodes (Linux 6.9)',
};

/** The call that answered for each feature, as `err.syscall` of its error. */
const syscalls: Partial<Record<FeatureName, string>> = {
  open: 'pidfd_open', spawnPidfd: 'clone3', waitid: 'waitid', thread: 'pidfd_open', signalScope: 'pidfd_send_signal',
  info: 'ioctl', exitInfo: 'ioctl', getfd: 'pidfd_getfd', mrelease: 'process_mrelease', inode: 'fstatfs',
};

const { ENOSYS, ECHILD, EINVAL, ENOENT } = constants.errno;
const PIDFD_THREAD = 0o200; // O_EXCL
const PIDFD_SIGNAL_THREAD_GROUP = 2;
const PIDFD_INFO_PID = 1;
const PID_FS_MAGIC = 0x50494446;
const WEXITED = 4;
const WNOHANG = 1;

let probed: { features: Features; errnos: Partial<Record<FeatureName, number>> } | undefined;

function probe(): NonNullable<typeof probed> {
  const result: Record<FeatureName, boolean> = {
    open: false, spawnPidfd: false, waitid: false, thread: false, signalScope: false,
    info: false, exitInfo: false, getfd: false, mrelease: false, inode: false,
  };
  const errnos: Partial<Record<FeatureName, number>> = {};
  const check = (name: FeatureName, r: number, ok: (r: number) => boolean) => {
    result[name] = ok(r);
    if (!result[name]) errnos[name] = r < 0 ? r : -ENOSYS;
  };

  const fd = native.open(process.pid, 0);
  check('open', fd, (r) => r >= 0);
  // A child that cannot exec (no candidate paths): spawn() settles which clone method works.
  const out = new Int32Array(3);
  check('spawnPidfd', native.spawn([], ['pidfd-probe'], [], null, new Int32Array(0), false, -1, -1, out, 0, -1, 0), (r) =>
    r === -ENOENT && native.spawnMethod() !== 2,
  );
  if (fd >= 0) {
    check('waitid', native.waitid(fd, WEXITED | WNOHANG), (r) => r === -ECHILD || r === 0);
    const thread = native.open(process.pid, PIDFD_THREAD);
    check('thread', thread, (r) => r >= 0);
    if (thread >= 0) native.close(thread);
    check('signalScope', native.sendSignal(fd, 0, PIDFD_SIGNAL_THREAD_GROUP), (r) => r === 0);
    check('info', native.getInfo(fd, PIDFD_INFO_PID, new Uint8Array(72)), (r) => r === 0);
    if (result.info) check('exitInfo', native.probeExitRecord(), (r) => r === 1);
    else errnos.exitInfo = errnos.info;
    const copy = native.getfd(fd, fd);
    check('getfd', copy, (r) => r >= 0);
    if (copy >= 0) native.close(copy);
    check('mrelease', native.mrelease(fd), (r) => r === -EINVAL); // EINVAL: we are not dying
    const stat = new Float64Array(2);
    check('inode', native.stat(fd, stat), (r) => r === 0 && stat[1] === PID_FS_MAGIC);
    native.close(fd);
  } else {
    for (const name of Object.keys(result) as FeatureName[]) if (name !== 'open' && name !== 'spawnPidfd') errnos[name] = fd;
  }
  return { features: Object.freeze(result), errnos };
}

function probeOnce(): NonNullable<typeof probed> {
  return (probed ??= probe());
}

/** console.log() and util.inspect() show the values, not a [Getter] per field. */
function inspectable<T extends object>(object: T): T {
  return Object.defineProperty(object, util.inspect.custom, { value: function (this: T) { return { ...this }; } });
}

/** A frozen object of booleans; the probe runs on the first property read. */
export const features: Features & TreeMethodFeature = Object.freeze(
  Object.defineProperties(
    inspectable(Object.defineProperties(
      {},
      Object.fromEntries(
        (Object.keys(needs) as FeatureName[]).map((name) => [
          name,
          { enumerable: true, get: () => probeOnce().features[name] },
        ]),
      ),
    )),
    treeMethodProperty(),
  ),
) as Features & TreeMethodFeature;

export function hasFeature(name: FeatureName): boolean {
  return probeOnce().features[name];
}

/** The error for using a feature this kernel or sandbox lacks: code is the errno it gave. */
export function featureError(name: FeatureName, errno = probeOnce().errnos[name] ?? -ENOSYS): SystemError & { feature: FeatureName } {
  const code = errnoName(errno);
  const err = new Error(`${needs[name]} is not available here: the kernel or a seccomp filter answered ${code}`);
  return Object.assign(err, { code, errno, syscall: syscalls[name] ?? name, feature: name });
}
