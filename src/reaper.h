#pragma once

namespace pidfd {

// Takes ownership of the pidfd of an unreaped child of ours and reaps it when it exits,
// on a process-wide thread, without any environment.
void AdoptOrphan(int pidfd, int pid);

}  // namespace pidfd
