/* pidfd-keeper: the program a tree's keeper (src/keeper.cc) executes once the root runs, so
 * that it has a memory of its own. Until then it shares the supervisor's, and the OOM killer
 * kills every process sharing the victim's memory: the keeper would die with an OOM-killed
 * supervisor and leave the tree running. Built freestanding (src/build-keeper.sh): no
 * libc, just the keeper loop on raw syscalls, the same on glibc and musl hosts.
 *
 *   argv: KEEPER_PROTOCOL ROOT LIFELINE REPORT DIE CGROUP PARENT NAME
 *
 * numbers in decimal (-1: none); the fds and the root (our child) come through the exec. */
#include "keeper_loop.h"

static long number(const char* s) {
  long sign = 1, n = 0;
  if (*s == '-') sign = -1, s++;
  while (*s >= '0' && *s <= '9') n = n * 10 + (*s++ - '0');
  return sign * n;
}

__attribute__((used, noreturn)) void keeper_program(long* stack) {
  long argc = stack[0];
  char** argv = (char**)(stack + 1);
  const char* want = KEEPER_PROTOCOL;
  const char* got = argv[0];
  while (*want != '\0' && *want == *got) want++, got++;
  if (argc != 8 || *want != *got) keeper_exit(2);
  struct keeper_state k;
  k.root = number(argv[1]);
  k.lifeline = (int)number(argv[2]);
  k.report = (int)number(argv[3]);
  k.die = (int)number(argv[4]);
  k.cgroup = (int)number(argv[5]);
  k.parent = (int)number(argv[6]);
  k.name = argv[7];
  keeper_run(&k, 1);
  keeper_exit(0);
}

/* The entry: the kernel's initial stack holds argc, argv. */
#if defined(__x86_64__)
__asm__(".text\n.global _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n call keeper_program\n hlt\n");
#elif defined(__aarch64__)
__asm__(".text\n.global _start\n_start:\n mov x29, #0\n mov x30, #0\n mov x0, sp\n bl keeper_program\n brk #0\n");
#else
#error "pidfd-keeper: x86_64 and aarch64 only"
#endif

/* What a compiler may call for a struct copy or clear (volatile: or it turns these loops
 * into calls to themselves). */
void* memset(void* d, int c, unsigned long n) {
  volatile unsigned char* p = (volatile unsigned char*)d;
  while (n--) *p++ = (unsigned char)c;
  return d;
}
void* memcpy(void* d, const void* s, unsigned long n) {
  volatile unsigned char* p = (volatile unsigned char*)d;
  const unsigned char* q = (const unsigned char*)s;
  while (n--) *p++ = *q++;
  return d;
}
