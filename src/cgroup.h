// cgroup v2 files a process tree needs (src/cgroup.cc); the policy is lib/tree.ts's.
#pragma once

namespace pidfd {

constexpr int kCgroupPopulated = 1;  // cgroup.events "populated 1"
constexpr int kCgroupFrozen = 2;     // cgroup.events "frozen 1"

// Reads an open cgroup.events from offset 0 (which also re-arms its POLLPRI):
// kCgroupPopulated | kCgroupFrozen bits, or -errno.
int CgroupEvents(int fd);

// Removes an empty cgroup directory and any empty cgroups below it: 0 or -errno.
int RemoveCgroup(const char* path);

struct Watch;
// A kModeCgroup watch saw its tree empty: removes the directory, returns 0 or -errno.
int CgroupEmptied(Watch* w);
// Environment teardown with the tree still running: the process-wide reaper thread takes
// the cgroup.events fd and removes the directory once the tree is empty.
void AdoptCgroupWatch(Watch* w);
// The watch is closing: forgets its directory.
void ForgetCgroup(Watch* w);

}  // namespace pidfd
