#!/usr/bin/env bash
# Make an x64 `npm ci` tree usable by the arm64 node under qemu: for every installed
# platform-specific package built for linux-x64 (e.g. @rolldown/binding-linux-x64-gnu, which
# vitest 4 -> vite 8 -> rolldown needs at startup; lightningcss-linux-x64-gnu; @esbuild/linux-x64;
# @rollup/rollup-linux-x64-gnu), add its linux-arm64 sibling of the same version next to it.
# npm installs only the host's optional dependencies, and `npm install --cpu=arm64` would rewrite
# the tree and lockfile, so the sibling is fetched with `npm pack` and unpacked into node_modules/
# (package-lock.json untouched). Idempotent.
#
#   scripts/arm64-node-modules.sh [PKG_DIR]     # default: the repo root
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG_DIR="$(cd "${1:-${PKG_DIR:-$ROOT}}" && pwd)"
log() { printf '[arm64-node-modules] %s\n' "$*" >&2; }
[ -d "$PKG_DIR/node_modules" ] || { log "no node_modules in $PKG_DIR (run npm ci first)"; exit 1; }
cd "$PKG_DIR"
T0=$(date +%s)
n=0
while IFS= read -r pj; do
  dir="$(dirname "$pj")"
  name="$(node -p 'require(process.argv[1]).name' "$pj")"
  version="$(node -p 'require(process.argv[1]).version' "$pj")"
  arm="${name//linux-x64/linux-arm64}"
  armdir="${dir//linux-x64/linux-arm64}"
  if [ -e "$armdir/package.json" ] && [ "$(node -p 'require(process.argv[1]).version' "$armdir/package.json")" = "$version" ]; then
    continue
  fi
  tmp="$(mktemp -d)"
  if tgz="$(cd "$tmp" && npm pack --silent "$arm@$version" 2>/dev/null | tail -1)" && [ -n "$tgz" ]; then
    rm -rf "$armdir" && mkdir -p "$armdir"
    tar xzf "$tmp/$tgz" -C "$armdir" --strip-components=1
    log "added $arm@$version"
    n=$((n + 1))
  else
    log "no $arm@$version in the registry (skipped)"
  fi
  rm -rf "$tmp"
done < <(find ./node_modules -path '*linux-x64*' -name package.json -not -path '*/node_modules/*/node_modules/*/node_modules/*' |
         grep -E '/node_modules/(@[^/]+/)?[^/]*linux-x64[^/]*/package\.json$')
log "$n package(s) added in $(( $(date +%s) - T0 ))s"
