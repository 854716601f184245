#!/bin/bash
# Where a revoke's time goes (issue 16): bench-guest.sh on dmmap-bench
# revocation/dirty:1 alone, under kprobe tracing of the dmfs module and
# dmfsd's syscalls; writes OUT/trace.txt (split it with revoke-trace.py)
# besides bench-guest.sh's files (round trips, bench.json, dmfs-stats.txt).
# usage (host):
#   ci/guest-run --target dmfs --clients 2 --out OUT -- \
#     reference/kmod/tests/revoke-trace.sh BUILD_DIR
#   /usr/bin/python3 reference/kmod/tests/revoke-trace.py OUT/trace.txt
set -u
build=$1
T=/sys/kernel/tracing
[ -e $T/kprobe_events ] || mount -t tracefs nodev $T
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
  echo "$p" >>$T/kprobe_events || { echo "kprobe failed: $p" >&2; exit 1; }
done
echo 1 >$T/events/dmfs/enable
# the server's side: when dmfsd wakes and sends
for e in sys_enter sys_exit; do
  echo 'comm == "dmfsd"' >$T/events/raw_syscalls/$e/filter
  echo 1 >$T/events/raw_syscalls/$e/enable
done
echo 1 >$T/tracing_on
"$(dirname "$0")/bench-guest.sh" "$build" --ranks 2 --dirty 1 \
  --benchmark_filter='revocation/dirty:1/'
rc=$?
echo 0 >$T/tracing_on
cat $T/trace >"$DMMAP_OUT/trace.txt"
echo 0 >$T/events/enable; echo >$T/kprobe_events
exit $rc
