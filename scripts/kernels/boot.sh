#!/usr/bin/env bash
# Boot one fetched kernel under qemu-system with ROOT shared read-only over 9p as its root
# (under a tmpfs overlay) and JOB shared writable at /job; init.sh runs JOB/run.sh there.
#
#   scripts/kernels/boot.sh LABEL ARCH ROOT JOB [TIMEOUT_S]
#
# The serial console goes to JOB/console.log (and to stderr with KERNELS_VERBOSE=1). Exit status:
# run.sh's (from JOB/rc); 124 when the VM did not finish within TIMEOUT_S (default 900);
# 125 when it stopped without an exit status (a panic, a failed mount: see console.log).
#
# Accelerator ("kvm CPU" or "tcg", written to JOB/accel): KERNELS_ACCEL when set, else the
# content of KERNELS_ACCEL_FILE (run.sh's choice for the whole matrix run), else the choice of
# accel.sh, a probe boot (saved to KERNELS_ACCEL_FILE when set). A VM that aborts under KVM, or
# prints no init line within KERNELS_KVM_SILENCE seconds (default 60), is retried under TCG,
# and KERNELS_ACCEL_FILE then says tcg for the VMs after it (not with KERNELS_KVM_RETRY=0, the
# probe's own boots).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
LABEL="$1" ARCH="$2" SHARED="$3" JOB="$4" LIMIT="${5:-900}"
K="$KVENDOR/$LABEL-$ARCH"
"$KERNELS_DIR/initramfs.sh" "$LABEL" "$ARCH"
CPUS="${KERNELS_VM_CPUS:-2}" MEM="${KERNELS_VM_MEM:-2048}"
# KERNELS_ACCEL_FILE holds the choice for the host's arch; another arch is always TCG.
if [ "$ARCH" != "$(uname -m)" ]; then ACCEL=tcg
elif [ -n "${KERNELS_ACCEL:-}" ]; then ACCEL="$KERNELS_ACCEL"
elif [ -n "${KERNELS_ACCEL_FILE:-}" ] && [ -s "$KERNELS_ACCEL_FILE" ]; then ACCEL="$(cat "$KERNELS_ACCEL_FILE")"
else
  ACCEL="$("$KERNELS_DIR/accel.sh" "$LABEL" "$ARCH")"
  [ -z "${KERNELS_ACCEL_FILE:-}" ] || echo "$ACCEL" >"$KERNELS_ACCEL_FILE"
fi
case "$ARCH" in
  x86_64)
    MACHINE=(qemu-system-x86_64 -M q35)
    CONSOLE=ttyS0 ;;
  arm64)
    MACHINE=(qemu-system-aarch64 -M virt)
    CONSOLE=ttyAMA0 ;;
esac
accel_args() { # ACCEL: the qemu flags of that accelerator for ARCH
  case "$1" in
    kvm\ *) echo "-accel kvm -cpu ${1#kvm }" ;;
    *) if [ "$ARCH" = arm64 ]; then echo "-accel tcg,thread=multi -cpu max,pauth-impdef=on"
       else echo "-accel tcg,thread=multi -cpu max"; fi ;;
  esac
}
# random.trust_cpu and virtio-rng: Node's getrandom() otherwise waits for entropy on 5.10.
APPEND="console=$CONSOLE panic=-1 quiet loglevel=4 random.trust_cpu=on rdinit=/init"
out="$JOB/console.log"
COMMON=(-smp "$CPUS" -m "$MEM" -nographic -no-reboot -monitor none
  -kernel "$K/vmlinuz" -initrd "$K/initrd.img" -append "$APPEND"
  -device virtio-rng-pci -nic none
  -virtfs "local,path=$SHARED,mount_tag=root,security_model=none,readonly=on,multidevs=remap"
  -virtfs "local,path=$JOB,mount_tag=job,security_model=none,multidevs=remap")

# One VM under ACCEL; sets status (qemu's, 124 on TIMEOUT_S) and silent=1 when a KVM guest
# printed no init line within KERNELS_KVM_SILENCE seconds (it is then stopped). The VM runs in
# a subshell whose stderr is dropped: its shell's "Aborted" notice when qemu aborts.
run_vm() { # ACCEL
  local pid tail_pid=""
  rm -f "$JOB/rc" "$JOB/.silent"
  : >"$out"
  (
    # shellcheck disable=SC2046 # accel_args is a list of flags
    timeout -k 10 "$LIMIT" "${MACHINE[@]}" $(accel_args "$1") "${COMMON[@]}" </dev/null >"$out" 2>&1 &
    vm=$! waited=0
    if [ "${1%% *}" = kvm ]; then
      while kill -0 "$vm" 2>/dev/null && ! grep -q '^init: ' "$out"; do
        if [ "$waited" -ge "${KERNELS_KVM_SILENCE:-60}" ]; then : >"$JOB/.silent"; kill "$vm"; break; fi
        sleep 1
        waited=$((waited + 1))
      done
    fi
    wait "$vm"
  ) 2>/dev/null &
  pid=$!
  if [ "${KERNELS_VERBOSE:-0}" = 1 ]; then tail -n +1 -f --pid="$pid" "$out" >&2 & tail_pid=$!; fi
  status=0
  wait "$pid" || status=$?
  [ -z "$tail_pid" ] || wait "$tail_pid" 2>/dev/null || true
  silent=0
  if [ -e "$JOB/.silent" ]; then silent=1; rm -f "$JOB/.silent"; fi
}

echo "$ACCEL" >"$JOB/accel"
run_vm "$ACCEL"
if [ "${ACCEL%% *}" = kvm ] && [ "${KERNELS_KVM_RETRY:-1}" != 0 ] && [ ! -s "$JOB/rc" ] && { [ "$silent" = 1 ] || ! grep -q '^init: ' "$out"; }; then
  # Never a kernel failure: this host's KVM cannot run the guest. TCG from here on.
  why="stopped under KVM before init (qemu $status: $( { grep -a -m1 -i 'error\|assert' "$out" || true; } | tr -cd '[:print:]' | cut -c1-100))"
  [ "$silent" = 0 ] || why="silent under KVM for ${KERNELS_KVM_SILENCE:-60}s"
  log "kernel $LABEL $ARCH: VM $why; retrying under TCG"
  cp "$out" "$JOB/console-kvm.log"
  [ -z "${KERNELS_ACCEL_FILE:-}" ] || echo tcg >"$KERNELS_ACCEL_FILE"
  ACCEL=tcg
  echo "$ACCEL" >"$JOB/accel"
  run_vm "$ACCEL"
fi
[ "$status" = 124 ] && { log "kernel $LABEL $ARCH: VM timed out after ${LIMIT}s"; exit 124; }
[ -s "$JOB/rc" ] || { log "kernel $LABEL $ARCH: VM stopped without an exit status (qemu $status); see $out"; exit 125; }
exit "$(cat "$JOB/rc")"
