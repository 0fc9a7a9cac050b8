#pragma once

#include <stddef.h>

#include <string>

namespace pidfd {

// Takes ownership of the pidfd of an unreaped child of ours and reaps it when it exits,
// on a process-wide thread, without any environment. A tree keeper's stack (src/keeper.cc)
// is unmapped after its reap.
void AdoptOrphan(int pidfd, int pid, void* stack = nullptr, size_t stack_size = 0);

// Takes ownership of a tree's cgroup.events fd and removes dir once the tree is empty.
void AdoptOrphanCgroup(int events_fd, const std::string& dir);

}  // namespace pidfd
