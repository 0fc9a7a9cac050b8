// The raw binding (src/addon.cc). Every function returns a number: a result, or a
// negative errno that lib/errors.ts turns into an Error. No policy lives on that side.
export interface Native {
  /** pidfd_open(pid, flags) → fd | -errno */
  open(pid: number, flags: number): number;
  /**
   * pidfd_send_signal(fd, signal, NULL, flags) → 0 | -errno. With ifRunning it first polls
   * the pidfd and returns 1, sending nothing, when the thread group has already exited.
   */
  sendSignal(fd: number, signal: number, flags: number, ifRunning?: boolean): number;
  /** pidfd_getfd(fd, target, 0) → a new close-on-exec fd | -errno */
  getfd(fd: number, target: number): number;
  /** process_mrelease(fd, 0) → 0 | -errno */
  mrelease(fd: number): number;
  /** waitid(P_PIDFD, fd, options) → 0 | -errno (the status is not returned) */
  waitid(fd: number, options: number): number;
  /** ioctl(fd, PIDFD_GET_INFO) with mask; out receives struct pidfd_info (72 bytes) → 0 | -errno */
  getInfo(fd: number, mask: number, out: Uint8Array): number;
  /** fstat + fstatfs: out = [st_ino, filesystem magic] → 0 | -errno */
  stat(fd: number, out: Float64Array): number;
  /** 1 when the kernel keeps exit records (PIDFD_INFO_EXIT), 0 when not, or -errno */
  probeExitRecord(): number;
  /** close(fd) → 0 | -errno */
  close(fd: number): number;
  /** poll(fd, POLLIN, 0) → 0 while the thread group runs, 1 once exited, 2 once also reaped (6.9+), or -errno */
  readable(fd: number): number;
  /** socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC) into out[0..1] → 0 | -errno */
  socketpair(out: Int32Array): number;
  /**
   * Starts a child with a pidfd (envp null: our own environ), watched under watchId from
   * birth so that it is always reaped. → 0 with out = [pid, pidfd, method, keeperPid], or
   * -errno with out[2] = the failing stage (src/spawn.h). With keeperFlags (src/keeper.h:
   * 1 keeper, 2 kill the tree on lifeline EOF, 4 unref) the child's parent is a new tree
   * keeper, whose exit (the tree's end) is watched under keeperWatchId; the child's status
   * then comes from the keeper under watchId.
   */
  spawn(
    paths: string[],
    argv: string[],
    envp: string[] | null,
    cwd: string | null,
    stdio: Int32Array,
    setsid: boolean,
    uid: number,
    gid: number,
    out: Int32Array,
    watchId: number,
    /** -1 for none. cgroupFd: see trees. */
    cgroupFd: number,
    /** PR_SET_PDEATHSIG in the child before exec; 0 for none. */
    deathSignal: number,
    keeperFlags?: number,
    keeperWatchId?: number,
    /** The tree cgroup's name in its parent directory (the keeper removes it on lifeline EOF). */
    cgroupName?: string,
    /** The child writes itself into cgroupFd's cgroup.procs before exec, instead of CLONE_INTO_CGROUP. */
    joinCgroup?: boolean,
  ): number;
  /** Which clone method spawn() uses now: 0 clone3, 1 clone(CLONE_PIDFD), 2 fork + pidfd_open */
  spawnMethod(): number;
  /**
   * Watches fd on this environment's loop; on success the watcher owns fd. mode: 0 report
   * the exit, 1 reap our child (waitid), 2 wait up to recordWaitMs for the reap and read the
   * kernel's exit record. → 0 | -errno
   */
  watch(fd: number, id: number, mode: number, ref: boolean, recordWaitMs: number, pid: number): number;
  /** Lets go of a watch and its fd (an unreaped child of ours is reaped first). */
  unwatch(id: number): void;
  refWatch(id: number, ref: boolean): void;
  /** How many watches keep the event loop alive now (for tests). */
  pendingWatches(): number;
  /**
   * Sets the exit callback; returns the Int32Array it reads. Each call means: the first
   * `count` [id, waitStatus (-1 unknown), -errno or 0] triples of that array are new events
   * (one or more calls per loop turn; the array is overwritten after the callback returns).
   * The first call chooses how exits reach JS: thread (an epoll thread and a threadsafe
   * function) or libuv (src/loop.h).
   */
  setExitCallback(callback: (count: number) => void, thread: boolean): Int32Array;
  /** The delivery path chosen by the first setExitCallback: 'uv', 'thread', or '' before. */
  delivery(): string;

  // Process trees (src/cgroup.cc, src/keeper.cc, src/subreaper.cc). spawn()'s cgroupFd is a directory fd
  // from openCgroupFile: the child starts in that cgroup (clone3 CLONE_INTO_CGROUP, Linux
  // 5.7); when that fails nothing is started and out[2] is 10 (the stage).
  /** open(path, O_RDONLY|O_CLOEXEC, |O_DIRECTORY when directory) → fd | -errno */
  openCgroupFile(path: string, directory: boolean): number;
  /**
   * Watches a cgroup.events fd (POLLPRI); once "populated 0" the directory dir (and any empty
   * cgroups below it) is removed and [id, -1, 0 or -errno of the rmdir] delivered. The
   * watcher owns the fd on success. → 0 | -errno
   */
  watchCgroup(eventsFd: number, id: number, ref: boolean, dir: string): number;
  /** mkdir(dir, 0755) whatever the umask, remembered until watched or removed (a terminated worker's go to the reaper thread) → 0 | -errno */
  createCgroup(dir: string): number;
  /** Removes a tree directory that never got a process (and cgroups below it) → 0 | -errno */
  removeCgroup(dir: string): number;
  /** cgroup.events now: 1 populated | 2 frozen, or -errno */
  cgroupEvents(eventsFd: number): number;
  /** Blocks until (cgroupEvents & mask) === want: 1, or 0 after timeoutMs, or -errno */
  awaitCgroupEvents(eventsFd: number, mask: number, want: number, timeoutMs: number): number;
  /** prctl(PR_GET_CHILD_SUBREAPER) → 1 | 0 | -errno */
  childSubreaper(): number;
}
