/*
 * sleepers N
 *
 * Forks N children that sleep until they are killed, prints each child's pid
 * on its own line, then "ready". It reaps each child as it dies (so the
 * kernel's exit record gets its status), and exits once all are gone. At EOF
 * on stdin (the test is done, or died) it kills the rest first; a child also
 * dies with this process (PR_SET_PDEATHSIG). No exec per child: thousands
 * start in well under a second, even under ASan's LD_PRELOAD.
 * Exit status 2 for bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN 10000

static pid_t pids[MAX_CHILDREN];
static long started;

static void on_sigchld(int sig) { (void)sig; }

/* Our live children only: a pid we have not reaped cannot belong to anyone else. */
static void kill_all(int sig)
{
	for (long i = 0; i < started; i++)
		if (pids[i] > 0)
			kill(pids[i], sig);
}

int main(int argc, char **argv)
{
	char *end;
	long n = argc == 2 ? strtol(argv[1], &end, 10) : -1;
	if (argc != 2 || !*argv[1] || *end || n < 0 || n > MAX_CHILDREN) {
		fprintf(stderr, "usage: sleepers N   (0 <= N <= %d)\n", MAX_CHILDREN);
		return 2;
	}
	/* SIGCHLD blocked except inside ppoll: no death is missed between reaps. */
	sigset_t chld, during_poll;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &during_poll);
	sigdelset(&during_poll, SIGCHLD);
	struct sigaction sa = {0};
	sa.sa_handler = on_sigchld;
	sigaction(SIGCHLD, &sa, NULL);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	pid_t parent = getpid();
	long alive = 0;
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("sleepers: fork");
			kill_all(SIGKILL);
			return 1;
		}
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			signal(SIGCHLD, SIG_DFL);
			sigset_t none;
			sigemptyset(&none);
			sigprocmask(SIG_SETMASK, &none, NULL);
			for (;;)
				pause();
		}
		pids[started++] = pid;
		alive++;
		printf("%d\n", (int)pid);
	}
	printf("ready\n");
	fflush(stdout);

	int stdin_open = 1;
	while (alive > 0) {
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			alive--;
			for (long i = 0; i < started; i++)
				if (pids[i] == pid)
					pids[i] = 0; /* reaped: the pid is free for others now */
		}
		if (alive == 0)
			break;
		struct pollfd in = {0, POLLIN, 0};
		int r = ppoll(&in, stdin_open ? 1 : 0, NULL, &during_poll);
		if (r > 0 && stdin_open) {
			char buf[256];
			if (read(0, buf, sizeof buf) <= 0) {
				stdin_open = 0;
				kill_all(SIGKILL);
			}
		} else if (r < 0 && errno != EINTR) {
			perror("sleepers: ppoll");
			return 1;
		}
	}
	return 0;
}
