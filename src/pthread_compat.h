// pthreads at the glibc floor (scripts/check-glibc-floor.sh): glibc 2.34 moved
// pthread_create, pthread_join and pthread_once into libc under a new version, GLIBC_2.34,
// which older systems lack. These references bind to each symbol's first version instead,
// which every glibc still exports (from libpthread before 2.34, from libc since).
#pragma once

#include <pthread.h>

#if defined(__GLIBC__)
#if defined(__x86_64__)
#define PIDFD_PTHREAD_VERSION "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define PIDFD_PTHREAD_VERSION "GLIBC_2.17"
#endif
#endif

#ifdef PIDFD_PTHREAD_VERSION
__asm__(".symver pthread_create, pthread_create@" PIDFD_PTHREAD_VERSION);
__asm__(".symver pthread_join, pthread_join@" PIDFD_PTHREAD_VERSION);
__asm__(".symver pthread_once, pthread_once@" PIDFD_PTHREAD_VERSION);
#endif
