#!/usr/bin/env bash
# Install what the kernel matrix needs on the host (Debian/Ubuntu apt; root), once:
# qemu-system-x86 and qemu-system-arm (the VMs), busybox-static (the initramfs and the arm64
# root's applets come from the same Debian build), cpio, kmod (depmod/modprobe -d for module
# lists), xz-utils and zstd (compressed modules), file. The arm64 toolchain, sysroot and Node
# come from scripts/setup-arm64.sh (called by arm64-root.sh).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need=()
for t in qemu-system-x86_64:qemu-system-x86 qemu-system-aarch64:qemu-system-arm cpio:cpio \
         depmod:kmod xz:xz-utils zstd:zstd file:file unshare:util-linux; do
  command -v "${t%%:*}" >/dev/null || need+=("${t#*:}")
done
{ [ -x /bin/busybox ] && file -L /bin/busybox | grep -q 'statically linked'; } || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  log "installing ${need[*]} (apt)"
  $SUDO apt-get update -q >&2
  $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >&2
fi
