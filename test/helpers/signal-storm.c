/*
 * signal-storm PID SIGNAL BURST_US GAP_US
 *
 * Floods PID with SIGNAL (kill() in a tight loop) for BURST_US microseconds, then rests
 * GAP_US, and again, until PID is gone; then exits 0. Exit status 2 for bad usage.
 *
 * Why bursts, not a shell's endless `while kill ...; do :; done`: a flood makes a signal
 * pending at almost every syscall entry (what the EINTR tests need), but one that never
 * stops starves every relative sleep restarted after EINTR, since each restart loses the
 * time spent in the handler. Node 24's V8 measures the TSC rate with such a sleep the
 * first time one of its mutexes is contended (abseil's NominalCPUFrequency: 1 to 128 ms,
 * doubling until two measurements agree), and an endless flood hung it there for
 * minutes. The gaps let those sleeps finish.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long number(const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "usage: signal-storm PID SIGNAL BURST_US GAP_US\n");
		exit(2);
	}
	return v;
}

static int64_t now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	if (argc != 5)
		number("", 0, 0);
	pid_t pid = (pid_t)number(argv[1], 1, 0x7fffffff);
	int sig = (int)number(argv[2], 1, 64);
	long burst = number(argv[3], 1, 10000000);
	long gap = number(argv[4], 0, 10000000);
	for (;;) {
		int64_t end = now_us() + burst;
		do {
			if (kill(pid, sig) != 0)
				return 0;
		} while (now_us() < end);
		struct timespec rest = { gap / 1000000, (gap % 1000000) * 1000 };
		while (nanosleep(&rest, &rest) != 0 && errno == EINTR) {
		}
	}
}
