#!/bin/bash
# Guest test of the HLD recovery case: a client evicted by dmfsd handshakes
# again as a new client; its locks and cached pages are gone; a binary it
# was running that changed meanwhile gets SIGBUS at its next fault instead
# of running new code, while an unchanged one keeps running.
# usage (guest, root): reconnect.sh DMFS_KO DMFSD [DMFSD_ARGS...]
# If the module is already loaded it is used as is (and left loaded), as
# the mutation matrix does with a fault-injection parameter set.
# Eviction is provoked with mount A's test knob
# /sys/fs/dmfs/<MAJ>:<MIN>/ignore_revokes (acknowledge REVOKEs, never
# cancel) and dmfsd --revoke-timeout 2s; B keeps answering, as a live node.
set -u
ko=$1 dmfsd=$2
shift 2
port=7050 fail=0 exp=/run/rc-export a=/run/rc-a b=/run/rc-b
t() { if "$@"; then echo "PASS $*"; else echo "FAIL $*"; fail=1; fi; }
cleanup() {
  trap - EXIT TERM
  [ -n "${changed:-}" ] && kill -9 "$changed" "$same" 2>/dev/null
  umount $a 2>/dev/null || umount -l $a 2>/dev/null
  umount $b 2>/dev/null || umount -l $b 2>/dev/null
  [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null && wait "$srv"
  umount $exp 2>/dev/null || umount -l $exp 2>/dev/null
}
trap cleanup EXIT
trap 'echo "FAIL killed (timeout)"; exit 124' TERM
mkdir -p $exp $a $b
mount -t tmpfs rc-export $exp
"$dmfsd" --root $exp --listen 127.0.0.1:$port --revoke-timeout 2s "$@" >/run/rc-dmfsd.log 2>&1 &
srv=$!
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
loaded=0
if [ -d /sys/module/dmfs ]; then loaded=1; else insmod "$ko" ${DMMAP_KMOD_PARAMS:-} || exit 1; fi
dmesg_start=$(dmesg | wc -l)
mount -t dmfs -o server=127.0.0.1:$port none $a || exit 1
mount -t dmfs -o server=127.0.0.1:$port none $b || exit 1
ka=/sys/fs/dmfs/$(stat -c '%Hd:%Ld' $a)/ignore_revokes

cp /bin/sleep $a/changed.bin && cp /bin/sleep $a/same.bin
echo before >$a/f
# A runs both binaries (exec opens registered: B cannot write them)
$a/changed.bin 15 & changed=$!
$a/same.bin 15 & same=$!
sleep 1
t sh -c "! (echo x >>$b/changed.bin) 2>/dev/null"   # ETXTBSY while A runs it
# A holds a cached PW lock on f; it ignores the REVOKE B's write causes
t test -w $ka
echo 1 >$ka
t0=$(date +%s%N)
t timeout -k 5 30 sh -c "echo from-b >$b/f"     # granted once the server evicts A
echo 0 >$ka
echo "INFO B's write waited $((($(date +%s%N) - t0) / 1000000)) ms for A's eviction"
t test "$(dmesg | tail -n +$((dmesg_start + 1)) | grep -c "evicted by server")" = 1  # A only
end=$((SECONDS + 10))   # by time: each dmesg|grep costs ~1 s under a loaded TCG
while [ $SECONDS -lt $end ]; do
  dmesg | tail -n +$((dmesg_start + 1)) | grep -q "dmfs: reconnected" && break
  sleep 0.5
done
t grep -q "dmfs: reconnected" <(dmesg | tail -n +$((dmesg_start + 1)))
# the evicted client's registrations are gone: B may now change the binary
t dd if=/bin/sleep of=$b/changed.bin bs=4096 count=1 conv=notrunc status=none
# A works again, and sees B's data, not its own stale cache
t test "$(cat $a/f)" = from-b
echo after >$a/h; t test "$(cat $b/h)" = after
wait $changed; rc_changed=$?
# 135 = 128 + SIGBUS: the HLD rule; 0 would mean the changed binary ran on
wait $same; rc_same=$?
changed= same=
t test $rc_changed = 135   # 128 + SIGBUS
t test $rc_same = 0
echo "INFO changed binary exit $rc_changed, unchanged binary exit $rc_same"
dmesg | grep "changed while executing" | tail -1
t umount $a
t umount $b
kill $srv; wait $srv
srv=
umount $exp
[ $loaded = 1 ] || t rmmod dmfs
dmesg | tail -n +$((dmesg_start + 1)) | grep -E "dmfs" | tail -12
dmesg | tail -n +$((dmesg_start + 1)) | grep -E "BUG|WARNING|Oops|INFO: task" && fail=1
exit $fail
