/*
 * threads MODE ...: a multithreaded test subject for pidfd tests.
 *
 *   leader-exit MS CODE     main prints "ready <pid>" and calls pthread_exit, so the
 *                           leader is a zombie while a second thread runs; that
 *                           thread prints "leader-exited" once /proc shows the
 *                           leader as a zombie, sleeps MS ms, then exit(CODE).
 *   leader-exit-wait CODE   the same, but the thread waits for a line (or EOF) on
 *                           stdin instead of sleeping, then exit(CODE).
 *   thread-exec PROGRAM ARG...
 *                           a non-leader thread prints "exec" and execs PROGRAM
 *                           (PATH is searched); the process keeps its pid.
 *   threads N               N threads each print "tid <tid>" and pause; then main
 *                           prints "ready" and pauses.
 *   thread-exit-on-signal   one thread prints "tid <tid>", waits for SIGUSR1 (to
 *                           that thread or to the process) and returns, so only
 *                           it exits; main prints "ready" and pauses.
 *
 * Every line is flushed when written. Exit status 2 for bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: threads leader-exit MS CODE\n"
			"       threads leader-exit-wait CODE\n"
			"       threads thread-exec PROGRAM ARG...\n"
			"       threads threads N\n"
			"       threads thread-exit-on-signal\n");
	exit(2);
}

static long parse_num(const char *s, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < 0 || v > max)
		usage();
	return v;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "threads: %s: %s\n", what, strerror(err));
	exit(1);
}

static void start(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, fn, arg);
	if (err)
		die("pthread_create", err);
	pthread_detach(t);
}

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void sleep_forever(void)
{
	for (;;)
		pause();
}

/* --- leader-exit, leader-exit-wait ------------------------------------- */

static long survivor_ms = -1; /* -1: wait for stdin instead */
static int survivor_code;

/* State letter of the leader task ("pid (comm) S ..."). Read through task/
 * because qemu-user fakes /proc/self/stat but not the per-task files. */
static char leader_state(void)
{
	char path[64], buf[512] = "";
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)getpid());
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

static void *survivor(void *arg)
{
	(void)arg;
	/* pthread_exit in main returns before the kernel marks the leader a
	 * zombie; announce only once it is, so tests can rely on the state. */
	while (leader_state() != 'Z')
		usleep(1000);
	printf("leader-exited\n");
	if (survivor_ms >= 0) {
		struct timespec ts = { survivor_ms / 1000, (survivor_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	} else {
		char line[64];
		(void)!fgets(line, sizeof(line), stdin);
	}
	exit(survivor_code); /* exit_group: ends the whole process */
}

static int leader_exit(void)
{
	start(survivor, NULL);
	printf("ready %d\n", (int)getpid());
	pthread_exit(NULL);
}

/* --- thread-exec ------------------------------------------------------- */

static void *execer(void *arg)
{
	char **argv = arg;
	printf("exec\n");
	execvp(argv[0], argv);
	fprintf(stderr, "threads: exec %s: %s\n", argv[0], strerror(errno));
	exit(127);
}

/* --- threads N --------------------------------------------------------- */

static sem_t printed;

static void *tid_printer(void *arg)
{
	(void)arg;
	printf("tid %d\n", (int)gettid_());
	sem_post(&printed);
	sleep_forever();
	return NULL;
}

/* --- thread-exit-on-signal --------------------------------------------- */

static void *signal_waiter(void *arg)
{
	sigset_t *set = arg;
	int sig;
	printf("tid %d\n", (int)gettid_());
	sem_post(&printed);
	sigwait(set, &sig);
	return NULL; /* only this thread exits */
}

int main(int argc, char **argv)
{
	/* Line-buffered even into a pipe, so each line is flushed as written. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	const char *mode = argv[1];

	if (strcmp(mode, "leader-exit") == 0 && argc == 4) {
		survivor_ms = parse_num(argv[2], 1L << 30);
		survivor_code = (int)parse_num(argv[3], 255);
		return leader_exit();
	}
	if (strcmp(mode, "leader-exit-wait") == 0 && argc == 3) {
		survivor_code = (int)parse_num(argv[2], 255);
		return leader_exit();
	}
	if (strcmp(mode, "thread-exec") == 0 && argc >= 3) {
		start(execer, argv + 2);
		sleep_forever();
	}
	if (strcmp(mode, "threads") == 0 && argc == 3) {
		long n = parse_num(argv[2], 1000);
		sem_init(&printed, 0, 0);
		for (long i = 0; i < n; i++)
			start(tid_printer, NULL);
		for (long i = 0; i < n; i++)
			while (sem_wait(&printed) != 0)
				;
		printf("ready\n");
		sleep_forever();
	}
	if (strcmp(mode, "thread-exit-on-signal") == 0 && argc == 2) {
		/* Blocked in every thread (the mask is inherited), so a SIGUSR1 sent
		 * to the process stays pending until the waiter's sigwait takes it. */
		static sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		sem_init(&printed, 0, 0);
		start(signal_waiter, &set);
		while (sem_wait(&printed) != 0)
			;
		printf("ready\n");
		sleep_forever();
	}
	usage();
}
