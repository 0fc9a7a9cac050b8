#!/bin/sh
# Installs the pinned Deno and Bun builds from npm into .vendor/runtimes (git-ignored, never a
# dependency users get) and prints the path of each binary. Idempotent.
#   scripts/install-runtimes.sh            # both runtimes for this machine's architecture
# Env: DENO_VERSION, BUN_VERSION override the pins.
set -eu
cd "$(dirname "$0")/.."
DENO_VERSION=${DENO_VERSION:-2.9.6}
BUN_VERSION=${BUN_VERSION:-1.4.5}
case "$(uname -m)" in
  x86_64) deno_pkg=@deno/linux-x64-glibc bun_pkg=@oven/bun-linux-x64 ;;
  aarch64) deno_pkg=@deno/linux-arm64-glibc bun_pkg=@oven/bun-linux-aarch64 ;;
  *) echo "install-runtimes: no Deno/Bun build for $(uname -m)" >&2; exit 1 ;;
esac
dir=.vendor/runtimes
mkdir -p "$dir"
want="$deno_pkg@$DENO_VERSION $bun_pkg@$BUN_VERSION"
if [ "$(cat "$dir/.installed" 2>/dev/null)" != "$want" ]; then
  [ -f "$dir/package.json" ] || echo '{"private":true}' > "$dir/package.json"
  # --ignore-scripts: the binaries are in the tarballs; nothing needs to run.
  npm install --prefix "$dir" --no-audit --no-fund --ignore-scripts --no-package-lock $want >&2
  echo "$want" > "$dir/.installed"
fi
deno=$(find "$dir/node_modules/$deno_pkg" -maxdepth 2 -type f -name deno | head -1)
bun=$(find "$dir/node_modules/$bun_pkg" -maxdepth 3 -type f -name bun | head -1)
chmod +x "$deno" "$bun"
echo "DENO=$PWD/$deno"
echo "BUN=$PWD/$bun"
