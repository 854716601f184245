#!/bin/bash
# Where a revoke's time goes (issue 16): dmmap-bench revocation/dirty:1 alone
# under kprobe tracing of the dmfs module and dmfsd's syscalls; writes
# OUT/trace.txt (split it with revoke-trace.py), the mounts' sysfs stats
# before and after, and the loopback round trip (rtt.json).
# usage (host):
#   ci/guest-run --target dmfs --clients 2 --out OUT -- \
#     reference/kmod/tests/revoke-trace.sh BUILD_DIR
#   /usr/bin/python3 reference/kmod/tests/revoke-trace.py OUT/trace.txt
set -u
build=$1
T=/sys/kernel/tracing
[ -e $T/kprobe_events ] || mount -t tracefs nodev $T
snap() { for f in /sys/fs/dmfs/*/stats; do echo "== $f"; cat "$f"; done; }
"$build/reference/bench/dmfs-lock-bench" --benchmark_filter=LoopbackTcpRtt \
  --benchmark_out="$DMMAP_OUT/rtt.json" --benchmark_out_format=json >/dev/null
echo 0 >$T/tracing_on; echo >$T/trace; echo 65536 >$T/buffer_size_kb
echo >$T/kprobe_events
# shellcheck disable=SC2016 # $retval is the kprobe's, not the shell's
for p in 'p:dmfs/fault dmfs_fault' 'r:dmfs/fault_ret dmfs_fault ret=$retval' \
         'p:dmfs/mkwrite dmfs_page_mkwrite' 'r:dmfs/mkwrite_ret dmfs_page_mkwrite ret=$retval' \
         'p:dmfs/enq dmfs_rpc_enqueue' 'r:dmfs/enq_ret dmfs_rpc_enqueue ret=$retval' \
         'p:dmfs/revoke_cb dmfs_lock_revoke_cb' 'p:dmfs/flush dmfs_lock_flush_cancel' \
         'r:dmfs/flush_ret dmfs_lock_flush_cancel' \
         'p:dmfs/send dmfs_send_msg op=%si:u16 flags=%dx:u16' \
         'r:dmfs/wbsend_ret dmfs_writeback_send'; do
  echo "$p" >>$T/kprobe_events || echo "kprobe failed: $p"
done
echo 1 >$T/events/dmfs/enable
# the server's side: when dmfsd wakes and sends
echo 'comm == "dmfsd"' >$T/events/raw_syscalls/sys_exit/filter
echo 'comm == "dmfsd"' >$T/events/raw_syscalls/sys_enter/filter
echo 1 >$T/events/raw_syscalls/sys_enter/enable
echo 1 >$T/events/raw_syscalls/sys_exit/enable
snap >"$DMMAP_OUT/stats-before.txt"
echo 1 >$T/tracing_on
mpirun --allow-run-as-root --oversubscribe -np 2 "$build/bench/dmmap-bench" \
  --dirs "$DMMAP_DIRS" --bind none --timeout 300s --ranks 2 --dirty 1 \
  --benchmark_filter='revocation/dirty:1/' --benchmark_out="$DMMAP_OUT/bench.json"
rc=$?
echo 0 >$T/tracing_on
snap >"$DMMAP_OUT/stats-after.txt"
cat $T/trace >"$DMMAP_OUT/trace.txt"
echo 0 >$T/events/enable; echo >$T/kprobe_events
exit $rc
