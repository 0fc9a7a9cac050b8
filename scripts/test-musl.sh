#!/usr/bin/env bash
# Checks musl builds of the addon in a real musl process on this (glibc) machine:
#   1. the file needs only musl's libc.so (libc++ linked in) and no symbol version at all;
#   2. test/helpers/napi-host.c, built with Debian's musl-gcc, dlopen()s it with RTLD_NOW
#      (every libc import must exist in musl), runs its module init, checks that it registered
#      every function lib/native.d.ts declares, and calls open/readable/close for real.
# x64 files run natively; arm64 files run under qemu-aarch64-static with Debian's arm64 musl
# (the host program built by aarch64-linux-gnu-gcc with musl's specs). No musl Node is
# installable here: real Node on Alpine runs in the GitHub workflow's alpine job.
#
#   scripts/test-musl.sh [FILE.musl.node...]   default: prebuilds/linux-*/*.musl.node
#
# Needs scripts/setup-musl.sh (musl-gcc, qemu-aarch64-static, .vendor/musl-arm64).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MUSL_ARM64="$ROOT/.vendor/musl-arm64"
log() { printf '[test-musl] %s\n' "$*" >&2; }

FILES=("$@")
if [ ${#FILES[@]} -eq 0 ]; then
  shopt -s nullglob
  FILES=("$ROOT"/prebuilds/linux-*/*.musl.node)
  shopt -u nullglob
  [ ${#FILES[@]} -gt 0 ] || { log "no prebuilds/linux-*/*.musl.node: run scripts/prebuild.sh x64-musl arm64-musl"; exit 1; }
fi

# Node's N-API headers, as scripts/prebuild.sh finds them.
nodedir="${npm_config_nodedir:-$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")}"
[ -e "$nodedir/include/node/node_api.h" ] || { log "no node_api.h under $nodedir/include/node (set npm_config_nodedir)"; exit 1; }
# The functions the addon must register: the members of lib/native.d.ts's Native interface.
mapfile -t EXPORTS < <(sed -n '/^export interface Native {/,/^}/p' "$ROOT/lib/native.d.ts" |
  sed -nE 's/^  ([a-zA-Z]+)\(.*/\1/p' | sort -u)
[ ${#EXPORTS[@]} -gt 5 ] || { log "could not read the exports from lib/native.d.ts"; exit 1; }

WORK="$(mktemp -d /tmp/pidfd-musl.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# build_host ARCH ADDON: the host program, with a stub for every napi_*/node_api_*/uv_* import
# of ADDON that napi-host.c does not implement (so the N-API surface never fails the load;
# everything else the addon imports must come from musl's libc.so).
build_host() {
  local arch="$1" addon="$2" cc out="$WORK/napi-host-$1"
  case "$arch" in
    x64) cc=musl-gcc ;;
    arm64) cc="$MUSL_ARM64/musl-gcc" ;;
  esac
  command -v "$cc" >/dev/null || { log "$cc missing: run scripts/setup-musl.sh"; exit 1; }
  "$cc" -std=c11 -Wall -Wextra -Werror -O1 -I"$nodedir/include/node" -c "$ROOT/test/helpers/napi-host.c" -o "$out.o"
  LC_ALL=C readelf -sW "$out.o" | awk '$7 != "UND" && $5 == "GLOBAL" {print $8}' | sort -u >"$WORK/provided"
  LC_ALL=C readelf --dyn-syms -W "$addon" | awk '$7 == "UND" {print $8}' | sed 's/@.*//' |
    { grep -E '^(napi_|node_api_|uv_)' || true; } | sort -u | comm -23 - "$WORK/provided" >"$WORK/stubbed"
  {
    echo 'void napi_host_unexpected(const char* name);'
    while read -r sym; do echo "void $sym(void) { napi_host_unexpected(\"$sym\"); }"; done <"$WORK/stubbed"
  } >"$out-stubs.c"
  "$cc" -O1 -c "$out-stubs.c" -o "$out-stubs.o"
  "$cc" -rdynamic -o "$out" "$out.o" "$out-stubs.o" -ldl
  log "host $arch: $(wc -l <"$WORK/provided") symbols implemented, $(wc -l <"$WORK/stubbed") N-API/libuv imports stubbed"
}

status=0
for f in "${FILES[@]}"; do
  machine="$(LC_ALL=C readelf -h "$f" | sed -n 's/^ *Machine: *//p')"
  case "$machine" in
    *AArch64*) arch=arm64 ;; *X86-64*) arch=x64 ;; *) log "FAIL $f: not x86-64/AArch64 ($machine)"; status=1; continue ;;
  esac
  needed="$(LC_ALL=C readelf -d "$f" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]$/\1/p' | tr '\n' ' ')"
  versions="$(LC_ALL=C readelf -V "$f" | grep -oE '(GLIBC|GLIBCXX|CXXABI|GCC)_[0-9.]+' | sort -u | tr '\n' ' ' || true)"
  if [ "$needed" != "libc.so " ] || [ -n "$versions" ]; then
    log "FAIL $f: NEEDED ${needed:-nothing}, versions ${versions:-none} (want NEEDED libc.so only, no versions)"
    status=1
    continue
  fi
  log "$f ($arch): NEEDED libc.so only, no symbol versions"
  build_host "$arch" "$f"
  abs="$(readlink -f "$f")"
  if [ "$arch" = x64 ]; then
    run=("$WORK/napi-host-x64")
  else
    command -v qemu-aarch64-static >/dev/null || { log "qemu-aarch64-static missing: run scripts/setup-musl.sh"; exit 1; }
    run=(qemu-aarch64-static -L "$MUSL_ARM64" "$WORK/napi-host-arm64")
  fi
  if "${run[@]}" "$abs" "${EXPORTS[@]}"; then
    log "OK   $f"
  else
    log "FAIL $f: the musl host could not load and initialise it"
    status=1
  fi
done
exit $status
