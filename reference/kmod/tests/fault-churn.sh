#!/bin/bash
# Guest fault test: lock churn with lock_cache_max=0 (every unused lock is
# cancelled by the LRU shrinker at once) racing revokes from another
# client, unlinks, and umounts of a third client while the others revoke its
# locks (issue 13 defects 2 and 10). Best run with slub_debug=FZP
# (DMMAP_GUEST_KERNEL_ARGS): a freed lock is poisoned, so touching it oopses.
# usage (guest, root): fault-churn.sh DMFS_KO DMFSD FAULTTOOL [SECONDS]
KO=$1 DMFSD=$2 TOOL=$3 secs=${4:-40}
. "$(dirname "$0")/guest-lib.sh"
lib_init lock_cache_max=0
dmfsd_start s 7151 --revoke-timeout 10s
mnt /run/ch-a 7151 || lib_finish
mnt /run/ch-b 7151 || lib_finish
end=$((SECONDS + secs))

# $1 mount, $2 byte: random reads, mapped loads/stores, writes, truncates
# and unlinks over 8 files
churn() {
  local m=$1 c=$2 f n=0
  while [ $SECONDS -lt $end ]; do
    f=$m/f$((RANDOM % 8))
    case $((RANDOM % 6)) in
      0) "$TOOL" fill "$f" $((RANDOM % 64))K 4096 "$c" ;;
      1) "$TOOL" readat "$f" $((RANDOM % 64))K 8192 ;;
      2) "$TOOL" mapstore "$f" $((RANDOM % 16))K 4096 "$c" ;;
      3) "$TOOL" mapload "$f" $((RANDOM % 16))K ;;
      4) truncate -s $((RANDOM % 96))K "$f" ;;
      5) rm -f "$f" ;;
    esac >/dev/null 2>&1
    n=$((n + 1))
  done
  echo "$n"
}

# a third client mounts, reads every file (caching locks), umounts
cycle() {
  local n=0 f
  while [ $SECONDS -lt $end ]; do
    mount -t dmfs -o server=127.0.0.1:7151 none /run/ch-c || break
    for f in /run/ch-c/f*; do cat "$f" >/dev/null 2>&1; done
    umount /run/ch-c || { echo "umount failed"; break; }
    n=$((n + 1))
  done
  echo "$n"
}

mkdir -p /run/ch-c
churn /run/ch-a a >/run/ch-a.n & pa=$!
churn /run/ch-b b >/run/ch-b.n & pb=$!
cycle >/run/ch-c.n & pc=$!
wait $pa $pb $pc
info "operations: A $(cat /run/ch-a.n), B $(cat /run/ch-b.n); umount cycles of C: $(cat /run/ch-c.n)"
t sh -c "! mountpoint -q /run/ch-c"
t test "$(cat /run/ch-c.n)" -gt 0
not_evicted() { ! dmesg_new | grep -q "evicted by server"; }
t not_evicted
lib_finish
