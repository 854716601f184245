#!/bin/bash
# Guest fault test: signals to tasks that send to a stalled server (its
# socket buffers full). A caught signal must not cut a message in half
# (the stream would carry garbage: corrupted data or a dead session), a
# signal before the first byte must not end the session, and a write-back
# that a signal interrupted keeps its page dirty: every byte written()
# reaches the server (issue 13 defects 3 and 7).
# usage (guest, root): fault-signals.sh DMFS_KO DMFSD FAULTTOOL [CASE...]
#   caught   SIGUSR1 storm at a writer in fsync()
#   killed   SIGKILL to writers blocked in fsync(); a later sync writes their data
KO=$1 DMFSD=$2 TOOL=$3
shift 3
. "$(dirname "$0")/guest-lib.sh"
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(caught killed)
lib_init
# Small socket buffers, so that one 4 KiB WRITE blocks in the middle of its
# message (each write-back task has one request in flight at a time)
wmem=$(sysctl -n net.ipv4.tcp_wmem) rmem=$(sysctl -n net.ipv4.tcp_rmem)
sysctl -qw net.ipv4.tcp_wmem="4096 4096 4096" net.ipv4.tcp_rmem="4096 4096 4096"
dmfsd_start s 7111
mnt /run/sg-a 7111 || lib_finish
size=4M

# wait until a sigwrite's output says $2
says() {
  local i
  for i in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.2; done
  return 1
}

# start a sigwrite of FILE BYTE (the lock is taken while the server runs),
# stop the server, let it write: its pid in $w
sigwrite_stopped() {
  "$TOOL" sigwrite "$1" $size "$2" 60 >"$3" 2>&1 & w=$!
  t says "$3" ready
}

no_session_loss() {
  ! dmesg_new | grep -E "connection to .* lost|protocol violation|evicted"
}

case_caught() {
  local w i
  sigwrite_stopped /run/sg-a/caught c /run/sg-caught.out
  kill -STOP "$srv_s"
  kill -USR2 $w
  t says /run/sg-caught.out written
  sleep 2   # fsync blocked on full socket buffers
  for i in $(seq 40); do kill -USR1 $w 2>/dev/null; sleep 0.05; done
  kill -CONT "$srv_s"
  wait_pid $w 120
  info "writer: status $wait_rc: $(tr '\n' ' ' </run/sg-caught.out)"
  t test "$wait_rc" = 0
  t no_session_loss
  t "$TOOL" check "$exp_s/caught" 0 $size c
}

case_killed() {
  local w w1 w2
  sigwrite_stopped /run/sg-a/k1 k /run/sg-k1.out; w1=$w
  sigwrite_stopped /run/sg-a/k2 K /run/sg-k2.out; w2=$w
  kill -STOP "$srv_s"
  kill -USR2 $w1 $w2
  t says /run/sg-k1.out written
  t says /run/sg-k2.out written
  sleep 2
  kill -KILL $w1 $w2
  # a killed writer in the middle of a message finishes it first: it exits
  # once the server reads again
  kill -CONT "$srv_s"
  wait $w1 $w2 2>/dev/null
  t sync
  t no_session_loss
  # write() returned for every byte before the kill: all of it is data
  t "$TOOL" check "$exp_s/k1" 0 $size k
  t "$TOOL" check "$exp_s/k2" 0 $size K
}

for c in "${cases[@]}"; do
  echo "== $c"
  "case_$c"
done
sysctl -qw net.ipv4.tcp_wmem="$wmem" net.ipv4.tcp_rmem="$rmem"
lib_finish
