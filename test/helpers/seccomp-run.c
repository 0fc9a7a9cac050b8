/*
 * seccomp-run RULE... -- PROGRAM ARG...
 *
 * Runs PROGRAM under a seccomp filter that makes selected syscalls fail with
 * a chosen errno, to simulate old kernels, container profiles and qemu-user.
 * Each RULE is NAME=ERRNO (ERRNO: a name such as ENOSYS, or a number); see
 * usage() for the names. Anything no rule matches is allowed. The filter is
 * inherited by every child and thread of PROGRAM and survives exec.
 *
 * Exit status: 2 for bad usage, 1 if the filter cannot be installed, 127 if
 * PROGRAM cannot be executed; otherwise whatever PROGRAM exits with.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SELF_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SELF_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "seccomp-run supports x86_64 and aarch64 only"
#endif

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "seccomp-run assumes little-endian seccomp_data.args"
#endif

/* Older libc headers may lack these; the numbers are the same on both arches. */
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_process_mrelease
#define SYS_process_mrelease 448
#endif

#define F_CLONE_VM 0x100u
#define F_CLONE_PIDFD 0x1000u
#define F_CLONE_THREAD 0x10000u
#define F_PIDFD_THREAD 0x80u    /* O_EXCL */
#define P_PIDFD_IDTYPE 3u
#define PIDFD_GET_INFO_LOW 0xff0bu /* _IOWR(0xFF, 11, ...): type and number */

/*
 * A check passes when (low 32 bits of args[arg] & mask) == value, or != value
 * when !equal. Only low halves are looked at: every argument tested here is
 * an int or unsigned int in the kernel's prototype, so the upper half is
 * ignored by the kernel too.
 */
struct check {
	unsigned arg;
	uint32_t mask, value;
	bool equal;
};

struct kind {
	const char *name;
	long nr;
	unsigned nchecks;
	struct check checks[2];
};

static const struct kind kinds[] = {
	{ "clone3", SYS_clone3, 0, { { 0 } } },
	/* Only clone3 calls passing the 64-byte CLONE_ARGS_SIZE_VER0 struct (the addon's):
	 * glibc's pthread_create passes its larger struct and falls back to clone only on
	 * ENOSYS, so failing every clone3 with EPERM would stop node from starting threads. */
	{ "clone3-v0", SYS_clone3, 1, { { 1, 0xffffffffu, 64, true } } },
	/* clone's flags are args[0] on both x86_64 and aarch64. */
	{ "clone-pidfd", SYS_clone, 1, { { 0, F_CLONE_PIDFD, 0, false } } },
	/* A new process sharing memory (vfork-style spawn), but not a thread:
	 * what qemu-user cannot do. */
	{ "clone-vm", SYS_clone, 2,
	  { { 0, F_CLONE_VM, 0, false }, { 0, F_CLONE_THREAD, 0, true } } },
	{ "pidfd_open", SYS_pidfd_open, 0, { { 0 } } },
	{ "pidfd_open-thread", SYS_pidfd_open, 1, { { 1, F_PIDFD_THREAD, 0, false } } },
	{ "pidfd_send_signal", SYS_pidfd_send_signal, 0, { { 0 } } },
	{ "pidfd_send_signal-flags", SYS_pidfd_send_signal, 1,
	  { { 3, 0xffffffffu, 0, false } } },
	{ "pidfd_getfd", SYS_pidfd_getfd, 0, { { 0 } } },
	{ "process_mrelease", SYS_process_mrelease, 0, { { 0 } } },
	{ "waitid-pidfd", SYS_waitid, 1, { { 0, 0xffffffffu, P_PIDFD_IDTYPE, true } } },
	{ "pidfd_get_info", SYS_ioctl, 1, { { 1, 0xffffu, PIDFD_GET_INFO_LOW, true } } },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

#define ERRNO_ENTRY(e) { #e, e }
static const struct {
	const char *name;
	int value;
} errnos[] = {
	ERRNO_ENTRY(EPERM),  ERRNO_ENTRY(ENOENT), ERRNO_ENTRY(ESRCH),
	ERRNO_ENTRY(EINTR),  ERRNO_ENTRY(EIO),    ERRNO_ENTRY(E2BIG),
	ERRNO_ENTRY(EBADF),  ERRNO_ENTRY(ECHILD), ERRNO_ENTRY(EAGAIN),
	ERRNO_ENTRY(ENOMEM), ERRNO_ENTRY(EACCES), ERRNO_ENTRY(EFAULT),
	ERRNO_ENTRY(EBUSY),  ERRNO_ENTRY(EEXIST), ERRNO_ENTRY(EINVAL),
	ERRNO_ENTRY(ENFILE), ERRNO_ENTRY(EMFILE), ERRNO_ENTRY(ENOTTY),
	ERRNO_ENTRY(ENOSPC), ERRNO_ENTRY(ERANGE), ERRNO_ENTRY(ENOSYS),
	ERRNO_ENTRY(EOPNOTSUPP), ERRNO_ENTRY(EREMOTE),
};
#define NERRNOS (sizeof(errnos) / sizeof(errnos[0]))

/* Longest block emit_rule() writes: ld nr, jeq, 3 per check, ret. */
#define MAX_RULE_INSNS (2 + 3 * 2 + 1)

static void usage(const char *why)
{
	if (why)
		fprintf(stderr, "seccomp-run: %s\n", why);
	fprintf(stderr, "usage: seccomp-run RULE... -- PROGRAM ARG...\n"
			"  RULE is NAME=ERRNO, ERRNO a name (ENOSYS, EPERM, ...) or 1..4095\n"
			"  NAME is one of:");
	for (size_t i = 0; i < NKINDS; i++)
		fprintf(stderr, " %s", kinds[i].name);
	fputc('\n', stderr);
	exit(2);
}

static int parse_errno(const char *s)
{
	for (size_t i = 0; i < NERRNOS; i++)
		if (strcmp(s, errnos[i].name) == 0)
			return errnos[i].value;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	/* The kernel caps SECCOMP_RET_ERRNO data at MAX_ERRNO (4095). */
	if (*s < '0' || *s > '9' || *end || errno || v < 1 || v > 4095)
		return -1;
	return (int)v;
}

static uint32_t arg_low(unsigned i)
{
	return offsetof(struct seccomp_data, args) + 8 * i;
}

/*
 * Appends one self-contained block: "if nr matches and every check passes,
 * return the errno", otherwise fall through to the next block. BPF jumps are
 * forward offsets from the next instruction, so a failed test jumps by the
 * number of instructions left in the block.
 */
static size_t emit_rule(struct sock_filter *out, const struct kind *k, int err)
{
	size_t len = 3; /* ld nr, jeq nr, ret */
	for (unsigned c = 0; c < k->nchecks; c++)
		len += k->checks[c].mask == 0xffffffffu ? 2 : 3;

	size_t n = 0;
#define SKIP ((uint8_t)(len - n - 1))
	out[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						offsetof(struct seccomp_data, nr));
	out[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      (uint32_t)k->nr, 0, SKIP);
	n++;
	for (unsigned c = 0; c < k->nchecks; c++) {
		const struct check *ck = &k->checks[c];
		out[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
							arg_low(ck->arg));
		if (ck->mask != 0xffffffffu)
			out[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K,
								ck->mask);
		out[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ck->value,
						      ck->equal ? 0 : SKIP,
						      ck->equal ? SKIP : 0);
		n++;
	}
#undef SKIP
	out[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
						SECCOMP_RET_ERRNO | (uint32_t)err);
	return n;
}

int main(int argc, char **argv)
{
	int sep = 1;
	while (sep < argc && strcmp(argv[sep], "--") != 0)
		sep++;
	if (sep >= argc - 1)
		usage("missing -- PROGRAM");

	size_t cap = 4 + (size_t)sep * MAX_RULE_INSNS;
	if (cap > BPF_MAXINSNS)
		usage("too many rules");
	struct sock_filter *insns = calloc(cap, sizeof(*insns));
	if (!insns) {
		perror("seccomp-run: calloc");
		return 1;
	}

	size_t n = 0;
	/* Syscalls made under another ABI (e.g. i386 on x86_64) have other
	 * numbers: leave them alone rather than misreading them. */
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						  offsetof(struct seccomp_data, arch));
	insns[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						  SELF_AUDIT_ARCH, 1, 0);
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

	for (int i = 1; i < sep; i++) {
		const char *eq = strchr(argv[i], '=');
		if (!eq) {
			fprintf(stderr, "seccomp-run: rule '%s' has no =ERRNO\n", argv[i]);
			usage(NULL);
		}
		size_t namelen = (size_t)(eq - argv[i]);
		const struct kind *k = NULL;
		for (size_t j = 0; j < NKINDS; j++)
			if (strlen(kinds[j].name) == namelen &&
			    strncmp(kinds[j].name, argv[i], namelen) == 0)
				k = &kinds[j];
		if (!k) {
			fprintf(stderr, "seccomp-run: unknown rule '%.*s'\n", (int)namelen,
				argv[i]);
			usage(NULL);
		}
		int err = parse_errno(eq + 1);
		if (err < 0) {
			fprintf(stderr, "seccomp-run: bad errno '%s'\n", eq + 1);
			usage(NULL);
		}
		n += emit_rule(insns + n, k, err);
	}
	insns[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

	struct sock_fprog prog = { .len = (unsigned short)n, .filter = insns };
	/* Required to install a filter without CAP_SYS_ADMIN; harmless as root. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		perror("seccomp-run: PR_SET_NO_NEW_PRIVS");
		return 1;
	}
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		perror("seccomp-run: PR_SET_SECCOMP");
		return 1;
	}
	free(insns);

	execvp(argv[sep + 1], argv + sep + 1);
	fprintf(stderr, "seccomp-run: exec %s: %s\n", argv[sep + 1], strerror(errno));
	return 127;
}
