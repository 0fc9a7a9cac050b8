// spawn(): process creation with a pidfd. Stage and method numbers are shared with
// lib/spawn-errors (JS names the failing syscall from the stage).
#pragma once

#include <napi.h>

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
  kStageCgroup = 10,  // clone3(CLONE_INTO_CGROUP) failed: no child was started
};

enum SpawnMethod { kMethodClone3 = 0, kMethodClone = 1, kMethodFork = 2 };

Napi::Value Spawn(const Napi::CallbackInfo& info);
Napi::Value SpawnMethod(const Napi::CallbackInfo& info);

}  // namespace pidfd
