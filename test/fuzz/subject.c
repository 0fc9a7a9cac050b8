/*
 * subject MS CODE     sleeps MS milliseconds, then _exit(CODE)
 * subject MS -SIG     sleeps MS milliseconds, then dies of signal SIG
 * subject line CODE   (or -SIG) waits for a line or EOF on stdin instead: a subject that
 *                     surely runs until the test lets it go, however slow the machine
 *
 * A process with a known fate for the lifecycle fuzzer and the fault tests: no shell in
 * between (shells wait for their children and treat some signals specially), default
 * dispositions for every signal, and no core files (RLIMIT_CORE 0), whatever signal the
 * fuzzer sends it. The sleep is restarted after signals that do not kill (SIGCONT...).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 3) return 2;
	struct rlimit none = {0, 0};
	setrlimit(RLIMIT_CORE, &none);
	/* A shell's background job starts with SIGINT and SIGQUIT ignored: undo all that. */
	for (int s = 1; s < 65; s++) signal(s, SIG_DFL);
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	long what = strtol(argv[2], NULL, 10);
	if (strcmp(argv[1], "line") == 0) {
		char c;
		ssize_t n;
		while ((n = read(0, &c, 1)) > 0 || (n < 0 && errno == EINTR)) {
			if (n > 0 && c == '\n') break;
		}
	} else {
		long ms = strtol(argv[1], NULL, 10);
		struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
		while (nanosleep(&left, &left) < 0 && errno == EINTR) {
		}
	}
	if (what >= 0) _exit((int)what);
	int sig = (int)-what;
	signal(sig, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(99); /* not a fatal signal */
}
