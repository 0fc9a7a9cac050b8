#!/usr/bin/env bash
# Boot one fetched kernel under qemu-system with ROOT shared read-only over 9p as its root
# (under a tmpfs overlay) and JOB shared writable at /job; init.sh runs JOB/run.sh there.
#
#   scripts/kernels/boot.sh LABEL ARCH ROOT JOB [TIMEOUT_S]
#
# The serial console goes to JOB/console.log (and to stderr with KERNELS_VERBOSE=1). Exit status:
# run.sh's (from JOB/rc); 124 when the VM did not finish within TIMEOUT_S (default 900);
# 125 when it stopped without an exit status (a panic, a failed mount: see console.log).
# TCG (emulation) unless /dev/kvm is usable and ARCH is the host's.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
LABEL="$1" ARCH="$2" SHARED="$3" JOB="$4" LIMIT="${5:-900}"
K="$KVENDOR/$LABEL-$ARCH"
"$KERNELS_DIR/initramfs.sh" "$LABEL" "$ARCH"
CPUS="${KERNELS_VM_CPUS:-2}" MEM="${KERNELS_VM_MEM:-2048}"
KVM=no
if [ "$ARCH" = "$(uname -m)" ] && [ -w /dev/kvm ] && [ "${KERNELS_KVM:-1}" != 0 ]; then KVM=yes; fi
case "$ARCH" in
  x86_64)
    QEMU=(qemu-system-x86_64 -M q35)
    CONSOLE=ttyS0 ;;
  arm64)
    QEMU=(qemu-system-aarch64 -M virt)
    CONSOLE=ttyAMA0 ;;
esac
if [ "$KVM" = yes ]; then QEMU+=(-accel kvm -cpu host)
elif [ "$ARCH" = arm64 ]; then QEMU+=(-accel tcg,thread=multi -cpu max,pauth-impdef=on)
else QEMU+=(-accel tcg,thread=multi -cpu max)
fi
rm -f "$JOB/rc" "$JOB/console.log"
# random.trust_cpu and virtio-rng: Node's getrandom() otherwise waits for entropy on 5.10.
APPEND="console=$CONSOLE panic=-1 quiet loglevel=4 random.trust_cpu=on rdinit=/init"
out="$JOB/console.log"
set +e
if [ "${KERNELS_VERBOSE:-0}" = 1 ]; then
  timeout -k 10 "$LIMIT" "${QEMU[@]}" -smp "$CPUS" -m "$MEM" -nographic -no-reboot -monitor none \
    -kernel "$K/vmlinuz" -initrd "$K/initrd.img" -append "$APPEND" \
    -device virtio-rng-pci -nic none \
    -virtfs "local,path=$SHARED,mount_tag=root,security_model=none,readonly=on,multidevs=remap" \
    -virtfs "local,path=$JOB,mount_tag=job,security_model=none,multidevs=remap" \
    </dev/null 2>&1 | tee "$out" >&2
  status=${PIPESTATUS[0]}
else
  timeout -k 10 "$LIMIT" "${QEMU[@]}" -smp "$CPUS" -m "$MEM" -nographic -no-reboot -monitor none \
    -kernel "$K/vmlinuz" -initrd "$K/initrd.img" -append "$APPEND" \
    -device virtio-rng-pci -nic none \
    -virtfs "local,path=$SHARED,mount_tag=root,security_model=none,readonly=on,multidevs=remap" \
    -virtfs "local,path=$JOB,mount_tag=job,security_model=none,multidevs=remap" \
    </dev/null >"$out" 2>&1
  status=$?
fi
set -e
[ "$status" = 124 ] && { log "kernel $LABEL $ARCH: VM timed out after ${LIMIT}s"; exit 124; }
[ -s "$JOB/rc" ] || { log "kernel $LABEL $ARCH: VM stopped without an exit status (qemu $status); see $out"; exit 125; }
exit "$(cat "$JOB/rc")"
