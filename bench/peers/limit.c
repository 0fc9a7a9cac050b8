/*
 * limit.c: the "physical limit" peer for `npm run bench`.
 *
 * Build: cc -O2 -o limit limit.c   (glibc only; pidfd syscalls via syscall())
 *
 *   limit latency-serve         a line in: one kill -> pidfd readable (poll) run;
 *                               a line out: "READABLE_NS REAPED_NS"
 *   limit spawn N INFLIGHT      posix_spawn /bin/true N times, K at a time
 *   limit scale-wait [TIMEOUT_MS]
 *                               pids on stdin, "ready\n" on stderr, then
 *                               report when every pidfd became readable
 *
 * spawn and scale-wait print exactly one JSON object on stdout. Any failure:
 * a message on stderr and exit status 1. See README.md beside this file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "peer_util.h"

#include "pidfd_sys.h"

#define SETTLE_NS 5000000L /* let the child reach clock_nanosleep */

extern char **environ;

static long parse_pos(const char *s, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v <= 0)
		die("%s must be a positive integer, got '%s'", what, s);
	return v;
}

static void reap(pid_t pid, int expect_sig)
{
	int st;
	pid_t r;
	while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (r < 0)
		die("waitpid: %s", strerror(errno));
	if (expect_sig ? !(WIFSIGNALED(st) && WTERMSIG(st) == expect_sig)
		       : !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		die("child %d: unexpected wait status 0x%x", (int)r, st);
}

/* die(), without leaving a sleeping child behind */
static void die_child(pid_t pid, const char *what)
{
	int e = errno;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	die("%s: %s", what, strerror(e));
}

/*
 * One kill -> readable measurement; returns t1 - t0 in ns. *reaped gets the time
 * until the child is also reaped and its status read (what pidfd.spawn's exited
 * includes).
 */
static int64_t latency_once(int64_t *reaped)
{
	static char *const argv[] = { "sleep", "1000", NULL };
	pid_t pid;
	int err = posix_spawn(&pid, "/bin/sleep", NULL, NULL, argv, environ);
	if (err)
		die("posix_spawn /bin/sleep: %s", strerror(err));
	int fd = pidfd_open(pid, 0);
	if (fd < 0)
		die_child(pid, "pidfd_open");
	struct timespec settle = { 0, SETTLE_NS };
	while (nanosleep(&settle, &settle) != 0 && errno == EINTR)
		;

	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t t0 = now_ns();
	if (pidfd_send_signal(fd, SIGKILL) != 0)
		die_child(pid, "pidfd_send_signal");
	int n;
	while ((n = poll(&p, 1, -1)) < 0 && errno == EINTR)
		;
	int64_t t1 = now_ns();
	if (n < 0)
		die_child(pid, "poll");
	if (!(p.revents & POLLIN))
		die("poll: revents 0x%x, expected POLLIN", p.revents);
	reap(pid, SIGKILL);
	*reaped = now_ns() - t0;
	close(fd);
	return t1 - t0;
}

/*
 * Served one run at a time, so the Node worker can interleave this peer's runs with its
 * own: each line on stdin runs one measurement and answers "READABLE_NS REAPED_NS".
 */
static int cmd_latency_serve(int argc, char **argv)
{
	(void)argv;
	if (argc != 0)
		die("usage: limit latency-serve");
	char line[64];
	while (fgets(line, sizeof line, stdin)) {
		int64_t reaped;
		int64_t readable = latency_once(&reaped);
		printf("%" PRId64 " %" PRId64 "\n", readable, reaped);
		fflush(stdout);
	}
	return 0;
}

static int cmd_spawn(int argc, char **argv)
{
	if (argc != 2)
		die("usage: limit spawn N INFLIGHT");
	long n = parse_pos(argv[0], "N"), k = parse_pos(argv[1], "INFLIGHT");

	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		die("open /dev/null: %s", strerror(errno));
	posix_spawn_file_actions_t fa;
	if (posix_spawn_file_actions_init(&fa) != 0)
		die("posix_spawn_file_actions_init failed");
	for (int i = 0; i < 3; i++)
		if (posix_spawn_file_actions_adddup2(&fa, devnull, i) != 0)
			die("posix_spawn_file_actions_adddup2 failed");
	static char *const targv[] = { "true", NULL };

	long started = 0, done = 0, inflight = 0;
	int64_t t0 = now_ns();
	while (done < n) {
		for (; inflight < k && started < n; inflight++, started++) {
			pid_t pid;
			int err = posix_spawn(&pid, "/bin/true", &fa, NULL, targv, environ);
			if (err)
				die("posix_spawn /bin/true: %s", strerror(err));
		}
		reap(-1, 0); /* we have no children but our own /bin/true's */
		inflight--;
		done++;
	}
	int64_t t1 = now_ns();
	posix_spawn_file_actions_destroy(&fa);
	close(devnull);
	printf("{\"name\":\"c-posix_spawn\",\"n\":%ld,\"inflight\":%ld,\"elapsed_ns\":%" PRId64 "}\n",
	       n, k, t1 - t0);
	return 0;
}

static int cmd_scale_wait(int argc, char **argv)
{
	if (argc > 1)
		die("usage: limit scale-wait [TIMEOUT_MS] < pids");
	long timeout_ms = argc ? parse_pos(argv[0], "TIMEOUT_MS") : 60000;

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit: %s", strerror(errno));
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("setrlimit: %s", strerror(errno));

	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	long count = 0, cap = 0;
	int *fds = NULL;
	char line[64];
	while (fgets(line, sizeof line, stdin)) {
		if (line[0] == '\n' || line[0] == '\0')
			continue;
		line[strcspn(line, "\r\n")] = '\0';
		pid_t pid = (pid_t)parse_pos(line, "pid");
		int fd = pidfd_open(pid, 0);
		if (fd < 0)
			die("pidfd_open(%d): %s", (int)pid, strerror(errno));
		/* one-shot: each pidfd reports once and is then disarmed */
		struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.fd = fd };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
			die("epoll_ctl: %s", strerror(errno));
		if (count == cap) {
			cap = cap ? 2 * cap : 1024;
			fds = realloc(fds, sizeof *fds * (size_t)cap);
			if (!fds)
				die("out of memory");
		}
		fds[count++] = fd;
	}
	if (ferror(stdin))
		die("reading stdin: %s", strerror(errno));
	if (count == 0)
		die("no pids on stdin");

	fputs("ready\n", stderr);
	fflush(stderr);

	enum { BATCH = 256 };
	struct epoll_event evs[BATCH];
	int64_t first = 0, last = 0, deadline = 0;
	long seen = 0, wakeups = 0;
	while (seen < count) {
		int wait_ms = -1;
		if (seen > 0) { /* the clock starts at the first exit */
			int64_t left = deadline - now_ns();
			if (left <= 0)
				die("timeout: %ld of %ld pidfds readable", seen, count);
			wait_ms = (int)(left / 1000000) + 1;
		}
		int n = epoll_wait(ep, evs, BATCH, wait_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait: %s", strerror(errno));
		}
		if (n == 0)
			continue;
		last = now_ns();
		if (seen == 0) {
			first = last;
			deadline = first + (int64_t)timeout_ms * 1000000;
		}
		seen += n;
		wakeups++;
	}

	/*
	 * Then, without touching the timing above, until each one has also been reaped by
	 * its parent (POLLHUP, Linux 6.9+): the limit for an exit notification that carries
	 * the status, which exists only once the process is reaped. An edge-triggered set:
	 * the add reports a pidfd already reaped (EPOLLHUP) at once, the others wake again
	 * at their reap. Where the kernel never says, "last_reaped" is null after 10 s.
	 */
	int ep2 = epoll_create1(EPOLL_CLOEXEC);
	if (ep2 < 0)
		die("epoll_create1: %s", strerror(errno));
	for (long i = 0; i < count; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = fds[i] };
		if (epoll_ctl(ep2, EPOLL_CTL_ADD, fds[i], &ev) != 0)
			die("epoll_ctl: %s", strerror(errno));
	}
	int64_t last_reaped = 0;
	long reaped = 0;
	while (reaped < count) {
		int n = epoll_wait(ep2, evs, BATCH, 10000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++)
			if (evs[i].events & EPOLLHUP) {
				reaped++;
				epoll_ctl(ep2, EPOLL_CTL_DEL, evs[i].data.fd, NULL);
			}
		last_reaped = now_ns();
	}
	char reaped_json[32] = "null";
	if (reaped == count)
		snprintf(reaped_json, sizeof reaped_json, "%" PRId64, last_reaped);
	printf("{\"name\":\"c-epoll\",\"count\":%ld,\"first_ready_monotonic_ns\":%" PRId64
	       ",\"last_ready_monotonic_ns\":%" PRId64 ",\"wakeups\":%ld"
	       ",\"last_reaped_monotonic_ns\":%s}\n",
	       count, first, last, wakeups, reaped_json);
	free(fds);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: limit latency-serve | spawn N INFLIGHT | scale-wait [TIMEOUT_MS]");
	const char *cmd = argv[1];
	int rc;
	if (strcmp(cmd, "latency-serve") == 0)
		rc = cmd_latency_serve(argc - 2, argv + 2);
	else if (strcmp(cmd, "spawn") == 0)
		rc = cmd_spawn(argc - 2, argv + 2);
	else if (strcmp(cmd, "scale-wait") == 0)
		rc = cmd_scale_wait(argc - 2, argv + 2);
	else
		die("unknown subcommand '%s'", cmd);
	if (fflush(stdout) != 0)
		die("writing stdout: %s", strerror(errno));
	return rc;
}
