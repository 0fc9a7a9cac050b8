/* The keeper's life once a tree's root runs, in raw syscalls only: no libc call, no errno,
 * no allocation, no TLS. Shared by the pidfd-keeper program (src/keeper_program.c, the
 * keeper's own process image) and src/keeper.cc, which runs it in place where that program
 * cannot be executed. C, so that program needs no C++ runtime. */
#ifndef PIDFD_KEEPER_LOOP_H
#define PIDFD_KEEPER_LOOP_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "wait_status.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#if defined(__has_attribute)
#if __has_attribute(no_stack_protector)
#define KEEPER_NO_STACK_PROTECTOR no_stack_protector,
#endif
#endif
#ifndef KEEPER_NO_STACK_PROTECTOR
#define KEEPER_NO_STACK_PROTECTOR
#endif
/* No sanitizer or stack protector: they need the supervisor's TLS and runtime. */
#define KEEPER_CODE \
  static __attribute__((no_sanitize("address", "undefined"), KEEPER_NO_STACK_PROTECTOR noinline, unused))

/* What the keeper writes on its report pipe: one record per write (atomic, < PIPE_BUF). */
struct keeper_record {
  int32_t kind; /* KEEPER_STARTED... */
  int32_t a;    /* started: the root's pid; failed: errno; root exited: its wait status */
  int32_t b;    /* started: 1 if the keeper runs the pidfd-keeper program; failed: the stage */
  int32_t spare;
};
enum { KEEPER_STARTED = 1, KEEPER_FAILED = 2, KEEPER_ROOT_EXITED = 3 };
enum { KEEPER_STAGE = 11 }; /* src/spawn.h kStageKeeper: the keeper failed itself */
/* argv[0] of the pidfd-keeper program: the argument layout it takes. A supervisor that runs on
 * while its package is upgraded may execute a newer program; one that does not speak this
 * layout exits at once, and spawn() fails cleanly (the root is killed: it never ran free). */
#define KEEPER_PROTOCOL "pidfd-keeper/1"

/* A raw syscall returning -errno. */
static inline __attribute__((always_inline)) long keeper_sys(long n, long a, long b, long c, long d, long e) {
#if defined(__x86_64__)
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  long r;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                   : "rcx", "r11", "memory");
  return r;
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
  return x0;
#else
  (void)n, (void)a, (void)b, (void)c, (void)d, (void)e;
  return -ENOSYS;
#endif
}
#define KSYS(n, a, b, c) keeper_sys((n), (long)(a), (long)(b), (long)(c), 0, 0)

KEEPER_CODE void keeper_send(int fd, int32_t kind, int32_t a, int32_t b) {
  struct keeper_record record = {kind, a, b, 0};
  KSYS(SYS_write, fd, &record, sizeof record);
}

KEEPER_CODE __attribute__((noreturn)) void keeper_exit(int code) {
  for (;;) KSYS(SYS_exit, code, 0, 0);
}

/* SIGKILLs each pid listed in /proc/thread-self/children: our own unreaped children, so no
 * pid among them can have been reused. */
KEEPER_CODE void keeper_kill_children(void) {
  long fd = keeper_sys(SYS_openat, AT_FDCWD, (long)"/proc/thread-self/children", O_RDONLY | O_CLOEXEC, 0, 0);
  if (fd < 0) return;
  char buf[512];
  long pid = 0;
  for (;;) {
    long n = KSYS(SYS_read, fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long i = 0; i < n; i++) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        pid = pid * 10 + (buf[i] - '0');
      } else {
        if (pid > 0) KSYS(SYS_kill, pid, SIGKILL, 0);
        pid = 0;
      }
    }
  }
  if (pid > 0) KSYS(SYS_kill, pid, SIGKILL, 0);
  KSYS(SYS_close, fd, 0, 0);
}

/* The supervisor is gone and asked the tree to die with it: cgroup.kill (cgroup trees), then
 * kill our children and reap until none is left (a killed parent's children reparent to us
 * and go next round; a process with SIGKILL pending cannot fork), then rmdir. */
KEEPER_CODE void keeper_kill_tree(int cgroup, int parent, const char* name) {
  if (cgroup >= 0) {
    long fd = keeper_sys(SYS_openat, cgroup, (long)"cgroup.kill", O_WRONLY | O_CLOEXEC, 0, 0);
    if (fd >= 0) {
      KSYS(SYS_write, fd, "1", 1);
      KSYS(SYS_close, fd, 0, 0);
    }
  }
  siginfo_t si;
  for (;;) {
    keeper_kill_children();
    if (keeper_sys(SYS_waitid, P_ALL, 0, (long)&si, WEXITED, 0) == -ECHILD) break;
    do si.si_pid = 0;
    while (keeper_sys(SYS_waitid, P_ALL, 0, (long)&si, WEXITED | WNOHANG, 0) == 0 && si.si_pid != 0);
  }
  if (parent >= 0) KSYS(SYS_unlinkat, parent, name, AT_REMOVEDIR);
}

/* What a keeper holds once the root runs. */
struct keeper_state {
  long root;       /* the root's pid: our child */
  int lifeline;    /* read end; EOF: the supervisor is gone */
  int report;      /* write end: keeper_records */
  int die;         /* kill the tree on lifeline EOF */
  int cgroup;      /* the tree's cgroup directory (die only), or -1 */
  int parent;      /* its parent directory, for the rmdir, or -1 */
  const char* name; /* the cgroup directory's name in parent */
};

/* Reports the start (program: whether we run the pidfd-keeper program), then reaps, reports
 * the root's status and exits once no child is left; on lifeline EOF kills the tree (die) or
 * just keeps reaping. Every signal is blocked: SIGCHLD comes through a signalfd. */
KEEPER_CODE void keeper_run(const struct keeper_state* k, int program) {
  siginfo_t si;
  unsigned long chld = 1UL << (SIGCHLD - 1);
  long signals = keeper_sys(SYS_signalfd4, -1, (long)&chld, 8, O_NONBLOCK | O_CLOEXEC, 0);
  if (signals < 0) {
    KSYS(SYS_kill, k->root, SIGKILL, 0); /* our unreaped child: its pid cannot have been reused */
    keeper_sys(SYS_waitid, P_PID, k->root, (long)&si, WEXITED, 0);
    keeper_send(k->report, KEEPER_FAILED, (int32_t)-signals, KEEPER_STAGE);
    keeper_exit(0);
  }
  keeper_send(k->report, KEEPER_STARTED, (int32_t)k->root, program);
  struct pollfd fds[2];
  fds[0].fd = (int)signals;
  fds[0].events = POLLIN;
  fds[1].fd = k->lifeline;
  fds[1].events = POLLIN;
  for (;;) {
    for (;;) {
      si.si_pid = 0;
      long r = keeper_sys(SYS_waitid, P_ALL, 0, (long)&si, WEXITED | WNOHANG, 0);
      if (r == -ECHILD) keeper_exit(0); /* the tree is empty */
      if (r < 0 || si.si_pid == 0) break;
      if (si.si_pid == k->root) keeper_send(k->report, KEEPER_ROOT_EXITED, pidfd_wait_status(&si), 0);
    }
    fds[0].revents = fds[1].revents = 0;
    if (keeper_sys(SYS_ppoll, (long)fds, 2, 0, 0, 8) < 0) continue;
    if (fds[0].revents != 0) {
      char drain[128 * 4]; /* struct signalfd_siginfo is 128 bytes */
      while (KSYS(SYS_read, signals, drain, sizeof drain) > 0) {
      }
    }
    if (fds[1].revents != 0) {
      char byte;
      long n = KSYS(SYS_read, k->lifeline, &byte, 1);
      if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR)) {
        if (k->die) {
          keeper_kill_tree(k->cgroup, k->parent, k->name);
          keeper_exit(0);
        }
        fds[1].fd = -1; /* nobody listens any more: the tree runs on, we keep reaping */
      }
    }
  }
}

#endif
