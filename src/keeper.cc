// A process tree's keeper: a tiny process per tree, our child, that is PR_SET_CHILD_SUBREAPER
// for that tree alone and the parent of its root. Orphans of the tree reparent to it (never
// to us), so the tree is exactly its descendants; it reaps them, reports the root's wait
// status on a pipe, and exits once it has no child left (the tree's end). It holds the read
// end of a lifeline pipe whose write end only we hold: EOF means we are gone (or our
// environment was torn down), and with dieWithParent it then kills the whole tree.
//
// It starts in our memory (CLONE_VM, its own stack, no CLONE_VFORK: we go on) and, until it
// has made the root, our fd table (CLONE_FILES: the root's pidfd lands in our table). Then it
// takes a table of its own and executes the pidfd-keeper program (src/keeper_program.c)
// beside our .node file, for a memory of its own: the OOM killer kills every process that
// shares the victim's memory, and an OOM-killed supervisor must not take its keepers along.
// Where that program cannot run (missing, noexec, seccomp) it runs the same loop in place
// (src/keeper_loop.h). Either way: raw syscalls only, no allocation, no libc call, no TLS
// (it has our thread's, which may go away), every signal blocked.
#include "keeper.h"

#include <link.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstring>
#include <string>

#include "keeper_loop.h"
#include "syscalls.h"
#include "watch.h"

extern "C" long pidfd_clone3_vm(void* args, size_t size, int (*fn)(void*), void* arg);  // spawn.cc

namespace pidfd {

static_assert(static_cast<int>(KEEPER_STAGE) == static_cast<int>(kStageKeeper), "src/keeper_loop.h KEEPER_STAGE");

namespace {

__attribute__((always_inline)) inline long Sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) {
  return keeper_sys(n, a, b, c, d, e);
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

// Decimal, into buf (12 bytes).
KEEPER_CODE char* Decimal(long n, char* buf) {
  char* p = buf + 11;
  *p = '\0';
  const bool negative = n < 0;
  unsigned long u = negative ? -static_cast<unsigned long>(n) : static_cast<unsigned long>(n);
  do *--p = static_cast<char>('0' + u % 10);
  while ((u /= 10) != 0);
  if (negative) *--p = '-';
  return p;
}

// Executes the pidfd-keeper program with what k holds, its fds made inheritable; returns
// only if the exec failed (the fds are then closed on exec again: nothing else will exec).
KEEPER_CODE void ExecProgram(const char* path, const keeper_state* k) {
  const int fds[4] = {k->lifeline, k->report, k->cgroup, k->parent};
  for (int fd : fds) {
    if (fd >= 0) Sys(SYS_fcntl, fd, F_SETFD, 0);
  }
  char numbers[6][12];
  const long values[6] = {k->root, k->lifeline, k->report, k->die, k->cgroup, k->parent};
  const char* argv[9] = {KEEPER_PROTOCOL};
  for (int i = 0; i < 6; i++) argv[i + 1] = Decimal(values[i], numbers[i]);
  argv[7] = k->name;
  argv[8] = nullptr;
  const char* envp[1] = {nullptr};
  Sys(SYS_execve, reinterpret_cast<long>(path), reinterpret_cast<long>(argv), reinterpret_cast<long>(envp));
  for (int fd : fds) {
    if (fd >= 0) Sys(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
  }
}

// The pidfd-keeper program beside the .node file this code was loaded from. dl_iterate_phdr,
// not dladdr: glibc 2.34 moved dladdr into libc under a new symbol version (our floor is 2.17).
const std::string& ProgramPath() {
  static const std::string path = []() {
    std::string file;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
          const auto self = reinterpret_cast<ElfW(Addr)>(&ProgramPath);
          for (int i = 0; i < info->dlpi_phnum; i++) {
            const ElfW(Phdr)& ph = info->dlpi_phdr[i];
            const ElfW(Addr) start = info->dlpi_addr + ph.p_vaddr;
            if (ph.p_type == PT_LOAD && self >= start && self < start + ph.p_memsz && info->dlpi_name != nullptr) {
              *static_cast<std::string*>(data) = info->dlpi_name;
              return 1;
            }
          }
          return 0;
        },
        &file);
    const size_t slash = file.rfind('/');
    return slash == std::string::npos ? std::string() : file.substr(0, slash) + "/pidfd-keeper";
  }();
  return path;
}

struct KeeperSetup {
  ChildSetup* child;
  void* child_stack;
  int cgroup_fd;
  bool die;
  const char* cgroup_name;
  const char* program;  // the pidfd-keeper program's path, or ""
  int lifeline;  // read end
  int report;    // write end
  volatile int root_pidfd;  // for us, in our table, once the root runs
  volatile int method;      // the clone method the root was made with
};

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
    keeper_send(report, KEEPER_FAILED, static_cast<int32_t>(-r), kStageKeeper);
    keeper_exit(0);
  }
  k->child->parent = Sys(SYS_getpid);  // the root's death-signal check: its parent is us
  int pidfd = -1, method = -1;
  const int clone_cgroup = k->child->join_cgroup_fd >= 0 ? -1 : k->cgroup_fd;  // else the root joins itself
  long pid = StartChild(k->child, k->child_stack, &pidfd, clone_cgroup, &method);
  k->method = method;
  siginfo_t si;
  if (pid < 0) {
    keeper_send(report, KEEPER_FAILED, static_cast<int32_t>(-pid), clone_cgroup >= 0 ? kStageCgroup : kStageClone);
    keeper_exit(0);
  }
  if (k->child->err != 0) {  // it has exited (or was killed): reap it, close its pidfd in our shared table
    Sys(SYS_waitid, P_PID, pid, reinterpret_cast<long>(&si), WEXITED, 0);
    if (pidfd >= 0) Sys(SYS_close, pidfd);
    keeper_send(report, KEEPER_FAILED, k->child->err, k->child->stage);
    keeper_exit(0);
  }
  k->root_pidfd = pidfd;

  // A table of our own, holding only what we use: the root's stdio ends and everything else
  // of the supervisor's must not stay open in us.
  r = Sys(SYS_unshare, CLONE_FILES);
  if (r < 0) {
    Sys(SYS_kill, pid, SIGKILL);  // our unreaped child: its pid cannot have been reused
    Sys(SYS_waitid, P_PID, pid, reinterpret_cast<long>(&si), WEXITED, 0);
    keeper_send(report, KEEPER_FAILED, static_cast<int32_t>(-r), kStageKeeper);
    keeper_exit(0);
  }
  keeper_state state = {pid, lifeline, report, die, -1, -1, name};
  if (die && k->cgroup_fd >= 0) {
    state.cgroup = k->cgroup_fd;
    state.parent = static_cast<int>(
        Sys(SYS_openat, k->cgroup_fd, reinterpret_cast<long>(".."), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  int keep[4] = {lifeline, report, state.cgroup, state.parent};
  CloseAllBut(keep, 4);
  if (k->program[0] != '\0') ExecProgram(k->program, &state);
  keeper_run(&state, 0);
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
  k.program = ProgramPath().c_str();
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
  keeper_record record;
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
  if (!got || record.kind != KEEPER_STARTED) {
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

  // The keeper's exit is the tree's end; it owns the lifeline (and the stack, if it runs in
  // place) from here on.
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
  if (record.b == 1) {  // it runs the pidfd-keeper program: our memory is no longer its
    munmap(stack, size);
  } else {
    w->stack = stack;
    w->stack_size = size;
  }
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
