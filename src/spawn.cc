// Process creation with a pidfd from the child's first instant, the way glibc's
// posix_spawn does it: CLONE_VM|CLONE_VFORK on a stack of its own (no page-table copy, so
// cost does not grow with the JS heap), every signal blocked around the clone, and a child
// that makes only raw syscalls until execve. Fallbacks, cached once one works:
//   1. clone3(CLONE_PIDFD)            Linux 5.3+
//   2. clone(CLONE_PIDFD)             Linux 5.2+, or where seccomp refuses clone3
//   3. fork-style clone + pidfd_open  qemu-user (no CLONE_PIDFD, no CLONE_VM processes);
//      race-free because nobody else reaps a child we have not waited for.
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "env.h"
#include "keeper.h"
#include "spawn.h"
#include "watch.h"
#include "syscalls.h"

// clone3 with CLONE_VM needs the child to start on its new stack, which only assembly can
// do: the child calls fn(arg) and exits with its result; the parent returns the raw result.
extern "C" long pidfd_clone3_vm(void* args, size_t size, int (*fn)(void*), void* arg);
#if defined(__x86_64__)
asm(R"(
  .text
  .p2align 4
  .globl pidfd_clone3_vm
  .hidden pidfd_clone3_vm
  .type pidfd_clone3_vm, @function
pidfd_clone3_vm:
  mov %rdx, %r8
  mov %rcx, %r9
  mov $435, %eax
  syscall
  test %rax, %rax
  jz 1f
  ret
1:
  xor %ebp, %ebp
  mov %r9, %rdi
  call *%r8
  mov %eax, %edi
  mov $60, %eax
  syscall
  hlt
  .size pidfd_clone3_vm, .-pidfd_clone3_vm
)");
#elif defined(__aarch64__)
asm(R"(
  .text
  .p2align 2
  .globl pidfd_clone3_vm
  .hidden pidfd_clone3_vm
  .type pidfd_clone3_vm, %function
pidfd_clone3_vm:
  mov x10, x2
  mov x11, x3
  mov x8, #435
  svc #0
  cbz x0, 1f
  ret
1:
  mov x29, #0
  mov x30, #0
  mov x0, x11
  blr x10
  mov x8, #93
  svc #0
  brk #0
  .size pidfd_clone3_vm, .-pidfd_clone3_vm
)");
#else
extern "C" long pidfd_clone3_vm(void*, size_t, int (*)(void*), void*) { return -ENOSYS; }
#endif

namespace pidfd {

namespace {


// The child: raw syscalls only. With CLONE_VM it shares our memory (and errno), and the
// parent stays suspended until execve succeeds or the child exits.
__attribute__((no_sanitize("address", "undefined"))) int ChildMain(void* arg) {
  ChildSetup* c = static_cast<ChildSetup*>(arg);
  int stage = kStageNone;
  long r = 0;

  // Default dispositions: no parent handler may run in this child, and the program starts
  // with SIGPIPE & co. at their defaults, as child_process gives it. After
  // CLONE_CLEAR_SIGHAND only ignored signals are left to reset, and like libuv we reset
  // the classic ones; otherwise every handler goes. All-zero is SIG_DFL on every arch.
  unsigned long zero_action[8] = {0};
  const long end = c->handlers_cleared ? 32 : 65;
  for (long sig = 1; sig < end; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) syscall(SYS_rt_sigaction, sig, zero_action, nullptr, 8);
  }

  const int n = static_cast<int>(c->stdio.size());
  stage = kStageStdio;
  for (int i = 0; i < n; i++) {  // move sources that a lower dup would clobber out of the way
    int fd = c->stdio[i];
    if (fd >= 0 && fd < n && fd != i) {
      r = syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, n);
      if (r < 0) goto fail;
      c->stdio[i] = static_cast<int>(r);
    }
  }
  for (int i = 0; i < n; i++) {
    int fd = c->stdio[i];
    if (fd == i) {  // inherited as is: only drop close-on-exec (a closed fd stays closed)
      syscall(SYS_fcntl, i, F_SETFD, 0);
      continue;
    }
    if (fd < 0) {  // /dev/null; it lands on i itself when i is closed (the lowest free fd)
      r = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC);
      if (r < 0) goto fail;
      if (r == i) {
        syscall(SYS_fcntl, i, F_SETFD, 0);
        continue;
      }
      long copy = syscall(SYS_dup3, r, i, 0);
      syscall(SYS_close, r);  // not left on a closed slot above i, which must stay closed
      if (copy < 0) goto fail;
      continue;
    }
    if (fd != i && syscall(SYS_dup3, fd, i, 0) < 0) goto fail;
  }

  // Where clone3 cannot start us inside the tree's cgroup (qemu-user, seccomp, Linux < 5.7),
  // we move ourselves there before exec: we have no child yet, so none escapes.
  stage = kStageCgroup;
  if (c->join_cgroup_fd >= 0) {
    r = syscall(SYS_openat, c->join_cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (r < 0) goto fail;
    const long procs = r;
    r = syscall(SYS_write, procs, "0", 1);  // 0: the writer itself
    if (r < 0) goto fail;
    syscall(SYS_close, procs);
  }

  stage = kStageSetsid;
  if (c->setsid && syscall(SYS_setsid) < 0) goto fail;
  stage = kStageSetgid;
  if (c->gid >= 0 || c->uid >= 0) syscall(SYS_setgroups, 0, nullptr);  // as libuv: may EPERM
  if (c->gid >= 0 && syscall(SYS_setgid, c->gid) < 0) goto fail;
  stage = kStageSetuid;
  if (c->uid >= 0 && syscall(SYS_setuid, c->uid) < 0) goto fail;
  stage = kStageChdir;
  if (c->cwd != nullptr && syscall(SYS_chdir, c->cwd) < 0) goto fail;

  // After setuid/setgid, which clear the death signal. prctl(2): it is sent when the
  // creating *thread* exits, which in a worker is the worker's thread (README). That
  // thread waits for our exec on every path (CLONE_VFORK, or the fork path's report
  // pipe), so only the death of the whole process can come first: then getppid() is no
  // longer the pid captured before the clone, and we exit. The setting is per task, so
  // under CLONE_VM it is ours alone.
  stage = kStageDeathSignal;
  if (c->death_signal != 0) {
    if (syscall(SYS_prctl, PR_SET_PDEATHSIG, c->death_signal, 0, 0, 0) < 0) goto fail;
    if (syscall(SYS_getppid) != c->parent) syscall(SYS_exit, 127);
  }

  {
    unsigned long empty_mask = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty_mask, nullptr, 8);
  }

  // execvp semantics over the candidates: EACCES wins over a later ENOENT.
  stage = kStageExec;
  {
    int err = ENOENT;
    bool denied = false;
    for (const char* path : c->paths) {
      if (path == nullptr) break;
      syscall(SYS_execve, path, c->argv.data(), c->env);
      err = errno;
      if (err == EACCES) denied = true;
      else if (err != ENOENT && err != ENOTDIR && err != ELOOP && err != ENAMETOOLONG) break;
    }
    errno = denied ? EACCES : err;
  }

fail:
  int report[2] = {errno, stage};
  if (c->report_fd >= 0) {
    syscall(SYS_write, c->report_fd, report, sizeof report);
  } else {
    c->err = report[0];
    c->stage = report[1];
  }
  syscall(SYS_exit, 127);
  return 127;
}

// Which method worked last; a failing one is never retried in this process.
std::atomic<int> g_method{kMethodClone3};

// With cgroup_fd >= 0 the child starts in that cgroup (CLONE_INTO_CGROUP, Linux 5.7): from
// its first instant, so nothing it forks can be outside it.
long Clone3(ChildSetup* c, void* stack, int* pidfd, int cgroup_fd) {
  CloneArgs args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_CLEAR_SIGHAND;
  size_t size = kCloneArgsSizeVer0;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
    size = sizeof args;
  }
  args.pidfd = reinterpret_cast<uint64_t>(pidfd);
  args.exit_signal = SIGCHLD;
  args.stack = reinterpret_cast<uint64_t>(stack);
  args.stack_size = kStackSize;
  c->handlers_cleared = true;
  long r = pidfd_clone3_vm(&args, size, ChildMain, c);
  if (r == -EINVAL) {  // Linux 5.3/5.4 lack CLONE_CLEAR_SIGHAND: the child resets them all
    args.flags &= ~CLONE_CLEAR_SIGHAND;
    c->handlers_cleared = false;
    r = pidfd_clone3_vm(&args, size, ChildMain, c);
  }
  if (r < 0) c->handlers_cleared = false;
  return r;
}

long CloneLegacy(ChildSetup* c, void* stack, int* pidfd) {
  // glibc's clone() runs fn on the new stack; CLONE_PIDFD stores the fd via parent_tid.
  int r = clone(ChildMain, static_cast<char*>(stack) + kStackSize,
                CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, c, pidfd);
  if (r < 0) return -errno;
  if (*pidfd < 0 && c->err == 0) {
    // Before Linux 5.2 the flag was ignored: open the pidfd now (still race-free, as the
    // child is unreaped), or, with no pidfds at all, take the child back and fail.
    long fd = sys_pidfd_open(r, 0);
    if (fd < 0) {
      syscall(SYS_kill, r, SIGKILL);
      c->err = static_cast<int>(-fd);
      c->stage = kStagePidfd;
    } else {
      *pidfd = static_cast<int>(fd);
    }
  }
  return r;
}

// Copy-on-write fork, for emulators without CLONE_VM processes: failures come back through
// a close-on-exec pipe (EOF means execve succeeded), and the pidfd is opened afterwards.
long ForkThenOpen(ChildSetup* c, int* pidfd) {
  int pipefd[2];
  if (syscall(SYS_pipe2, pipefd, O_CLOEXEC) < 0) return -errno;
  c->report_fd = pipefd[1];
  long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) ChildMain(c);
  long err = pid < 0 ? -errno : 0;
  sys_close(pipefd[1]);
  if (pid > 0) {
    int report[2];
    long n;
    do n = syscall(SYS_read, pipefd[0], report, sizeof report);
    while (n < 0 && errno == EINTR);
    if (n == sizeof report) {
      c->err = report[0];
      c->stage = report[1];
    }
  }
  sys_close(pipefd[0]);
  if (err < 0) return err;
  if (c->err != 0) return pid;
  long fd = sys_pidfd_open(pid, 0);
  if (fd < 0) {  // e.g. EMFILE: never leave the child running unowned
    syscall(SYS_kill, pid, SIGKILL);
    c->err = static_cast<int>(-fd);
    c->stage = kStagePidfd;
    return pid;
  }
  *pidfd = static_cast<int>(fd);
  return pid;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(&s[0]);
  out.push_back(nullptr);
  return out;
}

}  // namespace

long StartChild(ChildSetup* c, void* stack, int* pidfd, int cgroup_fd, int* method_used) {
  int method = g_method.load(std::memory_order_relaxed);
  long pid = -ENOSYS;
  if (cgroup_fd >= 0) {
    // Only clone3 can start a child inside a cgroup, and moving it there from here after
    // the start would race with its first fork: fail instead, and say so (JS then has the
    // child join the cgroup itself before exec, or takes another tree method). The cached
    // method is left alone.
    pid = Clone3(c, stack, pidfd, cgroup_fd);
    method = -1;
  } else if (method == kMethodClone3) {
    pid = Clone3(c, stack, pidfd, -1);
    if (ShouldFallBack(pid)) method = kMethodClone;
  }
  if (method == kMethodClone) {
    pid = CloneLegacy(c, stack, pidfd);
    if (ShouldFallBack(pid)) method = kMethodFork;
  }
  if (method == kMethodFork) pid = ForkThenOpen(c, pidfd);
  if (method >= 0) g_method.store(method, std::memory_order_relaxed);
  *method_used = method;
  return pid;
}

// A child we will not hand out (it failed to start, or could not be watched): reap it,
// killing it first if it may still run, and close its pidfd if it has one.
void TakeBack(long pid, int pidfd, bool kill) {
  if (kill) syscall(SYS_kill, pid, SIGKILL);
  siginfo_t si;
  sys_wait_child(pidfd, pid, &si, WEXITED);  // by pid when there is no pidfd
  if (pidfd >= 0) sys_close(pidfd);
}

// spawn(paths, argv, envp|null, cwd|null, stdio Int32Array, setsid, uid, gid, out Int32Array,
//       watchId, cgroupFd, deathSignal, keeperFlags, keeperWatchId, cgroupName, joinCgroup)
//   -> 0 with out = [pid, pidfd, method(, keeperPid)], or -errno with out[2] = the failing stage.
//   keeperFlags (src/keeper.h): the child starts under a tree keeper, whose exit is
//   watched under keeperWatchId; the child's status then comes from the keeper.
//   envp null passes our own environ (the main thread's process.env) without copying it.
//   The child is watched (and so always reaped) under watchId from this call on: no
//   interruption of the JS that follows can leave it unowned.
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool own_environ = info[2].IsNull(), has_cwd = info[3].IsString();
  std::vector<std::string> paths, argv, envp;
  std::string cwd, cgroup_name;
  size_t stdio_count, out_count;
  int32_t *stdio, *out;
  // Every argument read in full, or nothing starts (a worker may be terminating under us).
  if (!StringsArg(info, 0, &paths) || !StringsArg(info, 1, &argv) ||
      (!own_environ && !StringsArg(info, 2, &envp)) || (has_cwd && !StringValue(env, info[3], &cwd)) ||
      !TypedArg(info, 4, &stdio, &stdio_count) || !TypedArg(info, 8, &out, &out_count) || out_count < 3 ||
      (info[14].IsString() && !StringValue(env, info[14], &cgroup_name))) {
    return Napi::Number::New(env, -EINVAL);
  }

  ChildSetup c;
  for (auto& p : paths) c.paths.push_back(p.c_str());
  c.paths.push_back(nullptr);
  c.argv = Pointers(argv);
  c.envp = Pointers(envp);
  c.env = own_environ ? environ : c.envp.data();
  if (has_cwd) c.cwd = cwd.c_str();
  const int cgroup_fd = IntArg(info, 10, -1);  // -1: none. info[11], deathSignal: see supervise
  c.stdio.assign(stdio, stdio + stdio_count);
  c.setsid = BoolArg(info, 5);
  c.uid = Int64Arg(info, 6);
  c.gid = Int64Arg(info, 7);
  // info[10], cgroupFd: see trees.
  c.death_signal = IntArg(info, 11, 0);
  c.parent = syscall(SYS_getpid);

  // The child's stack: one per environment (that is, per thread), reused. The child is
  // done with it once the parent resumes (CLONE_VFORK).
  Env* state = Env::From(env);
  if (!state->spawn_stack) state->spawn_stack.reset(new (std::nothrow) char[kStackSize]);
  if (!state->spawn_stack) return Napi::Number::New(env, -ENOMEM);
  void* stack = state->spawn_stack.get();

  // info[15], joinCgroup: the child joins cgroupFd's cgroup itself instead of CLONE_INTO_CGROUP,
  // after its stdio dup3s: a directory fd among the stdio slots is moved out of their way.
  struct ClosedAtReturn {
    int fd = -1;
    ~ClosedAtReturn() {
      if (fd >= 0) sys_close(fd);
    }
  } join_copy;
  if (cgroup_fd >= 0 && BoolArg(info, 15)) {
    c.join_cgroup_fd = cgroup_fd;
    if (cgroup_fd < static_cast<int>(c.stdio.size())) {
      join_copy.fd = static_cast<int>(ret(syscall(SYS_fcntl, cgroup_fd, F_DUPFD_CLOEXEC, static_cast<int>(c.stdio.size()))));
      if (join_copy.fd < 0) {
        out[2] = kStageClone;  // nothing started
        return Napi::Number::New(env, join_copy.fd);
      }
      c.join_cgroup_fd = join_copy.fd;
    }
  }
  const int clone_cgroup_fd = c.join_cgroup_fd >= 0 ? -1 : cgroup_fd;
  const int keeper_flags = IntArg(info, 12, 0);
  if (keeper_flags & kKeeper) {
    if (out_count < 4) return Napi::Number::New(env, -EINVAL);
    KeeperRequest request{&c, stack, cgroup_fd, cgroup_name.c_str(), keeper_flags, IntArg(info, 9, 0), IntArg(info, 13, 0)};
    return Napi::Number::New(env, static_cast<double>(SpawnWithKeeper(state, request, out)));
  }

  // No signal handler may run in the child before it resets them, nor in the parent
  // between clone and the child's exec while they share memory.
  unsigned long all = ~0UL, saved = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &saved, 8);
  int pidfd = -1, method = -1;
  long pid = StartChild(&c, stack, &pidfd, clone_cgroup_fd, &method);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &saved, nullptr, 8);

  if (pid < 0) {
    out[2] = clone_cgroup_fd >= 0 ? kStageCgroup : kStageClone;
    return Napi::Number::New(env, pid);
  }
  if (c.err != 0) {  // the child has exited, or been killed
    TakeBack(pid, pidfd, false);
    out[2] = c.stage;
    return Napi::Number::New(env, -c.err);
  }
  int r = Watch::Start(state, pidfd, IntArg(info, 9, 0), kModeReap, true, 0, static_cast<int32_t>(pid));
  if (r != 0) {  // cannot watch it, so cannot promise to reap it
    TakeBack(pid, pidfd, true);
    out[2] = kStageClone;
    return Napi::Number::New(env, r);
  }
  out[0] = static_cast<int32_t>(pid);
  out[1] = pidfd;
  out[2] = method >= 0 ? method : kMethodClone3;
  return Napi::Number::New(env, 0);
}

Napi::Value SpawnMethod(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), g_method.load(std::memory_order_relaxed));
}

}  // namespace pidfd
