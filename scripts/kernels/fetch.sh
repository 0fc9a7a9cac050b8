#!/usr/bin/env bash
# Download one pinned kernel of kernels.txt and extract what a VM needs from it:
#
#   scripts/kernels/fetch.sh LABEL ARCH     # e.g. 6.1 arm64
#
# Result in .vendor/kernels/LABEL-ARCH/: vmlinuz, release (uname -r), modules/*.ko (the
# virtio/9p/overlay modules and everything they depend on, decompressed) and modules/order
# (load order). Skipped when already made from the same pins.
# The .debs stay in .vendor/kernels/debs.
# A pinned version the mirror lacks fails the run, listing the versions it has.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
LABEL="$1" ARCH="$2"
OUT="$KVENDOR/$LABEL-$ARCH"
mapfile -t PKGS < <(pinned_packages "$LABEL" "$ARCH")
# .complete holds the pins it was made from: a changed line in kernels.txt redoes it.
[ -e "$OUT/.complete" ] && [ "$(cat "$OUT/.complete")" = "${PKGS[*]}" ] && exit 0
DEBARCH="$(deb_arch "$ARCH")"
DEBS="$KVENDOR/debs"
APT="$KERNELS_DIR/apt.sh"
# What the initramfs loads: 9p over virtio-pci, overlayfs, virtio-rng (Node's getrandom stalls
# on 5.10 without entropy). Built-in ones (6.x has virtio_pci built in) are simply not listed.
MODULES=(virtio_pci 9pnet_virtio 9p overlay virtio_rng)

specs=()
for p in "${PKGS[@]}"; do specs+=("${p%%=*}:$DEBARCH=${p#*=}"); done
# apt-get download names a file NAME_VERSION_ARCH.deb (an epoch's ':' as %3a).
deb_file() { local v="${1#*=}"; echo "$DEBS/${1%%=*}_${v//:/%3a}_$DEBARCH.deb"; }
have_all() { local p; for p in "${PKGS[@]}"; do [ -s "$(deb_file "$p")" ] || return 1; done; }
if ! have_all; then
  "$APT" updated || "$APT" update
  if ! "$APT" download "$DEBS" "${specs[@]}"; then
    log "download failed; refreshing the lists once"
    "$APT" update
    if ! "$APT" download "$DEBS" "${specs[@]}"; then
      for p in "${PKGS[@]}"; do
        log "  ${p%%=*} (pinned ${p#*=}); the mirror has: $("$APT" madison "${p%%=*}:$DEBARCH" | awk -F'|' '{printf "%s ", $2}')"
      done
      die "kernel $LABEL $ARCH: a pinned package is not on the mirror; update scripts/kernels/kernels.txt"
    fi
  fi
fi

log "extracting kernel $LABEL $ARCH"
TMP="$(mktemp -d "$KVENDOR/extract.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
for p in "${PKGS[@]}"; do
  deb="$(deb_file "$p")"
  # Only the image, the module tree's index files and the modules a VM could need.
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$TMP" --wildcards --no-anchored \
    'vmlinuz*' 'modules.order' 'modules.builtin*' 'kernel/fs/*' 'kernel/net/9p/*' \
    'kernel/drivers/virtio/*' 'kernel/drivers/char/hw_random/*' 'kernel/lib/*' 'kernel/crypto/*' \
    'kernel/drivers/block/virtio*' 2>/dev/null || true
done
# Modules live under lib/modules (usr/lib/modules since trixie); depmod -b wants lib/modules.
if [ ! -d "$TMP/lib/modules" ] && [ -d "$TMP/usr/lib/modules" ]; then
  mkdir -p "$TMP/lib" && ln -s ../usr/lib/modules "$TMP/lib/modules"
fi
RELEASE="$(ls "$TMP/lib/modules/" | head -1)"
[ -n "$RELEASE" ] || die "no modules directory in ${PKGS[*]}"
VMLINUZ="$(ls "$TMP"/boot/vmlinuz-* "$TMP/lib/modules/$RELEASE/vmlinuz" 2>/dev/null | head -1 || true)"
[ -n "$VMLINUZ" ] || die "no vmlinuz in ${PKGS[*]}"
depmod -b "$TMP" "$RELEASE"

rm -rf "$OUT" && mkdir -p "$OUT/modules"
cp "$VMLINUZ" "$OUT/vmlinuz"
echo "$RELEASE" >"$OUT/release"
: >"$OUT/modules/order"
for m in "${MODULES[@]}"; do
  # insmod lines in dependency order; "builtin NAME" for built-in ones.
  deps="$(modprobe -d "$TMP" -S "$RELEASE" --show-depends "$m" 2>&1)" || die "module $m: $deps"
  while read -r kind path _; do
    [ "$kind" = insmod ] || continue
    name="$(basename "$path")"; name="${name%.xz}"; name="${name%.zst}"; name="${name%.gz}"
    grep -qx "$name" "$OUT/modules/order" && continue
    case "$path" in
      *.xz) xz -dc "$path" >"$OUT/modules/$name" ;;
      *.zst) zstd -qdc "$path" >"$OUT/modules/$name" ;;
      *.gz) gzip -dc "$path" >"$OUT/modules/$name" ;;
      *) cp "$path" "$OUT/modules/$name" ;;
    esac
    echo "$name" >>"$OUT/modules/order"
  done <<<"$deps"
done
echo "${PKGS[*]}" >"$OUT/.complete"
log "kernel $LABEL $ARCH: $RELEASE, modules: $(tr '\n' ' ' <"$OUT/modules/order")"
