#!/usr/bin/env bash
# `npm run test:kernels`: the kernel suite (test/kernel) on the host kernel and inside a VM of
# every kernel of scripts/kernels/kernels.txt, x86_64 and arm64, then one table of the results
# (scripts/kernels/report.mjs), printed and written to RESULTS_DIR/RESULTS.md. The tracked
# test/kernel/RESULTS.md changes only with --write-results (after a full run, to commit).
#
#   scripts/kernels/run.sh                    # host + every kernel, both arches
#   scripts/kernels/run.sh 6.1 5.10:arm64     # some: LABEL (both arches) or LABEL:ARCH; host
#                                             # is the host kernel
#   scripts/kernels/run.sh --write-results    # the whole matrix, and test/kernel/RESULTS.md
#
# Environment: KERNELS_RESULTS (RESULTS_DIR, default .vendor/kernels/results, git-ignored;
# emptied at the start), KERNELS_TIMEOUT (seconds per VM, default 900), KERNELS_VERBOSE=1
# (console to stderr), KERNELS_KVM=0 (never KVM; otherwise scripts/kernels/accel.sh probes it
# once per run with a real boot), KERNELS_VM_CPUS / KERNELS_VM_MEM (default 2 / 2048),
# KERNELS_ACCEL ("kvm CPU" or "tcg": no probe, that accelerator for the host's arch; a KVM VM
# that fails is still retried under TCG), KERNELS_SUITE_ARGS (extra arguments of
# test/kernel/run.mjs, e.g. --filter).
# Needs root (apt, pid namespaces, seccomp, cgroups) and the built package (npm run build and
# the addon). Exit status 1 when any run failed; a kernel that cannot be fetched fails the run.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
T0=$(date +%s)

want=()
write_results=0
for a in "$@"; do
  if [ "$a" = --write-results ]; then write_results=1; else want+=("$a"); fi
done
[ "$write_results" = 0 ] || [ ${#want[@]} -eq 0 ] || die "--write-results takes the whole matrix (no kernel names)"
entries=()
if [ ${#want[@]} -eq 0 ]; then
  entries=("host $(uname -m)")
  while read -r l a; do entries+=("$l $a"); done < <(matrix_entries)
else
  for w in "${want[@]}"; do
    if [ "$w" = host ]; then entries+=("host $(uname -m)"); continue; fi
    found=0
    while read -r l a; do
      if [ "$w" = "$l" ] || [ "$w" = "$l:$a" ]; then entries+=("$l $a"); found=1; fi
    done < <(matrix_entries)
    [ "$found" = 1 ] || die "no kernel '$w' in $KERNELS_LIST"
  done
fi

[ -e "$ROOT/dist/index.js" ] || die "dist/ is missing: npm run build"
"$KERNELS_DIR/tools.sh"
"$KERNELS_DIR/helpers.sh" x86_64 "$ROOT/test/.build"
arm64=0
for e in "${entries[@]}"; do
  set -- $e
  [ "$1" = host ] || "$KERNELS_DIR/fetch.sh" "$1" "$2"
  [ "$2" = arm64 ] && arm64=1
done
if [ "$arm64" = 1 ]; then "$KERNELS_DIR/arm64-root.sh" >/dev/null; fi
log "ready in $(( $(date +%s) - T0 ))s"

RESULTS="${KERNELS_RESULTS:-$KVENDOR/results}"
rm -rf "$RESULTS" && mkdir -p "$RESULTS"
# The accelerator of the host's arch, chosen once per run by a probe boot of its first kernel
# (boot.sh reads it; a KVM VM that fails later turns it to TCG for the rest).
export KERNELS_ACCEL_FILE="$RESULTS/accel-$(uname -m)"
for e in "${entries[@]}"; do
  set -- $e
  if [ -z "${KERNELS_ACCEL:-}" ] && [ "$1" != host ] && [ "$2" = "$(uname -m)" ]; then
    started=$(date +%s)
    "$KERNELS_DIR/accel.sh" "$1" "$2" >"$KERNELS_ACCEL_FILE"
    log "accelerator probe: $(( $(date +%s) - started ))s"
    break
  fi
done
SUITE_ARGS="${KERNELS_SUITE_ARGS:-}"
status=0
for e in "${entries[@]}"; do
  set -- $e
  label="$1" arch="$2" job="$RESULTS/$1-$2"
  mkdir -p "$job"
  started=$(date +%s)
  if [ "$label" = host ]; then
    log "host kernel $(uname -r): kernel suite"
    rc=0
    ( cd "$ROOT" && node test/kernel/run.mjs --json "$job/result.json" $SUITE_ARGS ) >"$job/console.log" 2>&1 || rc=$?
  else
    log "kernel $label $arch: booting (log: $job/console.log)"
    if [ "$arch" = x86_64 ]; then
      shared=/
      cat >"$job/run.sh" <<RUN
ulimit -n 65536
cd '$ROOT' && node test/kernel/run.mjs --json /job/result.json $SUITE_ARGS
RUN
    else
      shared="$KVENDOR/arm64-root"
      cat >"$job/run.sh" <<RUN
ulimit -n 65536
export PATH=/usr/local/bin:/bin PIDFD_ROOT=/pidfd
cd /pidfd && node test/kernel/run.mjs --json /job/result.json $SUITE_ARGS
RUN
    fi
    rc=0
    "$KERNELS_DIR/boot.sh" "$label" "$arch" "$shared" "$job" "${KERNELS_TIMEOUT:-900}" || rc=$?
  fi
  echo "$rc" >"$job/rc"
  echo $(( $(date +%s) - started )) >"$job/seconds"
  summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$job/console.log" | tail -1 || true)"
  log "  $label $arch: exit $rc in $(cat "$job/seconds")s: ${summary:-no summary}"
  if [ "$rc" != 0 ]; then
    status=1
    grep -E -A3 '^FAIL|^init:|Kernel panic|error' "$job/console.log" | head -40 >&2 || true
  fi
done

node "$KERNELS_DIR/report.mjs" "$RESULTS" --write "$RESULTS/RESULTS.md"
if [ "$write_results" = 1 ]; then cp "$RESULTS/RESULTS.md" "$ROOT/test/kernel/RESULTS.md" && log "wrote test/kernel/RESULTS.md"; fi
log "total $(( $(date +%s) - T0 ))s"
exit "$status"
