#!/usr/bin/env bash
# Build N-API prebuilds with prebuildify into prebuilds/<platform>-<arch>/.
#
#   scripts/prebuild.sh                 # host x64: x64 + arm64 (cross); host arm64: arm64 only
#   scripts/prebuild.sh x64             # only the listed architectures
#   scripts/prebuild.sh arm64
#
# - arm64 on an x64 host is cross-compiled with Debian's aarch64-linux-gnu toolchain
#   (scripts/setup-arm64.sh installs it) and stripped with aarch64-linux-gnu-strip.
# - Flags: --napi --strip --tag-libc, so files are prebuilds/linux-<arch>/<name>.glibc.node.
# - Headers: node-gyp must not download them (only package registries are reachable here), so
#   npm_config_nodedir is set: npm's nodedir config if set, else the prefix of the running node
#   when it has include/node/node_api.h (true for /usr on Debian's nodejs, the nodejs.org
#   tarballs, actions/setup-node and the npm node-linux-* packages). N-API is ABI-stable, so the
#   headers of any Node >= the addon's NAPI_VERSION floor do, for either architecture.
# - build/: node-gyp-build prefers build/Release/*.node over prebuilds/ without checking its
#   architecture, so a leftover build from `node-gyp rebuild`/`npm install` (or of the other
#   architecture) shadows the prebuilds. This script deletes build/ before and after building.
#   (prebuildify itself moves the .node out of build/Release, so it never leaves one there.)
# - After building, every produced file is checked with scripts/check-glibc-floor.sh
#   (SKIP_FLOOR_CHECK=1 to skip), and, when scripts/setup-arm64.sh has been run, the arm64 file
#   is dlopen()ed by the arm64 node under qemu as a smoke test.
#
# Environment: PKG_DIR (package to build; default the repo root), PREBUILDIFY (default
# PKG_DIR/node_modules/.bin/prebuildify), SKIP_FLOOR_CHECK.
set -euo pipefail

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPTS/.." && pwd)"
PKG_DIR="$(cd "${PKG_DIR:-$ROOT}" && pwd)"
PREBUILDIFY="${PREBUILDIFY:-$PKG_DIR/node_modules/.bin/prebuildify}"
log() { printf '[prebuild] %s\n' "$*" >&2; }

case "$(uname -m)" in
  x86_64) HOST=x64 ;; aarch64) HOST=arm64 ;; *) log "unsupported host $(uname -m)"; exit 1 ;;
esac
ARCHES=("$@")
if [ ${#ARCHES[@]} -eq 0 ]; then
  if [ "$HOST" = x64 ]; then ARCHES=(arm64 x64); else ARCHES=(arm64); fi
fi
# Cross first, native last.
ORDERED=()
for a in "${ARCHES[@]}"; do [ "$a" != "$HOST" ] && ORDERED+=("$a"); done
for a in "${ARCHES[@]}"; do [ "$a" = "$HOST" ] && ORDERED+=("$a"); done

[ -x "$PREBUILDIFY" ] || { log "prebuildify not found at $PREBUILDIFY (npm ci first)"; exit 1; }

if [ -z "${npm_config_nodedir:-}" ]; then
  nd="$(npm config get nodedir 2>/dev/null || true)"
  if [ -n "$nd" ] && [ "$nd" != undefined ] && [ "$nd" != null ] && [ -e "$nd/include/node/node_api.h" ]; then
    npm_config_nodedir="$nd"
  else
    nd="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
    if [ -e "$nd/include/node/node_api.h" ]; then npm_config_nodedir="$nd"; fi
  fi
fi
if [ -n "${npm_config_nodedir:-}" ]; then
  export npm_config_nodedir
  log "node headers: $npm_config_nodedir/include/node"
else
  log "warning: no local node headers found; node-gyp will try to download them"
fi

cd "$PKG_DIR"
if [ -d build ]; then log "removing stale build/"; rm -rf build; fi

built=()
for arch in "${ORDERED[@]}"; do
  T0=$(date +%s)
  if [ "$arch" = "$HOST" ]; then
    log "building $arch (native)"
    env -u CC -u CXX -u LINK -u AR PREBUILD_STRIP_BIN=strip \
      "$PREBUILDIFY" --napi --strip --tag-libc --arch "$arch"
  elif [ "$arch" = arm64 ] && [ "$HOST" = x64 ]; then
    command -v aarch64-linux-gnu-g++ >/dev/null ||
      { log "aarch64-linux-gnu-g++ missing: run scripts/setup-arm64.sh"; exit 1; }
    log "building arm64 (cross, aarch64-linux-gnu-g++)"
    CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ \
      AR=aarch64-linux-gnu-ar PREBUILD_STRIP_BIN=aarch64-linux-gnu-strip \
      "$PREBUILDIFY" --napi --strip --tag-libc --arch arm64
  else
    log "cannot build $arch on a $HOST host"; exit 1
  fi
  for f in prebuilds/linux-"$arch"/*.node; do
    [ -e "$f" ] || { log "no .node produced in prebuilds/linux-$arch"; exit 1; }
    want=$([ "$arch" = arm64 ] && echo AArch64 || echo X86-64)
    LC_ALL=C readelf -h "$f" | grep -q "Machine:.*$want" ||
      { log "$f is not an $want file: $(file -b "$f")"; exit 1; }
    built+=("$f")
  done
  log "$arch done in $(( $(date +%s) - T0 ))s"
  # The build/ of this arch must not survive into the next one or into tests.
  rm -rf build
done

ls -l "${built[@]}" >&2
if [ "${SKIP_FLOOR_CHECK:-0}" != 1 ]; then "$SCRIPTS/check-glibc-floor.sh" "${built[@]}"; fi

if [ "$HOST" = x64 ] && [ -x "$ROOT/.vendor/node-arm64/bin/node" ] && command -v qemu-aarch64-static >/dev/null; then
  for f in "${built[@]}"; do
    case "$f" in *linux-arm64/*)
      "$SCRIPTS/node-arm64.sh" -e 'process.dlopen({exports:{}}, require("path").resolve(process.argv[1])); console.log("arm64 dlopen ok:", process.argv[1])' "$f" ;;
    esac
  done
fi
printf '%s\n' "${built[@]}"
