// The exit watcher, shared by watch.cc (the pidfd's source in the environment's loop) and
// exit_record.cc (the wait for the kernel's exit record of a process we do not reap).
#pragma once

#include "env.h"

namespace pidfd {

enum WatchMode {
  kModePlain = 0,   // report the exit; the status is not ours to know
  kModeReap = 1,    // our own child: collect its status with waitid(P_PIDFD)
  kModeRecord = 2,  // someone else's: wait (bounded) for its reap, then read the exit record
  kModeCgroup = 3,  // fd is a cgroup.events file: fires once "populated 0" (POLLPRI)
  kModeReport = 4,  // fd is a tree keeper's report pipe: fires with the root's wait status
};

struct Watch {
  Source source;  // the fd in the environment's loop (loop.h)
  Env* env;
  int fd;
  int32_t id;
  int32_t pid;
  int mode;
  uint64_t record_wait_ms;  // kModeRecord: how long to wait for the reap after the exit
  uint64_t deadline = 0;    // while waiting for the reap
  bool awaiting_reap = false;
  bool orphaned = false;    // JS let go before the exit: reap silently, then close
  bool fired = false;
  bool own_child = false;   // not kModeReap, yet a child of this process (child_process)
  bool closing = false;
  // Freed with the watch (src/keeper.cc): the keeper's lifeline, or the root's pidfd of a
  // report watch; the keeper's stack, unmapped once the keeper is reaped.
  int extra_fd = -1;
  void* stack = nullptr;
  size_t stack_size = 0;

  // Starts watching fd under id; on success the watcher owns fd. Returns 0 or -errno.
  static int Start(Env* s, int fd, int32_t id, int mode, bool ref, uint64_t record_wait_ms, int32_t pid);
};

// Completes a watch: queues its event for JS (or closes an orphan).
void Deliver(Watch* w, const ExitEvent& event);

}  // namespace pidfd
