/*
 * reaper.c: a process parent for the bench's victims that are *not* the
 * harness's children. PID 1 on the bench machine (a firecracker init) does
 * not reap orphans, so without this helper killed victims would stay zombies
 * for good: a kill(pid, 0) poller would never see ESRCH, and 10,000 zombies
 * would hold their pids. This helper plays the part of a reaping init
 * (systemd, tini): it reaps every child as soon as SIGCHLD arrives.
 *
 * Build: cc -O2 -o reaper reaper.c
 *
 *   reaper serve
 *       Reads one line per victim on stdin; for each line it starts
 *       `/bin/sleep 1000` (posix_spawn, stdio inherited) and prints its pid on
 *       stdout, one line each. Children are reaped promptly (signalfd on
 *       SIGCHLD + waitpid(-1, WNOHANG)). On stdin EOF it kills what is left,
 *       reaps it and exits 0.
 *
 *   reaper run CMD [ARG...]
 *       Makes itself a child subreaper (PR_SET_CHILD_SUBREAPER), starts CMD
 *       in a new process group of its own (setpgid(0, 0); the group id is
 *       CMD's pid) with stdio inherited, and reaps every descendant that gets
 *       reparented to it, until no child is left. Exits 0.
 *
 * Both modes set PR_SET_PDEATHSIG(SIGTERM): when the harness dies, the helper
 * SIGKILLs what it started (in `run`, the whole process group), reaps, exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void die(const char *what)
{
	fprintf(stderr, "reaper: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* SIGCHLD and SIGTERM arrive through a signalfd; returns it. */
static int signals_fd(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		die("sigprocmask");
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		die("signalfd");
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		die("prctl(PR_SET_PDEATHSIG)");
	if (getppid() == 1) /* the harness is already gone */
		raise(SIGTERM);
	return fd;
}

/* Reaps every child that has exited; returns -1 once no child is left. */
static int reap_all(void)
{
	for (;;) {
		pid_t r = waitpid(-1, NULL, WNOHANG);
		if (r > 0)
			continue;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECHILD)
			return -1;
		if (r < 0)
			die("waitpid");
		return 0;
	}
}

/* Drains the signalfd; returns 1 if SIGTERM was among the signals. */
static int drain(int sfd)
{
	struct signalfd_siginfo si;
	int term = 0;
	while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
		if (si.ssi_signo == SIGTERM)
			term = 1;
	return term;
}

static void reap_until_none(int sfd)
{
	while (reap_all() == 0) {
		struct pollfd p = { .fd = sfd, .events = POLLIN };
		poll(&p, 1, 1000);
		drain(sfd);
	}
}

static int cmd_serve(void)
{
	int sfd = signals_fd();
	sigset_t empty;
	sigemptyset(&empty);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &empty);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	static char *const argv[] = { "sleep", "1000", NULL };
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* pids we started and have not reaped: killed at the end */
	enum { MAX_LIVE = 4096 };
	static pid_t live[MAX_LIVE];
	int nlive = 0;

	char line[64];
	size_t have = 0;
	for (;;) {
		struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (p[1].revents) {
			int term = drain(sfd);
			for (;;) {
				pid_t r = waitpid(-1, NULL, WNOHANG);
				if (r <= 0)
					break;
				for (int i = 0; i < nlive; i++)
					if (live[i] == r) {
						live[i] = live[--nlive];
						break;
					}
			}
			if (term)
				break;
		}
		if (p[0].revents) {
			ssize_t n = read(0, line + have, sizeof line - have);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break; /* EOF or error: clean up and leave */
			have += (size_t)n;
			char *nl;
			while ((nl = memchr(line, '\n', have)) != NULL) {
				size_t used = (size_t)(nl - line) + 1;
				memmove(line, line + used, have - used);
				have -= used;
				pid_t pid;
				int err = posix_spawn(&pid, "/bin/sleep", NULL, &attr, argv, environ);
				if (err) {
					errno = err;
					die("posix_spawn /bin/sleep");
				}
				if (nlive < MAX_LIVE)
					live[nlive++] = pid;
				printf("%d\n", (int)pid);
			}
			if (have == sizeof line)
				have = 0; /* overlong line: drop it */
		}
	}
	for (int i = 0; i < nlive; i++)
		kill(live[i], SIGKILL);
	reap_until_none(sfd);
	return 0;
}

static int cmd_run(char **argv)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		die("prctl(PR_SET_CHILD_SUBREAPER)");
	int sfd = signals_fd();
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		sigset_t empty;
		sigemptyset(&empty);
		sigprocmask(SIG_SETMASK, &empty, NULL);
		setpgid(0, 0);
		execvp(argv[0], argv);
		fprintf(stderr, "reaper: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid); /* both sides, so the group exists before either goes on */
	for (;;) {
		if (reap_all() < 0)
			return 0;
		struct pollfd p = { .fd = sfd, .events = POLLIN };
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			die("poll");
		if (drain(sfd)) { /* the harness died: take the group down with it */
			kill(-pid, SIGKILL);
			reap_until_none(sfd);
			return 0;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "serve") == 0)
		return cmd_serve();
	if (argc >= 3 && strcmp(argv[1], "run") == 0)
		return cmd_run(argv + 2);
	fprintf(stderr, "usage: reaper serve | reaper run CMD [ARG...]\n");
	return 2;
}
