/*
 * zombie N [reap-on-line]
 *
 * Forks N children that exit at once with code 7, prints each child's pid on
 * its own line, then "ready" once all of them have exited (are zombies). Without reap-on-line it then sleeps forever and
 * never reaps them, so they stay zombies while this process lives. With
 * reap-on-line it waits for a line (or EOF) on stdin, reaps every child,
 * prints "reaped" and sleeps forever. Every line is flushed when written.
 * Exit status 2 for bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CHILDREN 1000

static void usage(void)
{
	fprintf(stderr, "usage: zombie N [reap-on-line]   (0 <= N <= %d)\n", MAX_CHILDREN);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "reap-on-line") != 0))
		usage();
	char *end;
	errno = 0;
	long n = strtol(argv[1], &end, 10);
	if (!*argv[1] || *end || errno || n < 0 || n > MAX_CHILDREN)
		usage();
	int reap = argc == 3;

	/* An ignored SIGCHLD is inherited across exec and would make the kernel
	 * reap the children at once: insist on the default. */
	signal(SIGCHLD, SIG_DFL);
	/* A test that fails before it kills us must not leave us sleeping forever: die with the
	 * test process. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Line-buffered even into a pipe: flushed lines, and nothing left in the
	 * buffer for a child to inherit. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	pid_t *pids = calloc((size_t)n + 1, sizeof(*pids));
	if (!pids) {
		perror("zombie: calloc");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("zombie: fork");
			return 1;
		}
		if (pid == 0)
			_exit(7);
		pids[i] = pid;
		printf("%d\n", (int)pid);
	}
	/* "ready" means every child is a zombie by now, however slow the machine: wait for each
	 * exit without reaping it (WNOWAIT). */
	for (long i = 0; i < n; i++) {
		siginfo_t info;
		while (waitid(P_PID, (id_t)pids[i], &info, WEXITED | WNOWAIT) < 0 && errno == EINTR)
			;
	}
	printf("ready\n");

	if (reap) {
		char line[64];
		(void)!fgets(line, sizeof(line), stdin);
		for (long i = 0; i < n; i++)
			while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
				;
		printf("reaped\n");
	}
	for (;;)
		pause();
}
