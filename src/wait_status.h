/* A wait(2)-style status word from waitid's siginfo. C: the keeper program includes it too. */
#ifndef PIDFD_WAIT_STATUS_H
#define PIDFD_WAIT_STATUS_H

#include <signal.h>
#include <stdint.h>

static inline int32_t pidfd_wait_status(const siginfo_t* si) {
  if (si->si_code == CLD_EXITED) return (si->si_status & 0xff) << 8;
  return si->si_status | (si->si_code == CLD_DUMPED ? 0x80 : 0);
}

#endif
