// A process tree's keeper (src/keeper.cc): a tiny process, child of ours, that is the child
// subreaper of one tree and the parent of its root.
#pragma once

#include <stdint.h>

#include "env.h"
#include "keeper_loop.h"
#include "spawn.h"

namespace pidfd {

enum KeeperFlags {
  kKeeper = 1,        // start the child under a keeper
  kKeeperDie = 2,     // the tree dies when the lifeline closes (dieWithParent)
  kKeeperUnref = 4,   // the keeper's watch does not keep the loop alive (cgroup trees)
};

struct KeeperRequest {
  ChildSetup* child;
  void* child_stack;        // kStackSize bytes, for the root's vfork-style clone
  int cgroup_fd;            // the tree's cgroup directory, or -1
  const char* cgroup_name;  // its name in the parent directory (removed on lifeline EOF)
  int flags;                // KeeperFlags
  int32_t root_watch;       // watch id for the root's status (the report pipe)
  int32_t keeper_watch;     // watch id for the keeper's exit (the tree is empty)
};

// Starts the keeper, which starts the child. 0 with out = [pid, pidfd, method, keeperPid],
// or -errno with out[2] = the failing stage; nothing is left running then.
long SpawnWithKeeper(Env* state, const KeeperRequest& request, int32_t* out);

}  // namespace pidfd
