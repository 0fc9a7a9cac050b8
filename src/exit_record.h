// The kernel's exit record (PIDFD_INFO_EXIT, Linux 6.15+): the wait status of any process,
// stored when its parent reaps it, if a pidfd for it was open before the reap.
#pragma once

#include "watch.h"

namespace pidfd {

// The wait(2) status recorded for a reaped process, or -1 when there is none.
int32_t ReadExitRecord(int fd);

// Waits, without polling, for w's process to be reaped (its pidfd wakes up again at reap),
// at most w->record_wait_ms; then delivers the status from the record, or -1.
void AwaitReap(Watch* w);
void ForgetReap(Watch* w);

// Environment teardown: closes the waiter's handles.
void CloseReapWaiter(Env* s);

}  // namespace pidfd
