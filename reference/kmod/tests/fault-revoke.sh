#!/bin/bash
# Guest fault test: revokes during long read()/write() calls, dmfsd with
# --revoke-timeout 2s (issue 13 defects 4 and 5).
# usage (guest, root): fault-revoke.sh DMFS_KO DMFSD FAULTTOOL [CASE...]
#   bigread   client A reads 256 MiB uncached in one read(); B writes into
#             the file meanwhile: A answers the revoke in time (no eviction)
#   evictwrite  A writes 1 GiB in 64 MiB write() calls, its dirty pages kept
#             in memory; B's write at offset 0 evicts A (A ignores revokes);
#             after A's reconnect nothing A dirtied before the eviction may
#             reach the server: B's data at offset 0 stays, A learns of the
#             loss (EIO at close)
# The guest needs 3 GiB for evictwrite (DMMAP_GUEST_MEM=3072).
KO=$1 DMFSD=$2 TOOL=$3
shift 3
. "$(dirname "$0")/guest-lib.sh"
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(bigread evictwrite)
lib_init
dmfsd_start s 7121 --revoke-timeout 2s
mnt /run/rv-a 7121 || lib_finish
mnt /run/rv-b 7121 || lib_finish

evicted() { dmesg_new | grep -q "evicted by server"; }

case_bigread() {
  local r t0 t1
  "$TOOL" fill "$exp_s/big" 0 256M r 16M   # on the server side directly
  t0=$(ms)
  dd if=/run/rv-a/big of=/dev/null bs=256M count=1 status=none & r=$!
  sleep 1
  t "$TOOL" fill /run/rv-b/big 128M 4096 w
  t1=$(ms)
  info "B's write granted after $((t1 - t0 - 1000)) ms"
  wait $r
  t test $? = 0
  info "A's 256 MiB read() took $(($(ms) - t0)) ms"
  # the read must outlast the revoke timeout, or this case proves nothing
  t test $(($(ms) - t0)) -gt 4000
  t sh -c '! evicted'
  rm -f /run/rv-b/big
}

case_evictwrite() {
  local w ka t0 i
  ka=$(dev_of /run/rv-a)/ignore_revokes
  sysctl -qw vm.dirty_bytes=$((2200 << 20)) vm.dirty_background_bytes=$((2000 << 20)) \
    vm.dirty_expire_centisecs=360000 vm.dirty_writeback_centisecs=0
  echo 1 >"$ka"
  "$TOOL" fill /run/rv-a/f 0 1G a 64M 2>/run/rv-a.err & w=$!
  # B writes once A has 128 MiB dirty (write() calls under way)
  for i in $(seq 600); do
    [ "$(awk '/^wchar/ {print $2}' /proc/$w/io 2>/dev/null || echo 0)" -gt $((128 << 20)) ] && break
    sleep 0.1
  done
  info "A has written $(awk '/^wchar/ {print $2}' /proc/$w/io 2>/dev/null) bytes"
  t0=$(ms)
  t "$TOOL" fill /run/rv-b/f 0 4096 b
  t sync -f /run/rv-b/f
  info "B's write granted after $(($(ms) - t0)) ms"
  t evicted
  echo 0 >"$ka"
  wait $w
  info "A's writer: status $? $(cat /run/rv-a.err)"
  sync -f /run/rv-a/f
  sysctl -qw vm.dirty_bytes=0 vm.dirty_background_bytes=0 vm.dirty_ratio=20 \
    vm.dirty_background_ratio=10 vm.dirty_expire_centisecs=3000 vm.dirty_writeback_centisecs=500
  # B's 4 KiB at offset 0 were written after A's eviction: still there
  t "$TOOL" check "$exp_s/f" 0 4096 b
  t grep -q "Input/output error" /run/rv-a.err
  rm -f /run/rv-b/f
}

for c in "${cases[@]}"; do
  echo "== $c"
  "case_$c"
done
lib_finish
