#!/bin/bash
# Guest test of interrupted application-lock waits across two clients:
# F_SETLKW interrupted by a caught signal or SIGKILL near the moment the
# lock is handed over must never leave the lock set at the server
# (plockintr.c says how).
# usage (guest, root): plock.sh DMFS_KO PLOCKINTR DMFSD [ITERS [DMFSD_ARGS...]]
# If the module is already loaded it is used as is (and left loaded).
set -u
ko=$1 prog=$2 dmfsd=$3
iters=${4:-200}
shift 3; [ $# -gt 0 ] && shift
port=7052 fail=0 exp=/run/pl-export a=/run/pl-a b=/run/pl-b
t() { if "$@"; then echo "PASS $*"; else echo "FAIL $*"; fail=1; fi; }
cleanup() {
  trap - EXIT TERM
  umount $a 2>/dev/null || umount -l $a 2>/dev/null
  umount $b 2>/dev/null || umount -l $b 2>/dev/null
  [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null && wait "$srv"
  umount $exp 2>/dev/null || umount -l $exp 2>/dev/null
}
trap cleanup EXIT
trap 'echo "FAIL killed (timeout)"; exit 124' TERM
mkdir -p $exp $a $b
mount -t tmpfs pl-export $exp
"$dmfsd" --root $exp --listen 127.0.0.1:$port "$@" >/run/pl-dmfsd.log 2>&1 &
srv=$!
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
loaded=0
if [ -d /sys/module/dmfs ]; then loaded=1; else insmod "$ko" ${DMMAP_KMOD_PARAMS:-} || exit 1; fi
dmesg_start=$(dmesg | wc -l)
mount -t dmfs -o server=127.0.0.1:$port none $a || exit 1
mount -t dmfs -o server=127.0.0.1:$port none $b || exit 1
: >$a/lockfile
t0=$SECONDS
P=/sys/module/dmfs/parameters
dbg=$(cat $P/debug); echo 1 >$P/debug   # logs each interrupted wait's outcome
timeout -k 5 300 "$prog" $a/lockfile $b/lockfile "$iters"; rc=$?
echo "$dbg" >$P/debug
echo "INFO plockintr: exit $rc after $((SECONDS - t0)) s"
t test $rc = 0
log=$(dmesg | tail -n +$((dmesg_start + 1)))
echo "INFO interrupted waits in the kernel: $(grep -c 'interrupted: withdrawn' <<<"$log") withdrawn, $(grep -c 'interrupted: set first, kept' <<<"$log") set first and kept (the race)"
# no lock left recorded locally on either mount (/proc/locks: hex MAJ:MIN:INO)
devs=$(for m in $a $b; do stat -c '%Hd %Ld' $m; done | while read -r M m; do printf ' %02x:%02x:|' "$M" "$m"; done)
t test "$(grep -cE "${devs%|}" /proc/locks)" = 0
t umount $a
t umount $b
kill $srv; wait $srv
srv=
umount $exp
[ $loaded = 1 ] || t rmmod dmfs
dmesg | tail -n +$((dmesg_start + 1)) | grep -E "dmfs" | tail -8
dmesg | tail -n +$((dmesg_start + 1)) | grep -E "BUG|WARNING|Oops|INFO: task" && fail=1
exit $fail
