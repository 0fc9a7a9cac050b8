/*
 * forktree.c: a tree of N processes for the bench's tree section.
 *
 * Build: cc -O2 -o forktree forktree.c
 *
 *   forktree N FANOUT [CGROUP_DIR]
 *       With CGROUP_DIR, first moves itself into that cgroup (writes its pid
 *       to CGROUP_DIR/cgroup.procs) so that everything it forks starts there.
 *       Then it forks a tree of N processes in all (itself included): each
 *       process splits the descendants it must create among up to FANOUT
 *       children (1,000 with fanout 10: three levels). Every member blocks in
 *       pause(). Once all N exist it prints "ready N" on stdout.
 *
 * Members hold no signal handlers: SIGTERM and SIGKILL end them. Any failure
 * kills the whole process group and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ready_pipe[2];

static void fail(const char *what)
{
	fprintf(stderr, "forktree: %s: %s\n", what, strerror(errno));
	kill(0, SIGKILL);
	_exit(1);
}

/* This process is one member; it creates n - 1 descendants below itself. */
static void grow(long n, long fanout)
{
	long rest = n - 1;
	for (long i = 0; i < fanout && rest > 0; i++) {
		long share = (rest + (fanout - i) - 1) / (fanout - i);
		rest -= share;
		pid_t pid = fork();
		if (pid < 0)
			fail("fork");
		if (pid == 0) {
			grow(share, fanout);
			if (write(ready_pipe[1], "x", 1) != 1)
				fail("write");
			for (;;)
				pause();
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: forktree N FANOUT [CGROUP_DIR]\n");
		return 2;
	}
	long n = strtol(argv[1], NULL, 10), fanout = strtol(argv[2], NULL, 10);
	if (n < 1 || fanout < 1) {
		fprintf(stderr, "forktree: N and FANOUT must be positive\n");
		return 2;
	}
	if (argc == 4) {
		char path[4096];
		snprintf(path, sizeof path, "%s/cgroup.procs", argv[3]);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			fail(path);
		close(fd);
	}
	if (pipe2(ready_pipe, O_CLOEXEC) < 0)
		fail("pipe2");
	grow(n, fanout);
	close(ready_pipe[1]);
	char buf[256];
	long seen = 0;
	while (seen < n - 1) {
		ssize_t r = read(ready_pipe[0], buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail("read");
		seen += r;
	}
	close(ready_pipe[0]);
	printf("ready %ld\n", n);
	fflush(stdout);
	for (;;)
		pause();
}
