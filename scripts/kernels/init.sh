#!/bin/busybox sh
# /init of the kernel-matrix initramfs (static busybox + modules, built by initramfs.sh).
# Loads the virtio/9p/overlay modules, mounts the shared root (9p tag "root", read-only) under
# an overlay with a tmpfs on top for writes, mounts the job folder (9p tag "job", writable),
# then runs /job/run.sh chrooted into that root, writes its exit status to /job/rc and
# powers off. Everything it prints goes to the serial console.
/bin/busybox mkdir -p /proc /sys /dev /bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/order); do
  insmod "/modules/$m" || echo "init: insmod $m failed"
done
fail() { echo "init: $*"; poweroff -f; }
mkdir -p /lower /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose root /lower ||
  fail "cannot mount the shared root"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
  fail "cannot mount the overlay"
mkdir -p /newroot/job /newroot/proc /newroot/sys /newroot/dev /newroot/tmp
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 job /newroot/job || fail "cannot mount the job folder"
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/dev/shm
# No tmpfs over /tmp: a checkout there (CI clones into /tmp) must stay visible; the
# overlay's tmpfs upper takes the writes.
mount -t cgroup2 cgroup2 /newroot/sys/fs/cgroup 2>/dev/null || echo "init: no cgroup2 at /sys/fs/cgroup"
hostname kernel-vm
echo "init: $(uname -srm) up in $(cut -d' ' -f1 /proc/uptime) s"
chroot /newroot /bin/sh /job/run.sh
echo $? >/newroot/job/rc
sync
poweroff -f
