/*
 * subreaper PROGRAM ARG...
 *
 * Becomes a child subreaper (PR_SET_CHILD_SUBREAPER), runs PROGRAM, and reaps
 * every process that ends up its child (PROGRAM, and PROGRAM's descendants once
 * orphaned) until none is left; then it prints "empty" and exits 0. So it exits
 * exactly when PROGRAM and everything it started are gone, and leaves no zombie
 * behind on a host whose init does not reap. It is SIGKILLed when its own parent
 * dies. Exit status 2 for bad usage, 1 when it cannot start PROGRAM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: subreaper PROGRAM ARG...\n");
		return 2;
	}
	pid_t parent = getppid();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
		perror("subreaper: prctl");
		return 1;
	}
	if (getppid() != parent)
		return 1;
	pid_t pid = fork();
	if (pid < 0) {
		perror("subreaper: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror("subreaper: exec");
		_exit(127);
	}
	for (;;) {
		if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD)
			break;
	}
	printf("empty\n");
	fflush(stdout);
	return 0;
}
