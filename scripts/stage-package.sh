#!/usr/bin/env bash
# Copies the package as it would ship into DIR: the tracked (and untracked, not ignored)
# files, dist/, and node_modules as a link; no build/. Used by the CI stages that test the
# package as users get it (test-platforms.sh, test-runtimes.sh).
#   scripts/stage-package.sh DIR
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TREE="$1"
mkdir -p "$TREE"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -f "$f" ] && cp --parents "$f" "$TREE"; done)
cp -r "$ROOT/dist" "$TREE/dist"
ln -s "$ROOT/node_modules" "$TREE/node_modules"
