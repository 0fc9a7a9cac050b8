#!/usr/bin/env bash
# Choose the accelerator for the VMs of ARCH with a real boot: prints "kvm CPU" or "tcg" on
# stdout and why on stderr.
#
#   scripts/kernels/accel.sh LABEL ARCH    # LABEL: a fetched kernel of that arch to probe with
#
# KVM is used only when a VM of LABEL, started with exactly the flags boot.sh would use, reaches
# a marker line within KERNELS_KVM_PROBE_TIMEOUT seconds (default 30). Some hosts have a
# /dev/kvm that cannot run a guest: a nested AMD EPYC one aborts qemu on `-cpu host` ("failed to
# set MSR 0x10a") and, with `-cpu host,-arch-capabilities`, hangs the guest silently; so each
# CPU model of KERNELS_KVM_CPUS (default "host host,-arch-capabilities") is tried in turn, and
# TCG is chosen when none boots. TCG always for another arch than the host's, without a writable
# /dev/kvm, or with KERNELS_KVM=0.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
LABEL="$1" ARCH="$2"

if [ "${KERNELS_KVM:-1}" = 0 ]; then log "accel $ARCH: TCG (KERNELS_KVM=0)"; echo tcg; exit 0; fi
if [ "$ARCH" != "$(uname -m)" ]; then log "accel $ARCH: TCG (not the host's arch)"; echo tcg; exit 0; fi
if [ ! -w /dev/kvm ]; then log "accel $ARCH: TCG (no writable /dev/kvm)"; echo tcg; exit 0; fi

deadline="${KERNELS_KVM_PROBE_TIMEOUT:-30}"
probe="$(mktemp -d "${TMPDIR:-/tmp}/pidfd-kvm-probe.XXXXXX")"
trap 'rm -rf "$probe"' EXIT
# The same root share as the suite's VMs (run.sh): the host's / for the host's arch.
echo 'echo pidfd-kvm-probe-reached-userspace' >"$probe/run.sh"
for cpu in ${KERNELS_KVM_CPUS:-host host,-arch-capabilities}; do
  started=$(date +%s)
  rc=0
  KERNELS_ACCEL="kvm $cpu" KERNELS_ACCEL_FILE="" KERNELS_KVM_RETRY=0 KERNELS_KVM_SILENCE="$((deadline + 5))" KERNELS_VERBOSE=0 \
    "$KERNELS_DIR/boot.sh" "$LABEL" "$ARCH" / "$probe" "$deadline" 2>/dev/null || rc=$?
  took=$(( $(date +%s) - started ))
  if [ "$rc" = 0 ] && grep -q '^pidfd-kvm-probe-reached-userspace' "$probe/console.log"; then
    log "accel $ARCH: KVM (-cpu $cpu): a probe VM of kernel $LABEL reached userspace in ${took}s"
    echo "kvm $cpu"
    exit 0
  fi
  case "$rc" in
    124) why="no marker within ${deadline}s (last console line: $(sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g' "$probe/console.log" | { grep -av '^qemu-system' || true; } | { grep -a . || true; } | tail -1 | tr -cd '[:print:]' | cut -c1-100))" ;;
    125) why="qemu stopped in ${took}s without an exit status: $( { grep -a -m1 -i 'error\|assert\|panic' "$probe/console.log" || true; } | tr -cd '[:print:]' | cut -c1-120)" ;;
    *) why="the probe exited $rc in ${took}s" ;;
  esac
  log "accel $ARCH: KVM with -cpu $cpu does not boot here: $why"
done
log "accel $ARCH: TCG (no CPU model booted under KVM)"
echo tcg
