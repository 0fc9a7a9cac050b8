#!/usr/bin/env bash
# Run the arm64 Node.js (from scripts/setup-arm64.sh) under qemu-user, passing all arguments on.
#
#   scripts/node-arm64.sh -p process.arch                  # -> arm64
#   scripts/node-arm64.sh node_modules/vitest/vitest.mjs run
#
# Child processes: node's child_process.fork()/spawn(process.execPath) (and so vitest's default
# 'forks' pool) exec the arm64 ELF directly. Under qemu-user that exec goes to the host kernel,
# which runs it only if a binfmt_misc entry hands aarch64 ELFs to qemu; otherwise it fails with
# ENOEXEC (libuv's execvp then hands the file to /bin/sh: "Syntax error: ")" unexpected").
# qemu 7.2 (Debian 12) has no option to intercept execve. So this script registers the entry
# (scripts/arm64-binfmt.sh: mounts binfmt_misc, needs root) when it is missing; if that is not
# possible it warns, and only `vitest --pool=threads` with tests that start no arm64 child works.
# Host (x86_64) programs such as sleep or sh can always be spawned from inside qemu.
# The arm64 children find the sysroot through QEMU_LD_PREFIX (inherited environment); a child
# started with a cleared environment (env: {}) fails to find /lib/ld-linux-aarch64.so.1.
#
# Environment:
#   ARM64_SYSROOT   sysroot (default .vendor/arm64-sysroot)
#   ARM64_NODE      node binary (default .vendor/node-arm64/bin/node)
#   QEMU            qemu binary (default qemu-aarch64-static)
#   ARM64_BINFMT=0  do not try to register binfmt_misc
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SYSROOT="${ARM64_SYSROOT:-$ROOT/.vendor/arm64-sysroot}"
NODE="${ARM64_NODE:-$ROOT/.vendor/node-arm64/bin/node}"
QEMU="${QEMU:-qemu-aarch64-static}"
if [ ! -x "$NODE" ] || [ ! -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ]; then
  echo "node-arm64.sh: run scripts/setup-arm64.sh first ($NODE / $SYSROOT missing)" >&2
  exit 127
fi
# QEMU_LD_PREFIX is inherited by children, so arm64 children started through binfmt_misc (whose
# interpreter is qemu-aarch64-static, which reads QEMU_LD_PREFIX) find the same sysroot.
export QEMU_LD_PREFIX="$SYSROOT"
if [ "${ARM64_BINFMT:-1}" != 0 ] && ! { [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] &&
     head -1 /proc/sys/fs/binfmt_misc/qemu-aarch64 | grep -qx enabled; }; then
  "$ROOT/scripts/arm64-binfmt.sh" 2>/dev/null ||
    echo "node-arm64.sh: warning: binfmt_misc for aarch64 unavailable; arm64 child processes (fork, vitest 'forks' pool) will fail" >&2
fi
exec "$QEMU" -L "$SYSROOT" "$NODE" "$@"
