# shellcheck shell=bash
# Sourced by scripts/kernels/*.sh: paths and small helpers shared by the kernel-matrix scripts.
KERNELS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$KERNELS_DIR/../.." && pwd)"
# Everything fetched or built lives here (git-ignored), so reruns are fast.
KVENDOR="${KERNELS_VENDOR:-$ROOT/.vendor/kernels}"
KERNELS_LIST="${KERNELS_LIST:-$KERNELS_DIR/kernels.txt}"
export DEBIAN_FRONTEND=noninteractive

log() { printf '[kernels] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Debian's name for an architecture of the matrix.
deb_arch() {
  case "$1" in x86_64) echo amd64 ;; arm64) echo arm64 ;; *) die "unknown arch $1 (x86_64 or arm64)" ;; esac
}

# The packages (PACKAGE=VERSION, one a line) pinned for LABEL ARCH in kernels.txt; fails clearly
# when the matrix has no such line.
pinned_packages() { # LABEL ARCH
  local out
  out="$(awk -v l="$1" -v a="$2" '!/^#/ && $1 == l && $2 == a { for (i = 3; i <= NF; i++) print $i }' "$KERNELS_LIST")"
  [ -n "$out" ] || die "no line '$1 $2' in $KERNELS_LIST"
  printf '%s\n' "$out"
}

# "LABEL ARCH" for every line of kernels.txt.
matrix_entries() { awk '!/^#/ && NF >= 3 { print $1, $2 }' "$KERNELS_LIST"; }
