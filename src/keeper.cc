// A process tree's keeper: a tiny process per tree, our child, that is PR_SET_CHILD_SUBREAPER
// for that tree alone and the parent of its root. Orphans of the tree reparent to it (never
// to us), so the tree is exactly its descendants; it reaps them, reports the root's wait
// status on a pipe, and exits once it has no child left (the tree's end). It holds the read
// end of a lifeline pipe whose write end only we hold: EOF means we are gone (or our
// environment was torn down), and with dieWithParent it then kills the whole tree.
//
// It shares our memory (CLONE_VM, its own stack, no CLONE_VFORK: we go on) and, until it
// has made the root, our fd table (CLONE_FILES: the root's pidfd lands in our table). From
// then on it has a table of its own and runs on raw syscalls only: no allocation, no libc
// call, no TLS (it has our thread's, which may go away), every signal blocked.
#include "keeper.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstring>

#include "syscalls.h"
#include "watch.h"

extern "C" long pidfd_clone3_vm(void* args, size_t size, int (*fn)(void*), void* arg);  // spawn.cc

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#if defined(__has_attribute) && __has_attribute(no_stack_protector)
#define KEEPER_CODE __attribute__((no_sanitize("address", "undefined"), no_stack_protector, noinline))
#else
#define KEEPER_CODE __attribute__((no_sanitize("address", "undefined"), noinline))
#endif

namespace pidfd {

namespace {

// A raw syscall returning -errno: glibc's syscall() would write errno into our thread's TLS.
__attribute__((always_inline)) inline long Sys(long n, long a = 0, long b = 0, long c = 0, long d = 0,
                                               long e = 0) {
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

struct KeeperSetup {
  ChildSetup* child;
  void* child_stack;
  int cgroup_fd;
  bool die;
  const char* cgroup_name;
  int lifeline;  // read end
  int report;    // write end
  volatile int root_pidfd;  // for us, in our table, once the root runs
  volatile int method;      // the clone method the root was made with
};

KEEPER_CODE void Send(int fd, int32_t kind, int32_t a, int32_t b) {
  KeeperRecord record = {kind, a, b, 0};
  Sys(SYS_write, fd, reinterpret_cast<long>(&record), sizeof record);
}

KEEPER_CODE void Exit(int code) {
  for (;;) Sys(SYS_exit, code);
}

// Closes [lo, hi]; before Linux 5.9 (no close_range) one by one up to RLIMIT_NOFILE.
KEEPER_CODE void CloseRange(unsigned lo, unsigned hi) {
  if (lo > hi) return;
  long r = Sys(SYS_close_range, lo, hi, 0);
  if (r != -ENOSYS && r != -EINVAL) return;
  struct rlimit limit = {1024, 1024};
  Sys(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, reinterpret_cast<long>(&limit));
  const unsigned long end = limit.rlim_cur < hi ? limit.rlim_cur : static_cast<unsigned long>(hi) + 1;
  for (unsigned long fd = lo; fd < end; fd++) Sys(SYS_close, static_cast<long>(fd));
}

// Closes every fd but keep[0..n) (-1 entries ignored).
KEEPER_CODE void CloseAllBut(int* keep, int n) {
  for (int i = 1; i < n; i++) {  // insertion sort: four entries
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  }
  unsigned lo = 0;
  for (int i = 0; i < n; i++) {
    if (keep[i] < 0) continue;
    if (static_cast<unsigned>(keep[i]) > lo) CloseRange(lo, keep[i] - 1);
    lo = keep[i] + 1;
  }
  CloseRange(lo, ~0U);
}

// SIGKILLs each pid listed in /proc/thread-self/children: our own unreaped children, so
// no pid among them can have been reused.
KEEPER_CODE void KillChildren() {
  long fd = Sys(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/proc/thread-self/children"), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[512];
  long pid = 0;
  for (;;) {
    long n = Sys(SYS_read, fd, reinterpret_cast<long>(buf), sizeof buf);
    if (n <= 0) break;
    for (long i = 0; i < n; i++) {
      if (buf[i] >= '0' && buf[i] <= '9') {
        pid = pid * 10 + (buf[i] - '0');
      } else {
        if (pid > 0) Sys(SYS_kill, pid, SIGKILL);
        pid = 0;
      }
    }
  }
  if (pid > 0) Sys(SYS_kill, pid, SIGKILL);
  Sys(SYS_close, fd);
}

// The supervisor is gone and asked the tree to die with it: cgroup.kill (cgroup trees),
// then kill our children and reap until none is left (a killed parent's children reparent
// to us and go next round; a process with SIGKILL pending cannot fork), then rmdir.
KEEPER_CODE void KillTree(int cgroup, int parent, const char* name) {
  if (cgroup >= 0) {
    long fd = Sys(SYS_openat, cgroup, reinterpret_cast<long>("cgroup.kill"), O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      Sys(SYS_write, fd, reinterpret_cast<long>("1"), 1);
      Sys(SYS_close, fd);
    }
  }
  siginfo_t si;
  for (;;) {
    KillChildren();
    if (Sys(SYS_waitid, P_ALL, 0, reinterpret_cast<long>(&si), WEXITED, 0) == -ECHILD) break;
    do si.si_pid = 0;
    while (Sys(SYS_waitid, P_ALL, 0, reinterpret_cast<long>(&si), WEXITED | WNOHANG, 0) == 0 && si.si_pid != 0);
  }
  if (parent >= 0) Sys(SYS_unlinkat, parent, reinterpret_cast<long>(name), AT_REMOVEDIR);
}

// The keeper's life once the root runs: reap, report the root's status, and exit when no
// child is left; on lifeline EOF kill the tree (die) or just keep reaping.
KEEPER_CODE void Keep(long root, int lifeline, int report, int signals, bool die, int cgroup, int parent,
                      const char* name) {
  struct pollfd fds[2] = {{signals, POLLIN, 0}, {lifeline, POLLIN, 0}};
  for (;;) {
    siginfo_t si;
    for (;;) {
      si.si_pid = 0;
      long r = Sys(SYS_waitid, P_ALL, 0, reinterpret_cast<long>(&si), WEXITED | WNOHANG, 0);
      if (r == -ECHILD) Exit(0);  // the tree is empty
      if (r < 0 || si.si_pid == 0) break;
      if (si.si_pid == root) Send(report, kRecordRootExited, wait_status(si), 0);
    }
    if (Sys(SYS_ppoll, reinterpret_cast<long>(fds), 2, 0, 0, 8) < 0) continue;
    if (fds[0].revents != 0) {
      char drain[128 * 4];  // struct signalfd_siginfo is 128 bytes
      while (Sys(SYS_read, signals, reinterpret_cast<long>(drain), sizeof drain) > 0) {
      }
    }
    if (fds[1].revents != 0) {
      char byte;
      long n = Sys(SYS_read, lifeline, reinterpret_cast<long>(&byte), 1);
      if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR)) {
        if (die) {
          KillTree(cgroup, parent, name);
          Exit(0);
        }
        fds[1].fd = -1;  // nobody listens any more: the tree runs on, we keep reaping
      }
    }
  }
}

// The keeper's entry, on its own stack, in our memory and (until unshare) our fd table.
// We stay blocked on the report pipe until its first record.
KEEPER_CODE int KeeperMain(void* arg) {
  KeeperSetup* k = static_cast<KeeperSetup*>(arg);
  const int lifeline = k->lifeline, report = k->report;
  const bool die = k->die;
  char name[256];
  size_t len = 0;
  for (const char* p = k->cgroup_name; p != nullptr && *p != '\0' && len < sizeof name - 1; p++) name[len++] = *p;
  name[len] = '\0';

  Sys(SYS_prctl, PR_SET_NAME, reinterpret_cast<long>("pidfd-keeper"));
  long r = Sys(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1);
  if (r < 0) {
    Send(report, kRecordFailed, static_cast<int32_t>(-r), kStageKeeper);
    Exit(0);
  }
  k->child->parent = Sys(SYS_getpid);  // the root's death-signal check: its parent is us
  int pidfd = -1, method = -1;
  const int clone_cgroup = k->child->join_cgroup_fd >= 0 ? -1 : k->cgroup_fd;  // else the root joins itself
  long pid = StartChild(k->child, k->child_stack, &pidfd, clone_cgroup, &method);
  k->method = method;
  siginfo_t si;
  if (pid < 0) {
    Send(report, kRecordFailed, static_cast<int32_t>(-pid), clone_cgroup >= 0 ? kStageCgroup : kStageClone);
    Exit(0);
  }
  if (k->child->err != 0) {  // it has exited (or was killed): reap it, close its pidfd in our shared table
    Sys(SYS_waitid, P_PID, pid, reinterpret_cast<long>(&si), WEXITED, 0);
    if (pidfd >= 0) Sys(SYS_close, pidfd);
    Send(report, kRecordFailed, k->child->err, k->child->stage);
    Exit(0);
  }
  k->root_pidfd = pidfd;

  // A table of our own, holding only what we use: the root's stdio ends and everything else
  // of the supervisor's must not stay open in us.
  r = Sys(SYS_unshare, CLONE_FILES);
  int parent = -1;
  if (r == 0 && die && k->cgroup_fd >= 0) {
    parent = static_cast<int>(Sys(SYS_openat, k->cgroup_fd, reinterpret_cast<long>(".."), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  const int cgroup = die ? k->cgroup_fd : -1;
  long signals = -1;
  if (r == 0) {
    int keep[4] = {lifeline, report, cgroup, parent};
    CloseAllBut(keep, 4);
    unsigned long chld = 1UL << (SIGCHLD - 1);
    signals = Sys(SYS_signalfd4, -1, reinterpret_cast<long>(&chld), 8, O_NONBLOCK | O_CLOEXEC);
  }
  if (r < 0 || signals < 0) {
    Sys(SYS_kill, pid, SIGKILL);  // our unreaped child: its pid cannot have been reused
    Sys(SYS_waitid, P_PID, pid, reinterpret_cast<long>(&si), WEXITED, 0);
    Send(report, kRecordFailed, static_cast<int32_t>(r < 0 ? -r : -signals), kStageKeeper);
    Exit(0);
  }
  Send(report, kRecordStarted, static_cast<int32_t>(pid), 0);
  Keep(pid, lifeline, report, static_cast<int>(signals), die, cgroup, parent, name);
  return 0;
}

size_t PageSize() {
  long page = sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<size_t>(page) : 4096;
}

}  // namespace

long SpawnWithKeeper(Env* state, const KeeperRequest& request, int32_t* out) {
  out[2] = kStageKeeper;
  int lifeline[2], report[2];
  if (syscall(SYS_pipe2, lifeline, O_CLOEXEC) < 0) return -errno;
  if (syscall(SYS_pipe2, report, O_CLOEXEC) < 0) {
    long r = -errno;
    sys_close(lifeline[0]);
    sys_close(lifeline[1]);
    return r;
  }
  auto close_pipes = [&]() {
    for (int fd : {lifeline[0], lifeline[1], report[0], report[1]}) {
      if (fd >= 0) sys_close(fd);
    }
  };
  // Its own stack, with a guard page below: it outlives this call (unmapped once reaped).
  const size_t size = kStackSize + PageSize();
  void* stack = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    long r = -errno;
    close_pipes();
    return r;
  }
  mprotect(stack, PageSize(), PROT_NONE);

  KeeperSetup k;
  k.child = request.child;
  k.child_stack = request.child_stack;
  k.cgroup_fd = request.cgroup_fd;
  k.die = (request.flags & kKeeperDie) != 0;
  k.cgroup_name = request.cgroup_name;
  k.lifeline = lifeline[0];
  k.report = report[1];
  k.root_pidfd = -1;
  k.method = -1;

  CloneArgs args;
  memset(&args, 0, sizeof args);
  int keeper_pidfd = -1;
  args.flags = CLONE_VM | CLONE_FILES | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&keeper_pidfd);
  args.exit_signal = SIGCHLD;
  args.stack = reinterpret_cast<uint64_t>(stack);
  args.stack_size = size;

  unsigned long all = ~0UL, saved = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &saved, 8);
  long keeper = pidfd_clone3_vm(&args, kCloneArgsSizeVer0, KeeperMain, &k);
  if (ShouldFallBack(keeper)) {  // seccomp refusing clone3: glibc's clone() runs it on the stack
    keeper = clone(KeeperMain, static_cast<char*>(stack) + size, CLONE_VM | CLONE_FILES | CLONE_PIDFD | SIGCHLD, &k,
                   &keeper_pidfd);
    if (keeper < 0) keeper = -errno;
  }
  KeeperRecord record;
  bool got = false;
  if (keeper > 0) {
    // Its first record, after it unshared our table (or failed): until then our copies of
    // its pipe ends are its own. Its exit without one is a failure too.
    for (;;) {
      struct pollfd fds[2] = {{report[0], POLLIN, 0}, {keeper_pidfd, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[0].revents != 0) {
        got = syscall(SYS_read, report[0], &record, sizeof record) == sizeof record;
        break;
      }
      if (fds[1].revents != 0) break;
    }
  }
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &saved, nullptr, 8);
  if (keeper < 0) {
    close_pipes();
    munmap(stack, size);
    return keeper;
  }
  sys_close(lifeline[0]);
  sys_close(report[1]);
  lifeline[0] = report[1] = -1;
  const int root_pidfd = k.root_pidfd;
  if (!got || record.kind != kRecordStarted) {
    if (root_pidfd >= 0) {  // it died after the root started: take the root down too
      sys_pidfd_send_signal(root_pidfd, SIGKILL, 0);
      sys_close(root_pidfd);
    }
    close_pipes();
    TakeBack(keeper, keeper_pidfd, !got);
    munmap(stack, size);
    if (got) out[2] = record.b;
    return got ? -record.a : -ECHILD;
  }

  // The keeper's exit is the tree's end; it owns the lifeline and the stack from here on.
  int r = Watch::Start(state, keeper_pidfd, request.keeper_watch, kModeReap, (request.flags & kKeeperUnref) == 0, 0,
                       static_cast<int32_t>(keeper));
  if (r != 0) {
    sys_pidfd_send_signal(root_pidfd, SIGKILL, 0);
    sys_close(root_pidfd);
    close_pipes();  // the lifeline: a dying keeper kills the tree
    TakeBack(keeper, keeper_pidfd, true);
    munmap(stack, size);
    return r;
  }
  Watch* w = state->watches[request.keeper_watch];
  w->extra_fd = lifeline[1];
  w->stack = stack;
  w->stack_size = size;
  // The root's status comes on the report pipe; its watch owns the root's pidfd too. A
  // readiness that finds no record must not block the loop.
  syscall(SYS_fcntl, report[0], F_SETFL, O_NONBLOCK);  // fcntl() would link fcntl64@GLIBC_2.28
  r = Watch::Start(state, report[0], request.root_watch, kModeReport, true, 0, record.a);
  if (r != 0) {
    sys_pidfd_send_signal(root_pidfd, SIGKILL, 0);  // the keeper reaps it and exits
    sys_close(root_pidfd);
    sys_close(report[0]);
    return r;
  }
  state->watches[request.root_watch]->extra_fd = root_pidfd;
  out[0] = record.a;
  out[1] = root_pidfd;
  out[2] = k.method >= 0 ? k.method : kMethodClone3;
  out[3] = static_cast<int32_t>(keeper);
  return 0;
}

}  // namespace pidfd
