// Raw Linux syscalls used by the addon: the only place their numbers and flags live.
// Everything goes through syscall(2) so the binary links no glibc symbol newer than
// its floor (glibc's own pidfd_open wrapper needs GLIBC_2.36, fcntl64 and fstat 2.28+).
#pragma once

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wait_status.h"

// Same numbers on x86_64 and arm64 (the generic table).
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_process_mrelease
#define SYS_process_mrelease 448
#endif

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef PR_SET_CHILD_SUBREAPER
#define PR_SET_CHILD_SUBREAPER 36
#define PR_GET_CHILD_SUBREAPER 37
#endif

// PIDFD_GET_INFO = _IOWR(0xFF, 11, struct pidfd_info); the kernel matches type and number
// whatever size the caller encodes, so we always pass our 72-byte layout.
#define PIDFD_INFO_SIZE 72
#define PIDFD_GET_INFO_IOCTL (0xC0000000u | (PIDFD_INFO_SIZE << 16) | (0xFFu << 8) | 11u)

namespace pidfd {

// Each wrapper returns the result or -errno, never touching errno for the caller.
inline long ret(long r) { return r < 0 ? -errno : r; }

inline long sys_pidfd_open(long pid, long flags) {
  return ret(syscall(SYS_pidfd_open, pid, flags));
}
inline long sys_pidfd_send_signal(long fd, long sig, long flags) {
  return ret(syscall(SYS_pidfd_send_signal, fd, sig, nullptr, flags));
}
inline long sys_pidfd_getfd(long fd, long target) {
  return ret(syscall(SYS_pidfd_getfd, fd, target, 0));
}
inline long sys_process_mrelease(long fd) { return ret(syscall(SYS_process_mrelease, fd, 0)); }
inline long sys_close(long fd) { return ret(syscall(SYS_close, fd)); }

// What a zero-timeout poll says of a pidfd: 0 while the thread group runs, 1 once it has
// exited, 2 once it has also been reaped (POLLHUP, Linux 6.9+), or -errno.
inline long pidfd_state(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  long r;
  do r = ret(poll(&p, 1, 0));
  while (r == -EINTR);  // even a zero-timeout poll says EINTR when a signal is pending
  if (r <= 0) return r;
  return (p.revents & POLLNVAL) ? -EBADF : (p.revents & POLLHUP) ? 2 : 1;
}

// waitid(P_PIDFD) through the raw syscall: the fifth argument (rusage) is Linux-only.
inline long sys_waitid_pidfd(long fd, siginfo_t* info, long options) {
  return ret(syscall(SYS_waitid, P_PIDFD, fd, info, options, nullptr));
}

// Waits for our own child: through its pidfd, or by pid where there is none or waitid has
// no P_PIDFD (Linux 5.3 answers EINVAL). By pid is safe here: an unreaped child's pid cannot be reused.
inline long sys_wait_child(long fd, long pid, siginfo_t* info, long options) {
  long r = -EINVAL;
  while (fd >= 0 && (r = sys_waitid_pidfd(fd, info, options)) == -EINTR) {
  }
  if (r == -EINVAL && pid > 0) {
    do r = ret(syscall(SYS_waitid, P_PID, pid, info, options, nullptr));
    while (r == -EINTR);
  }
  return r;
}

}  // namespace pidfd
