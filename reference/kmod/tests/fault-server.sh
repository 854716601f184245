#!/bin/bash
# Guest fault test: servers that misbehave - accept a connection and then
# stay silent, stop, send a grant that does not answer the request. No oops,
# no hang: a mount fails in bounded time, an umount ends within a bound, a
# bad grant is given back (issue 13 defects 1, 8 and 10).
# usage (guest, root): fault-server.sh DMFS_KO DMFSD FAULTTOOL [CASE...]
# Cases (default: all, in this order):
#   interrupted  silent server, mount interrupted by SIGINT 1.5 s into it
#                (request_timeout 10 s meanwhile)
#   rcvtimeo     silent server: mount fails once request_timeout (3 s) passed
#   reconnect    dmfsd killed, a silent listener takes its port: the
#                reconnect worker waits in its handshake there (request_timeout
#                10 s meanwhile); umount within 5 s
#   stopped      dmfsd SIGSTOPped with 64 dirty pages: umount within
#                3 x request_timeout + 5 s (once per dead session, not per page)
#   badgrant     a server (tests/mockd.py) whose first grant has the wrong
#                mode: the read fails with EIO, the grant is cancelled at the
#                server, the next read works
#   badread      a server whose first READ reply (readahead's, 16 pages)
#                announces a byte more than it carries: the reply is dropped
#                and logged, the pages are read again, the file reads right
#                and the session stays (the stream is still in step)
#   mmaplock     dmfsd SIGSTOPped for 4 s while a fault waits for its
#                grant: another thread of the process maps and unmaps memory
#                meanwhile within 1 s (the fault waits without mmap_lock)
#   mkwritelock  the same for a store to a page mapped read-only
#                (.page_mkwrite waits for the PW lock without mmap_lock)
KO=$1 DMFSD=$2 TOOL=$3
shift 3
. "$(dirname "$0")/guest-lib.sh"
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(interrupted rcvtimeo reconnect stopped badgrant badread mmaplock mkwritelock)
lib_init request_timeout=3

# umount DIR in the background: it must succeed within BOUND_MS (WHAT: what
# is in its way; it is given 10 s more before it counts as hung)
umount_within() {
  local dir=$1 bound=$2 what=$3 t0 took u
  t0=$(ms)
  umount "$dir" & u=$!
  wait_pid $u $((bound / 1000 + 10))
  took=$(($(ms) - t0))
  info "umount $what: status $wait_rc after $took ms"
  t test "$wait_rc" = 0
  t test $took -lt "$bound"
}

case_interrupted() {
  param request_timeout 10   # a timeout cannot pass for the signal
  silent_start 7101
  mkdir -p /run/hs-i
  local t0 took i
  # a background job of a script starts with SIGINT ignored: restore it
  python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' \
    mount -t dmfs -o server=127.0.0.1:7101 none /run/hs-i & local m=$!
  for i in $(seq 50); do [ "$(cat /proc/$m/comm 2>/dev/null)" = mount ] && break; sleep 0.1; done
  sleep 1.5   # in the handshake's receive now
  t0=$(ms)
  kill -INT $m
  wait_pid $m 10
  took=$(($(ms) - t0))
  info "interrupted mount ended $took ms after SIGINT with status $wait_rc (130: SIGINT)"
  t test "$wait_rc" = 130
  t test $took -lt 4000   # by the signal, not by the receive timeout
  t sh -c '! mountpoint -q /run/hs-i'
  kill $silent
  param request_timeout 3
}

case_rcvtimeo() {
  silent_start 7102
  mkdir -p /run/hs-t
  local t0 took
  t0=$(ms)
  mount -t dmfs -o server=127.0.0.1:7102 none /run/hs-t 2>/run/hs-t.err & local m=$!
  wait_pid $m 20
  took=$(($(ms) - t0))
  info "mount against a silent server: status $wait_rc after $took ms: $(cat /run/hs-t.err)"
  t test "$wait_rc" != 255 -a "$wait_rc" != 0
  t grep -q "timed out" /run/hs-t.err
  t test $took -ge 2500 -a $took -lt 10000
  t sh -c '! mountpoint -q /run/hs-t'
  kill $silent
}

case_reconnect() {
  param request_timeout 10   # the handshake would block that long
  dmfsd_start r 7103
  mnt /run/hs-r 7103 || return
  echo data >/run/hs-r/f
  kill -9 "$srv_r"
  wait "$srv_r" 2>/dev/null
  silent_start 7103
  # the reconnect worker (1, 2, 4 ... s after the loss) connects to the
  # silent listener and waits in its handshake
  local i
  for i in $(seq 200); do
    [ -n "$(ss -tnH state established '( dport = :7103 )')" ] && break
    sleep 0.2
  done
  t test -n "$(ss -tnH state established '( dport = :7103 )')"
  umount_within /run/hs-r 5000 "during a reconnect's handshake with a silent server"
  kill $silent
  param request_timeout 3
}

case_stopped() {
  dmfsd_start s 7104
  mnt /run/hs-s 7104 || return
  t "$TOOL" fill /run/hs-s/f 0 256K x
  t "$TOOL" mapstore /run/hs-s/f 0 256K y
  kill -STOP "$srv_s"
  umount_within /run/hs-s 14000 "with 64 dirty pages, server stopped"
  kill -CONT "$srv_s"
}

case_badgrant() {
  mkdir -p /run/mock-export /run/hs-m
  echo data >/run/mock-export/f
  MOCKD_BAD_GRANTS=1 python3 "$(dirname "$0")/mockd.py" /run/mock-export 7105 \
    2>/run/mockd.log & lib_pids+=($!)
  port_wait 7105
  mnt /run/hs-m 7105 || return
  t sh -c "! cat /run/hs-m/f >/dev/null 2>&1"
  local h
  h=$(sed -n 's/^bad grant //p' /run/mockd.log)
  info "mockd: $(tr '\n' ' ' </run/mockd.log)"
  t test -n "$h"
  t grep -q "^cancel $h ok" /run/mockd.log
  t test "$(cat /run/hs-m/f)" = data
  umount /run/hs-m
}

case_badread() {
  local session
  mkdir -p /run/mock-export-r /run/hs-r
  head -c 65536 /dev/urandom >/run/mock-export-r/f
  MOCKD_BAD_READS=1 python3 "$(dirname "$0")/mockd.py" /run/mock-export-r 7107 \
    2>/run/mockd-r.log & lib_pids+=($!)
  port_wait 7107
  mnt /run/hs-r 7107 || return
  session=$(cat /sys/fs/dmfs/*/session 2>/dev/null | tr '\n' ' ')
  t cmp /run/hs-r/f /run/mock-export-r/f
  t grep -q "^bad read" /run/mockd-r.log
  t sh -c "dmesg | tail -n +$((lib_dmesg0 + 1)) | grep -q 'malformed READ reply'"
  t cmp /run/hs-r/f /run/mock-export-r/f
  t test "$(cat /sys/fs/dmfs/*/session 2>/dev/null | tr '\n' ' ')" = "$session"
  umount /run/hs-r
}

# a fault of faulttool MODE (faultmmap, mkwritemmap) waits for dmfsd NAME
# on PORT, stopped: another thread's mmap() must not wait with it
mmap_lock_free() {
  local mode=$1 name=$2 port=$3 p exp srv
  param request_timeout 30   # the stop is no stall to declare
  dmfsd_start "$name" "$port"
  exp=exp_$name srv=srv_$name
  mnt "/run/hs-$name" "$port" || return
  "$TOOL" fill "${!exp}/f" 0 4096 m        # on the server: no lock cached
  "$TOOL" "$mode" "/run/hs-$name/f" 1000 >"/run/hs-$name.out" 2>&1 & p=$!
  for _ in $(seq 50); do grep -q mapped "/run/hs-$name.out" && break; sleep 0.1; done
  kill -STOP "${!srv}"
  sleep 4
  kill -CONT "${!srv}"
  wait_pid $p 30
  info "$mode waiting for a stopped server (4 s): $(tail -1 "/run/hs-$name.out"), status $wait_rc"
  t test "$wait_rc" = 0
  t test "$(sed -n 's/.* mmap \([0-9]*\)$/\1/p' "/run/hs-$name.out")" -lt 1000
  umount "/run/hs-$name"
  param request_timeout 3
}

case_mmaplock() { mmap_lock_free faultmmap l 7106; }
case_mkwritelock() { mmap_lock_free mkwritemmap w 7109; }

for c in "${cases[@]}"; do
  echo "== $c"
  "case_$c"
done
lib_finish
