/*
 * cgroup_kill.c: the C peer for the bench's tree kill: cgroup.kill, then a
 * POLLPRI wait on cgroup.events until "populated 0" (what a supervisor in C,
 * systemd for one, does).
 *
 * Build: cc -O2 -o cgroup_kill cgroup_kill.c
 *
 *   cgroup_kill serve PARENT_CGROUP_DIR FORKTREE N FANOUT
 *       Per line on stdin, one run: create PARENT/c-<pid>-<run>, start
 *       `FORKTREE N FANOUT DIR` (the tree starts inside it), wait for its
 *       "ready", open cgroup.events; t0; write "1" to cgroup.kill; poll for
 *       POLLPRI and re-read cgroup.events until it says "populated 0"; t1.
 *       Then (untimed) reap the root and every orphan (this process is a
 *       child subreaper) and remove the cgroup. Answers "T1_MINUS_T0_NS".
 *
 * It SIGKILLs itself (and so leaves its trees to the harness's cleanup) when
 * its parent dies. Any failure: a message on stderr and exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "peer_util.h"

static int populated(int events_fd)
{
	char buf[256];
	ssize_t n = pread(events_fd, buf, sizeof buf - 1, 0);
	if (n < 0)
		die("read cgroup.events: %s", strerror(errno));
	buf[n] = 0;
	char *p = strstr(buf, "populated ");
	if (!p)
		die("cgroup.events has no populated line");
	return p[10] == '1';
}

static int64_t run_once(const char *parent, const char *forktree, const char *n, const char *fanout, int run)
{
	char dir[4096], path[4200];
	snprintf(dir, sizeof dir, "%s/c-%d-%d", parent, (int)getpid(), run);
	if (mkdir(dir, 0755) < 0)
		die("mkdir %s: %s", dir, strerror(errno));
	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		die("pipe2: %s", strerror(errno));
	pid_t root = fork();
	if (root < 0)
		die("fork: %s", strerror(errno));
	if (root == 0) {
		dup2(out[1], 1);
		execl(forktree, forktree, n, fanout, dir, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	char line[64];
	ssize_t got = 0, r;
	while (got < (ssize_t)sizeof line - 1 && (r = read(out[0], line + got, sizeof line - 1 - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read forktree: %s", strerror(errno));
		got += r;
		if (memchr(line, '\n', got))
			break;
	}
	line[got] = 0;
	if (strncmp(line, "ready ", 6) != 0)
		die("forktree did not get ready: '%s'", line);
	close(out[0]);

	snprintf(path, sizeof path, "%s/cgroup.events", dir);
	int events = open(path, O_RDONLY | O_CLOEXEC);
	if (events < 0)
		die("open %s: %s", path, strerror(errno));
	snprintf(path, sizeof path, "%s/cgroup.kill", dir);
	int killfd = open(path, O_WRONLY | O_CLOEXEC);
	if (killfd < 0)
		die("open %s: %s (cgroup.kill needs Linux 5.14)", path, strerror(errno));
	struct pollfd p = { .fd = events, .events = POLLPRI };

	int64_t t0 = now_ns();
	if (write(killfd, "1", 1) != 1)
		die("write cgroup.kill: %s", strerror(errno));
	while (populated(events)) {
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
	}
	int64_t t1 = now_ns();

	close(killfd);
	close(events);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	if (rmdir(dir) < 0)
		die("rmdir %s: %s", dir, strerror(errno));
	return t1 - t0;
}

int main(int argc, char **argv)
{
	if (argc != 6 || strcmp(argv[1], "serve") != 0)
		die("usage: cgroup_kill serve PARENT_CGROUP_DIR FORKTREE N FANOUT");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		die("prctl: %s", strerror(errno));
	char line[64];
	for (int run = 0; fgets(line, sizeof line, stdin); run++) {
		printf("%" PRId64 "\n", run_once(argv[2], argv[3], argv[4], argv[5], run));
		fflush(stdout);
	}
	return 0;
}
