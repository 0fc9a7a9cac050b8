#!/usr/bin/env bash
# Build N-API prebuilds with prebuildify into prebuilds/linux-<arch>/pidfd.<libc>.node, each
# arch with its pidfd-keeper program (src/keeper_program.c) beside them.
#
#   scripts/prebuild.sh                     # x64 host: x64, arm64, x64-musl, arm64-musl
#                                           # arm64 host: arm64 (plus arm64-musl if ZIG is set)
#   scripts/prebuild.sh x64 arm64-musl      # only the listed targets
#
# Targets: x64 and arm64 are glibc (Debian's g++; arm64 on an x64 host is cross-compiled with
# aarch64-linux-gnu-g++ from scripts/setup-arm64.sh); x64-musl and arm64-musl are built with
# Zig (`zig c++ -target <arch>-linux-musl`, its own musl and a static libc++; scripts/setup-musl.sh
# installs it into .vendor/zig), so they need nothing but musl's libc.so.
#
# - Every tool every target needs (prebuildify, compilers, zig, strip) is checked first; a missing
#   one names the command that installs it, and nothing has been touched.
# - Each target is built in its own temporary copy of the package (binding.gyp, src/,
#   package.json, node_modules linked), never in the checkout: its build/ (the addon the tests
#   load) is left as it was, also on failure. A target's files in prebuilds/ are replaced only
#   once it has built and passed its checks.
# - Flags: --napi --strip --tag-libc (and PREBUILD_LIBC=musl for musl), so node-gyp-build picks
#   by libc: *.glibc.node on glibc, *.musl.node on Alpine (or with LIBC=musl).
# - Checks: every glibc file with scripts/check-glibc-floor.sh (SKIP_FLOOR_CHECK=1 to skip);
#   every musl file with scripts/test-musl.sh (needs only libc.so, no symbol version; a musl
#   process loads it, runs its init and calls into it; arm64 under qemu-user).
#   When scripts/setup-arm64.sh has been run, the arm64 glibc file is dlopen()ed by the arm64
#   node under qemu as a smoke test.
# - Headers: node-gyp must not download them (only package registries are reachable here), so
#   npm_config_nodedir is set: npm's nodedir config if set, else the prefix of the running node
#   when it has include/node/node_api.h. N-API is ABI-stable: any Node's headers >= the addon's
#   NAPI_VERSION do, for every architecture and libc.
#
# Environment: PKG_DIR (package to build; default the repo root), PREBUILDIFY (default
# PKG_DIR/node_modules/.bin/prebuildify), ZIG (default .vendor/zig/zig), SKIP_FLOOR_CHECK.
set -euo pipefail

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPTS/.." && pwd)"
PKG_DIR="$(cd "${PKG_DIR:-$ROOT}" && pwd)"
PREBUILDIFY="${PREBUILDIFY:-$PKG_DIR/node_modules/.bin/prebuildify}"
ZIG="${ZIG:-$ROOT/.vendor/zig/zig}"
log() { printf '[prebuild] %s\n' "$*" >&2; }

case "$(uname -m)" in
  x86_64) HOST=x64 ;; aarch64) HOST=arm64 ;; *) log "unsupported host $(uname -m)"; exit 1 ;;
esac
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  if [ "$HOST" = x64 ]; then TARGETS=(arm64 x64 arm64-musl x64-musl)
  elif [ -x "$ZIG" ]; then TARGETS=(arm64 arm64-musl)
  else TARGETS=(arm64); fi
fi

# --- 1. every tool, before touching anything -------------------------------------------------
missing=()
setup=()
note_missing() { # WHAT COMMAND-THAT-INSTALLS-IT (each listed once)
  local s
  for s in "${missing[@]+"${missing[@]}"}"; do [ "$s" = "$1" ] && return 0; done
  missing+=("$1")
  for s in "${setup[@]+"${setup[@]}"}"; do [ "$s" = "$2" ] && return 0; done
  setup+=("$2")
}
need() { command -v "$1" >/dev/null 2>&1 || note_missing "$1" "$2"; } # TOOL COMMAND
[ -x "$PREBUILDIFY" ] || note_missing "prebuildify ($PREBUILDIFY)" "npm ci"
for t in "${TARGETS[@]}"; do
  case "$t" in
    "$HOST") need g++ "apt-get install g++ make python3"; need make "apt-get install g++ make python3"
             need python3 "apt-get install g++ make python3"; need strip "apt-get install binutils" ;;
    arm64)   [ "$HOST" = x64 ] || { log "cannot build $t on a $HOST host"; exit 1; }
             need aarch64-linux-gnu-g++ scripts/setup-arm64.sh; need aarch64-linux-gnu-strip scripts/setup-arm64.sh ;;
    x64-musl|arm64-musl)
             [ -x "$ZIG" ] || note_missing "zig ($ZIG)" scripts/setup-musl.sh
             need musl-gcc scripts/setup-musl.sh
             if [ "$t" = arm64-musl ]; then need qemu-aarch64-static scripts/setup-musl.sh
               [ -x "$ROOT/.vendor/musl-arm64/musl-gcc" ] || note_missing "arm64 musl (.vendor/musl-arm64)" scripts/setup-musl.sh; fi
             need make "apt-get install g++ make python3"; need python3 "apt-get install g++ make python3"
             if [ "$t" = arm64-musl ] && [ "$HOST" = x64 ]; then need aarch64-linux-gnu-strip scripts/setup-arm64.sh
             else need strip "apt-get install binutils"; fi ;;
    *) log "unknown target '$t' (x64, arm64, x64-musl, arm64-musl)"; exit 1 ;;
  esac
done
if [ ${#missing[@]} -gt 0 ]; then
  log "missing: ${missing[*]}"
  cmd="${setup[0]}"; for c in "${setup[@]:1}"; do cmd="$cmd && $c"; done
  log "nothing was touched; run: $cmd"
  exit 1
fi

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

WORK="$(mktemp -d /tmp/pidfd-prebuild.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
# Zig builds libc++ and musl once per target (minutes) into its global cache (~/.cache/zig,
# kept across clones; ZIG_GLOBAL_CACHE_DIR moves it); the per-build cache goes with the copy.
export ZIG_LOCAL_CACHE_DIR="$WORK/zig-local-cache"

# zig_wrappers TRIPLE DIR: cc, c++, link and ar that node-gyp's make calls as CC, CXX, LINK, AR.
# The link's version script exports only the N-API entry points: the static libc++ and
# libunwind would otherwise export theirs (_Unwind_*, which could bind to the host's unwinder).
zig_wrappers() {
  mkdir -p "$2"
  printf '{\n  global: napi_register_module_v1; node_api_module_get_api_version_v1;\n  local: *;\n};\n' >"$2/exports.map"
  printf '#!/bin/sh\nexec "%s" cc -target %s "$@"\n' "$ZIG" "$1" >"$2/cc"
  printf '#!/bin/sh\nexec "%s" c++ -target %s "$@"\n' "$ZIG" "$1" >"$2/c++"
  printf '#!/bin/sh\nexec "%s" c++ -target %s -Wl,--version-script="%s" "$@"\n' "$ZIG" "$1" "$2/exports.map" >"$2/link"
  printf '#!/bin/sh\nexec "%s" ar "$@"\n' "$ZIG" >"$2/ar"
  chmod +x "$2/cc" "$2/c++" "$2/link" "$2/ar"
}

mkdir -p "$PKG_DIR/prebuilds"
built=()
glibc_built=()
for t in "${TARGETS[@]}"; do
  T0=$(date +%s)
  arch="${t%-musl}"
  libc=glibc; [ "$arch" = "$t" ] || libc=musl
  if [ "$arch" = "$HOST" ]; then strip_bin=strip; else strip_bin=aarch64-linux-gnu-strip; fi
  copy="$WORK/$t"
  mkdir -p "$copy"
  cp -r "$PKG_DIR/binding.gyp" "$PKG_DIR/package.json" "$PKG_DIR/src" "$copy/"
  ln -s "$PKG_DIR/node_modules" "$copy/node_modules"
  if [ "$libc" = musl ]; then
    triple=$([ "$arch" = arm64 ] && echo aarch64-linux-musl || echo x86_64-linux-musl)
    zig_wrappers "$triple" "$WORK/$t.bin"
    log "building $t (zig c++ -target $triple)"
    (cd "$copy" && CC="$WORK/$t.bin/cc" CXX="$WORK/$t.bin/c++" LINK="$WORK/$t.bin/link" AR="$WORK/$t.bin/ar" \
      PREBUILD_LIBC=musl PREBUILD_STRIP_BIN="$strip_bin" \
      "$PREBUILDIFY" --napi --strip --tag-libc --arch "$arch")
  elif [ "$arch" = "$HOST" ]; then
    log "building $t (native g++)"
    (cd "$copy" && env -u CC -u CXX -u LINK -u AR PREBUILD_LIBC=glibc PREBUILD_STRIP_BIN=strip \
      "$PREBUILDIFY" --napi --strip --tag-libc --arch "$arch")
  else
    log "building $t (cross, aarch64-linux-gnu-g++)"
    (cd "$copy" && CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ \
      AR=aarch64-linux-gnu-ar PREBUILD_LIBC=glibc PREBUILD_STRIP_BIN=aarch64-linux-gnu-strip \
      "$PREBUILDIFY" --napi --strip --tag-libc --arch arm64)
  fi
  files=("$copy"/prebuilds/linux-"$arch"/*."$libc".node)
  [ -e "${files[0]}" ] || { log "no .$libc.node produced for $t"; exit 1; }
  want=$([ "$arch" = arm64 ] && echo AArch64 || echo X86-64)
  for f in "${files[@]}"; do
    LC_ALL=C readelf -h "$f" | grep -q "Machine:.*$want" || { log "$f is not an $want file: $(file -b "$f")"; exit 1; }
  done
  # The keeper program (src/keeper_program.c) has no libc: one per arch serves both libcs.
  keeper="$copy/build/Release/pidfd-keeper"
  [ -x "$keeper" ] || { log "no pidfd-keeper program produced for $t"; exit 1; }
  LC_ALL=C readelf -h "$keeper" | grep -q "Machine:.*$want" || { log "$keeper is not an $want file"; exit 1; }
  if [ "$libc" = musl ]; then "$SCRIPTS/test-musl.sh" "${files[@]}"; fi
  if [ "$libc" = glibc ] && [ "${SKIP_FLOOR_CHECK:-0}" != 1 ]; then "$SCRIPTS/check-glibc-floor.sh" "${files[@]}"; fi
  dest="$PKG_DIR/prebuilds/linux-$arch"
  mkdir -p "$dest"
  rm -f "$dest"/*."$libc".node
  "$strip_bin" -o "$dest/pidfd-keeper" "$keeper"
  for f in "${files[@]}"; do
    mv "$f" "$dest/"
    built+=("$dest/$(basename "$f")")
    [ "$libc" = musl ] || glibc_built+=("$dest/$(basename "$f")")
  done
  rm -rf "$copy"
  log "$t done in $(( $(date +%s) - T0 ))s"
done

ls -l "${built[@]}" >&2

if [ "$HOST" = x64 ] && [ -x "$ROOT/.vendor/node-arm64/bin/node" ] && command -v qemu-aarch64-static >/dev/null; then
  for f in "${glibc_built[@]+"${glibc_built[@]}"}"; do
    case "$f" in *linux-arm64/*)
      "$SCRIPTS/node-arm64.sh" -e 'process.dlopen({exports:{}}, require("path").resolve(process.argv[1])); console.log("arm64 dlopen ok:", process.argv[1])' "$f" ;;
    esac
  done
fi
printf '%s\n' "${built[@]}"
