/*
 * LD_PRELOAD=sigchld-ignore.so node ...   runs node with SIGCHLD ignored.
 *
 * A wrapper that sets SIGCHLD to SIG_IGN before exec (perl -e '$SIG{CHLD}="IGNORE"; exec
 * @ARGV') is not enough: node resets every disposition to SIG_DFL at startup. This shim
 * turns that reset (and any later SIG_DFL) of SIGCHLD into SIG_IGN, so the kernel reaps
 * every child of the process by itself, as for a host that ignores SIGCHLD. Handlers (libuv
 * installs one when child_process is used) still go through.
 * SIGCHLD_IGNORE_NOCLDWAIT=1 uses SA_NOCLDWAIT with SIG_DFL instead (the same effect).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static int apply(sigaction_fn real, int sig, const struct sigaction *act, struct sigaction *old) {
	if (sig == SIGCHLD && act != NULL && act->sa_handler == SIG_DFL && !(act->sa_flags & SA_SIGINFO)) {
		struct sigaction ign = *act;
		const char *nocldwait = getenv("SIGCHLD_IGNORE_NOCLDWAIT");
		if (nocldwait != NULL && strcmp(nocldwait, "1") == 0) ign.sa_flags |= SA_NOCLDWAIT;
		else ign.sa_handler = SIG_IGN;
		return real(sig, &ign, old);
	}
	return real(sig, act, old);
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
	static sigaction_fn real;
	if (real == NULL) real = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
	return apply(real, sig, act, old);
}

__attribute__((constructor)) static void init(void) {
	struct sigaction ign;
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &ign, NULL);
}
