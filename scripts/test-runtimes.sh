#!/usr/bin/env bash
# The package under Node, Deno and Bun, as a user gets it: packs the tarball (with the x64
# prebuild), installs it into a fresh app folder, runs test/runtimes/suite.mjs under each
# runtime and the `pidfd` CLI through each runtime's own launcher, then prints a "Runtimes"
# table (runtime × version × what works). Exit status 1 if anything failed.
#
#   scripts/test-runtimes.sh [node] [node-thread] [deno] [bun]     (default: all four)
# (node-thread: Node with PIDFD_DELIVERY=thread, the Deno/Bun delivery path.)
#
# Needs `npm ci` and `npm run build` first. Deno and Bun come pinned from npm into .vendor/
# (scripts/install-runtimes.sh). Work happens in a temporary folder.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNTIMES=("$@")
[ ${#RUNTIMES[@]} -gt 0 ] || RUNTIMES=(node node-thread deno bun)
log() { printf '\n== [runtimes] %s\n' "$*"; }

eval "$(bash "$ROOT/scripts/install-runtimes.sh")"  # DENO=..., BUN=...

WORK="$(mktemp -d /tmp/pidfd-runtimes.XXXXXX)"
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT

log "pack: the tree as it ships, with the x64 prebuild"
TREE="$WORK/tree"
bash "$ROOT/scripts/stage-package.sh" "$TREE"
case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; esac
PKG_DIR="$TREE" bash "$ROOT/scripts/prebuild.sh" "$arch" >/dev/null
tarball="$(cd "$TREE" && npm pack --ignore-scripts --silent --pack-destination "$WORK")"

log "a fresh app installs $tarball"
APP="$WORK/app"
mkdir -p "$APP"
(cd "$APP" && echo '{"name":"app","version":"1.0.0","private":true,"type":"module"}' >package.json &&
  npm install --no-audit --no-fund --silent "$WORK/$tarball")
cp "$ROOT"/test/runtimes/*.mjs "$APP/"
HELPERS="$WORK/helpers"
mkdir -p "$HELPERS"
for h in threads zombie; do cc -O2 -Wall -pthread -o "$HELPERS/$h" "$ROOT/test/helpers/$h.c"; done

# 10,000 watches are 10,000 fds.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

declare -A VERSION SUITE CLI
status=0
for rt in "${RUNTIMES[@]}"; do
  delivery=
  case "$rt" in
    node) run=(node suite.mjs) ver="$(node --version)"; cli=(npx --no-install pidfd) ;;
    node-thread) run=(node suite.mjs) ver="$(node --version)"; cli=(npx --no-install pidfd); delivery=thread ;;
    deno) run=("$DENO" run -A suite.mjs) ver="$("$DENO" --version | head -1 | cut -d' ' -f2)"; cli=("$DENO" run -A npm:pidfd) ;;
    bun) run=("$BUN" suite.mjs) ver="$("$BUN" --version)"; cli=("$BUN" x --bun pidfd) ;;  # --bun: else bunx runs the bin with node when there is one
    *) echo "unknown runtime $rt" >&2; exit 2 ;;
  esac
  VERSION[$rt]="$ver"
  log "suite under $rt $ver"
  out="$WORK/$rt.log"
  if (cd "$APP" && PIDFD_DELIVERY="$delivery" PIDFD_TEST_HELPERS="$HELPERS" timeout 900 "${run[@]}") 2>&1 | tee "$out"; then :; fi
  SUITE[$rt]="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -1 || true)"
  [ -n "${SUITE[$rt]}" ] || SUITE[$rt]="crashed (no summary line)"
  case "${SUITE[$rt]}" in *" 0 failed"*) ;; *) status=1 ;; esac

  log "CLI under $rt: ${cli[*]}"
  cli_ok=yes
  v="$(cd "$APP" && PIDFD_DELIVERY="$delivery" timeout 120 "${cli[@]}" --version 2>&1)" || cli_ok="no (--version: $v)"
  if [ "$cli_ok" = yes ]; then
    set +e
    (cd "$APP" && PIDFD_DELIVERY="$delivery" timeout 120 "${cli[@]}" run -- sh -c 'exit 5') >"$WORK/cli.out" 2>&1
    code=$?
    set -e
    [ "$code" = 5 ] || cli_ok="no (run: exit $code: $(head -c 300 "$WORK/cli.out"))"
  fi
  if [ "$cli_ok" = yes ]; then
    # A process that outlives the deadline: `wait` must time out with 3, not return early.
    sleep 600 &
    sleeper=$!
    set +e
    (cd "$APP" && PIDFD_DELIVERY="$delivery" timeout 120 "${cli[@]}" wait --timeout 1s "$sleeper") >"$WORK/cli.out" 2>&1
    code=$?
    set -e
    kill "$sleeper"
    wait "$sleeper" 2>/dev/null || true
    [ "$code" = 3 ] || cli_ok="no (wait --timeout: exit $code: $(head -c 300 "$WORK/cli.out"))"
  fi
  CLI[$rt]="$cli_ok"
  [ "$cli_ok" = yes ] || status=1
done

log "Runtimes"
printf '| runtime | version | runtime suite | CLI (`%s`) |\n|---|---|---|---|\n' "--version, run, wait"
for rt in "${RUNTIMES[@]}"; do
  printf '| %s | %s | %s | %s |\n' "$rt" "${VERSION[$rt]}" "${SUITE[$rt]}" "${CLI[$rt]}"
done
exit "$status"
