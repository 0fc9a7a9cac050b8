// spawn(): process creation with a pidfd. Stage and method numbers are shared with
// lib/spawn-errors (JS names the failing syscall from the stage).
#pragma once

#include <napi.h>

#include <stdint.h>

#include <string>
#include <vector>

namespace pidfd {

enum SpawnStage {
  kStageNone = 0,
  kStageClone = 1,   // clone3/clone/fork itself failed (EAGAIN, EMFILE, ENOMEM...)
  kStageStdio = 2,   // dup3 / open("/dev/null")
  kStageSetsid = 3,
  kStageSetgid = 4,
  kStageSetuid = 5,
  kStageChdir = 6,
  kStageExec = 7,
  kStagePidfd = 8,   // fork path: pidfd_open on the new child
  kStageDeathSignal = 9,  // prctl(PR_SET_PDEATHSIG)
  kStageCgroup = 10,  // clone3(CLONE_INTO_CGROUP) failed (no child was started), or the child
                      // could not join the tree's cgroup itself (cgroup.procs)
  kStageKeeper = 11,  // the tree's keeper could not be made (src/keeper.cc)
};

enum SpawnMethod { kMethodClone3 = 0, kMethodClone = 1, kMethodFork = 2 };

// Everything the child needs, prepared by the parent: the child may not allocate.
struct ChildSetup {
  std::vector<const char*> paths;  // execve candidates, PATH already searched
  std::vector<char*> argv, envp;
  char* const* env = nullptr;  // envp's data, or environ when the caller passes none
  const char* cwd = nullptr;
  std::vector<int> stdio;  // stdio[i] becomes fd i; -1 opens /dev/null
  bool setsid = false;
  long uid = -1, gid = -1;
  int death_signal = 0;  // PR_SET_PDEATHSIG, 0 for none
  long parent = 0;       // our pid before the clone: the child checks it still has us
  bool handlers_cleared = false;  // CLONE_CLEAR_SIGHAND did the handled signals
  int join_cgroup_fd = -1;  // a cgroup directory the child moves itself into first (no CLONE_INTO_CGROUP)
  int report_fd = -1;  // fork path: write the failure here; otherwise into the fields below
  volatile int err = 0;
  volatile int stage = kStageNone;
};

constexpr size_t kStackSize = 64 * 1024;

struct CloneArgs {  // struct clone_args up to CLONE_ARGS_SIZE_VER2 (88 bytes)
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
  uint64_t set_tid, set_tid_size, cgroup;  // VER1 (5.5), VER2 (5.7): passed only with a cgroup
};
constexpr size_t kCloneArgsSizeVer0 = 64;
static_assert(sizeof(CloneArgs) == 88, "CLONE_ARGS_SIZE_VER2");

// A clone that the kernel or a sandbox refused: try the next method.
inline bool ShouldFallBack(long r) { return r == -ENOSYS || r == -EPERM || r == -EINVAL; }

// Starts the child on stack (kStackSize bytes) with the cached method, or into cgroup_fd's
// cgroup when >= 0. Returns its pid (c->err set if it failed after the clone) or -errno;
// *method is the method used (-1 for the cgroup clone). Raw syscalls only: the tree's
// keeper calls it too.
long StartChild(ChildSetup* c, void* stack, int* pidfd, int cgroup_fd, int* method);
// A child we will not hand out: reap it (SIGKILL first if kill), close its pidfd.
void TakeBack(long pid, int pidfd, bool kill);

Napi::Value Spawn(const Napi::CallbackInfo& info);
Napi::Value SpawnMethod(const Napi::CallbackInfo& info);

}  // namespace pidfd
