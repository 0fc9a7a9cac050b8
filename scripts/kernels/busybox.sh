#!/usr/bin/env bash
# Print the path of a static busybox for ARCH (x86_64 or arm64): the host's busybox-static
# for x86_64 (installed by tools.sh), Debian bookworm's busybox-static:arm64 (downloaded with the
# private apt state, extracted into .vendor/kernels/busybox-arm64) for arm64.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
case "$1" in
  x86_64)
    bb=/bin/busybox
    file -L "$bb" | grep -q 'statically linked' || die "$bb is not static: apt-get install busybox-static"
    echo "$bb" ;;
  arm64)
    dir="$KVENDOR/busybox-arm64"
    if [ ! -x "$dir/bin/busybox" ]; then
      "$KERNELS_DIR/apt.sh" updated || "$KERNELS_DIR/apt.sh" update
      rm -rf "$dir.debs" && "$KERNELS_DIR/apt.sh" download "$dir.debs" busybox-static:arm64/bookworm
      rm -rf "$dir" && dpkg -x "$dir.debs"/busybox-static_*.deb "$dir" && rm -rf "$dir.debs"
    fi
    echo "$dir/bin/busybox" ;;
  *) die "usage: busybox.sh x86_64|arm64" ;;
esac
