#!/usr/bin/env bash
# Developer loop for the dmfs kernel module: boot Debian's kernel under qemu
# (TCG, the host kernel cannot load modules), host root shared read-only over
# 9p with a tmpfs overlay, run one command as root in the guest, return its
# exit status. Only for kmod development until ci/guest-run exists; see
# docs/guest-runner.md for the measured facts this follows. Like ci/guest-run
# it boots only while it holds the machine's guest lock (ci/guest/machine-lock).
#
# usage: dev-guest.sh [-t SECONDS] COMMAND...
#   the command runs with cwd=$PWD; console output goes to stdout;
#   exit status = the command's, 124 on timeout, 125 on panic/no status.
set -euo pipefail
timeout_s=300
if [ "${1:-}" = "-t" ]; then timeout_s=$2; shift 2; fi
[ $# -ge 1 ] || { echo "usage: $0 [-t SECONDS] COMMAND..." >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
kver=$(ls /lib/modules | grep -- '-amd64$' | sort -V | tail -1)
[ -n "$kver" ] || { echo "dev-guest: no Debian kernel in /lib/modules" >&2; exit 2; }
kernel=/boot/vmlinuz-$kver
work=${DMFS_GUEST_WORK:-/work/main/build-kmod/guest}
mkdir -p "$work"
out=$(mktemp -d "$work/out.XXXXXX")
trap 'rm -rf "$out"' EXIT

# initramfs: busybox + the modules needed for the 9p/overlay root
initrd=$work/initrd-$kver.cpio.gz
if [ ! -f "$initrd" ] || [ "$0" -nt "$initrd" ]; then
  rd=$(mktemp -d)
  mkdir -p "$rd"/{bin,proc,sys,dev,lower,upper,newroot,mods}
  cp /bin/busybox "$rd/bin/busybox"
  mods="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p overlay"
  for m in $mods; do
    f=$(find /lib/modules/$kver/kernel -name "$m.ko" | head -1)
    cp "$f" "$rd/mods/"
  done
  cat >"$rd/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $mods; do insmod /mods/\$m.ko || echo "initrd: insmod \$m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostroot /lower
mount -t tmpfs -o size=1g tmpfs /upper; mkdir -p /upper/u /upper/w
mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /newroot
mkdir -p /newroot/mnt/guestout
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none guestout /newroot/mnt/guestout
umount /proc /sys; umount /dev
exec switch_root /newroot /bin/sh /mnt/guestout/stage2.sh
INIT
  chmod +x "$rd/init"
  (cd "$rd" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
  rm -rf "$rd"
fi

printf '%q ' "$@" >"$out/cmd"
cat >"$out/stage2.sh" <<STAGE2
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmpfs /tmp; mount -t tmpfs tmpfs /run
ip link set lo up
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
cd "$PWD"
timeout -k 5 $((timeout_s - 20)) sh -c "\$(cat /mnt/guestout/cmd)" </dev/null
echo \$? >/mnt/guestout/status
sync
echo o >/proc/sysrq-trigger
sleep 10
STAGE2

# shellcheck source=../../ci/guest/machine-lock
. "$here/../../ci/guest/machine-lock"
take_machine_lock dev-guest || exit 2
set +e
timeout -k 5 "$timeout_s" qemu-system-x86_64 -accel tcg -cpu max -m 2048 -smp 2 \
  -nographic -no-reboot -serial mon:stdio -display none \
  -kernel "$kernel" -initrd "$initrd" \
  -append "console=ttyS0 quiet loglevel=4 panic=-1 oops=panic" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs local,path="$out",mount_tag=guestout,security_model=none,multidevs=remap \
  -nic none </dev/null
qrc=$?
set -e
if [ -f "$out/status" ]; then exit "$(cat "$out/status")"; fi
[ $qrc -eq 124 ] && { echo "dev-guest: timeout" >&2; exit 124; }
echo "dev-guest: no status (panic/oops?), qemu rc=$qrc" >&2
exit 125
