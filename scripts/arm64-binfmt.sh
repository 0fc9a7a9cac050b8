#!/usr/bin/env bash
# Make the kernel run aarch64 ELF files through qemu-aarch64-static (binfmt_misc), so that an
# arm64 process under qemu can exec/fork other arm64 programs (node's child_process.fork and
# spawn(process.execPath), vitest's default 'forks' pool). Idempotent; needs root.
#
#   scripts/arm64-binfmt.sh          # exit 0: registered and enabled; 1: not possible here
#   scripts/arm64-binfmt.sh --check  # only report
#
# Steps: mount binfmt_misc on /proc/sys/fs/binfmt_misc if it is not mounted (a VM or a
# privileged container allows it; an unprivileged container does not), then register Debian's
# entry /usr/lib/binfmt.d/qemu-aarch64.conf (interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P,
# flags POF) or, without it, an equivalent entry with /usr/bin/qemu-aarch64-static and flags F.
# F makes the kernel open the interpreter at registration time, so it also works inside
# chroots/containers. The registration is lost at reboot: callers just run this again.
# The qemu started this way reads QEMU_LD_PREFIX from the environment to find the arm64 sysroot
# (scripts/node-arm64.sh exports it; children inherit it unless a test clears the environment).
set -euo pipefail
BM=/proc/sys/fs/binfmt_misc
NAME='qemu-aarch64'
log() { printf '[arm64-binfmt] %s\n' "$*" >&2; }

registered() { [ -e "$BM/$NAME" ] && head -1 "$BM/$NAME" | grep -qx enabled; }
if registered; then log "$NAME registered: $(sed -n 's/^interpreter //p' "$BM/$NAME")"; exit 0; fi
[ "${1:-}" = --check ] && { log "$NAME not registered"; exit 1; }

if [ ! -e "$BM/register" ]; then
  mount -t binfmt_misc binfmt_misc "$BM" 2>/dev/null || { log "cannot mount binfmt_misc at $BM"; exit 1; }
fi
if [ -e "$BM/$NAME" ]; then            # registered but disabled
  echo 1 > "$BM/$NAME" 2>/dev/null || true
else
  MAGIC='\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
  MASK='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
  if [ -r /usr/lib/binfmt.d/$NAME.conf ] && [ -x /usr/libexec/qemu-binfmt/aarch64-binfmt-P ]; then
    entry="$(cat /usr/lib/binfmt.d/$NAME.conf)"
  else
    qemu="$(command -v qemu-aarch64-static)" || { log "qemu-aarch64-static not installed"; exit 1; }
    entry=":$NAME:M::$MAGIC:$MASK:$qemu:F"
  fi
  printf '%s' "$entry" > "$BM/register" 2>/dev/null || { log "registration refused by the kernel"; exit 1; }
fi
registered || { log "registration did not take effect"; exit 1; }
log "$NAME registered: $(sed -n 's/^interpreter //p' "$BM/$NAME")"
