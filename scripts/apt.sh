# shellcheck shell=bash
# Sourced by the setup scripts: apt as root (sudo otherwise), the lists updated at most once.
# The caller defines log(). SKIP_APT=1: never update the lists (packages are assumed present).
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
APT_UPDATED=0
apt_update() {
  if [ "$APT_UPDATED" = 0 ]; then $SUDO apt-get update -q >&2; APT_UPDATED=1; fi
}

# apt_extract DEST PKG:ARCH...: downloads the packages of a foreign architecture (added to
# dpkg once) and unpacks them into DEST with dpkg -x, as a sysroot.
apt_extract() {
  local dest="$1" arch="${2##*:}" debs deb
  shift
  if [ "${SKIP_APT:-0}" != 1 ]; then
    if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
      log "dpkg --add-architecture $arch"
      $SUDO dpkg --add-architecture "$arch"
      APT_UPDATED=0
    fi
    # apt-get download fails for an arch whose lists were never fetched: update (once) if needed
    if ! apt-cache show "$1" >/dev/null 2>&1; then apt_update; fi
  fi
  debs="$(mktemp -d)"
  # A stale package list names versions the mirror no longer has (404): update once and retry.
  if ! (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$@" >&2); then
    [ "${SKIP_APT:-0}" != 1 ] || { rm -rf "$debs"; return 1; }
    APT_UPDATED=0; apt_update
    (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$@" >&2)
  fi
  mkdir -p "$dest"
  for deb in "$debs"/*.deb; do dpkg -x "$deb" "$dest"; done
  rm -rf "$debs"
}
