#!/usr/bin/env bash
# Compile the C test helpers the kernel suite uses (test/helpers/{threads,zombie,seccomp-run}.c)
# for one architecture into a folder, the way test/helpers/build.ts does for vitest:
#
#   scripts/kernels/helpers.sh x86_64 OUTDIR    # cc
#   scripts/kernels/helpers.sh arm64 OUTDIR     # aarch64-linux-gnu-gcc (scripts/setup-arm64.sh)
#
# A helper is recompiled only when its source is newer.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ARCH="$1" OUTDIR="$2"
case "$ARCH" in x86_64) CC=cc ;; arm64) CC=aarch64-linux-gnu-gcc ;; *) die "unknown arch $ARCH" ;; esac
mkdir -p "$OUTDIR"
for name in threads zombie seccomp-run; do
  src="$ROOT/test/helpers/$name.c"
  [ "$OUTDIR/$name" -nt "$src" ] && continue
  "$CC" -O2 -Wall -Wextra -pthread -o "$OUTDIR/$name.tmp" "$src"
  mv "$OUTDIR/$name.tmp" "$OUTDIR/$name"
done
