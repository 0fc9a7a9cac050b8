#!/usr/bin/env bash
# Pack the initramfs of one fetched kernel (fetch.sh first):
#
#   scripts/kernels/initramfs.sh LABEL ARCH  ->  .vendor/kernels/LABEL-ARCH/initrd.img
#
# Contents: a static busybox of ARCH (Debian's busybox-static), init.sh as /init, and the
# modules fetch.sh picked with their load order. Rebuilt when init.sh is newer.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
LABEL="$1" ARCH="$2"
OUT="$KVENDOR/$LABEL-$ARCH"
[ -e "$OUT/.complete" ] || die "kernel $LABEL $ARCH is not fetched (scripts/kernels/fetch.sh $LABEL $ARCH)"
[ "$OUT/initrd.img" -nt "$KERNELS_DIR/init.sh" ] && exit 0
BUSYBOX="$("$KERNELS_DIR/busybox.sh" "$ARCH")"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/bin" "$TMP/modules"
cp "$BUSYBOX" "$TMP/bin/busybox"
cp "$KERNELS_DIR/init.sh" "$TMP/init"
chmod +x "$TMP/init" "$TMP/bin/busybox"
cp "$OUT"/modules/* "$TMP/modules/"
( cd "$TMP" && find . | cpio -o -H newc --quiet | gzip -1 ) >"$OUT/initrd.img.tmp"
mv "$OUT/initrd.img.tmp" "$OUT/initrd.img"
