#!/usr/bin/env bash
# apt-get / apt-cache against Debian's kernel suites with a private apt state under
# .vendor/kernels/apt: its own sources list, package lists and cache, so the system's apt
# configuration and state stay untouched (nothing is installed, only downloaded).
#
#   scripts/kernels/apt.sh update                       # fetch the lists (about 75 MB)
#   scripts/kernels/apt.sh download DIR PKG:ARCH=VER... # .debs into DIR
#   scripts/kernels/apt.sh madison PKG:ARCH             # versions the mirror has
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

APTDIR="$KVENDOR/apt"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/parts"
{
  for suite in bullseye bookworm trixie trixie-backports; do
    echo "deb [signed-by=$KEYRING] $MIRROR $suite main"
  done
} >"$APTDIR/sources.list"
OPTS=(
  -o "Dir::Etc::SourceList=$APTDIR/sources.list" -o "Dir::Etc::SourceParts=$APTDIR/parts"
  -o "Dir::State::Lists=$APTDIR/lists" -o "Dir::Cache=$APTDIR/cache"
  -o APT::Architecture=amd64 -o APT::Architectures::=amd64 -o APT::Architectures::=arm64
  -o APT::Sandbox::User=root -q
)

cmd="${1:-}"; shift || true
case "$cmd" in
  update)
    log "apt-get update (private lists in $APTDIR)"
    apt-get "${OPTS[@]}" update >&2
    touch "$APTDIR/lists/.updated" ;;
  download)
    dir="$1"; shift
    mkdir -p "$dir"
    ( cd "$dir" && apt-get "${OPTS[@]}" download "$@" >&2 ) ;;
  madison) apt-cache "${OPTS[@]}" madison "$@" ;;
  updated) [ -e "$APTDIR/lists/.updated" ] ;;
  *) die "usage: apt.sh update | download DIR PKG:ARCH=VER... | madison PKG:ARCH | updated" ;;
esac
