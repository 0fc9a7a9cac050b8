/*
 * pidfd_sys.h: the pidfd syscalls the bench peers (limit.c, floor.c) use, through
 * syscall() with their numbers, so that any glibc builds them.
 */
#pragma once
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
/* waitid's idtype P_PIDFD (Linux 5.4), under a name of its own: glibc >= 2.36 declares
 * P_PIDFD in an enum, older ones not at all. */
#define WAITID_P_PIDFD 3

static inline int pidfd_open(pid_t pid, unsigned int flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

static inline int pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}
