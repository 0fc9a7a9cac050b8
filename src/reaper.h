#pragma once

#include <string>

namespace pidfd {

// Takes ownership of the pidfd of an unreaped child of ours and reaps it when it exits,
// on a process-wide thread, without any environment.
void AdoptOrphan(int pidfd, int pid);

// Takes ownership of a tree's cgroup.events fd and removes dir once the tree is empty.
void AdoptOrphanCgroup(int events_fd, const std::string& dir);

}  // namespace pidfd
