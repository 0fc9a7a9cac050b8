// The first mainline kernel that gives each of pidfd.features, from the kernel's own history
// (the commits that added each syscall, flag and ioctl; see the README's feature table).
// Each entry is what a stock kernel of that version or newer must report, and older ones must not.
export const history = {
  open: '5.3', // pidfd_open(2)
  spawnPidfd: '5.2', // clone(CLONE_PIDFD); clone3 is 5.3
  waitid: '5.4', // waitid(P_PIDFD)
  getfd: '5.6', // pidfd_getfd(2)
  mrelease: '5.15', // process_mrelease(2)
  thread: '6.9', // PIDFD_THREAD
  signalScope: '6.9', // PIDFD_SIGNAL_THREAD / _THREAD_GROUP / _PROCESS_GROUP
  inode: '6.9', // pidfs
  info: '6.13', // PIDFD_GET_INFO
  exitInfo: '6.15', // PIDFD_INFO_EXIT
};

/** [major, minor] of a version string such as '6.12.117+deb13-amd64' or '5.10'. */
export function parseVersion(release) {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) throw new Error(`cannot parse the kernel version ${release}`);
  return [Number(m[1]), Number(m[2])];
}

/** True when kernel release `running` is `version` or newer. */
export function atLeast(running, version) {
  const [a, b] = parseVersion(running);
  const [c, d] = parseVersion(version);
  return a > c || (a === c && b >= d);
}
