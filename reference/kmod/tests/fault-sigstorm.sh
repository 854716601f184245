#!/bin/bash
# Guest fault test: a signal storm during contended faults. Two clients
# store and load through MAP_SHARED mappings of the same pages (every fault
# revokes the other client's lock); a thrower sends caught SIGUSR1s to all
# of them every few milliseconds and SIGKILLs one of them now and then
# (a new one takes its place). Nothing may hang, oops, or be evicted, and
# the file stays readable by both.
# usage (guest, root): fault-sigstorm.sh DMFS_KO DMFSD FAULTTOOL [SECONDS]
KO=$1 DMFSD=$2 TOOL=$3 secs=${4:-30}
. "$(dirname "$0")/guest-lib.sh"
lib_init
dmfsd_start s 7171 --revoke-timeout 10s
mnt /run/ss-a 7171 || lib_finish
mnt /run/ss-b 7171 || lib_finish
t "$TOOL" fill /run/ss-a/f 0 64K 0
rm -f /run/ss-a.out /run/ss-b.out /run/ss-a.pid /run/ss-b.pid /run/ss-tick
end=$((SECONDS + secs))

# one mount's stormers: $1 mount, $2 byte; replaced when killed
stormers() {
  local m=$1 c=$2 n=0 p
  # a stormer is signalled from the moment its pid is known: it starts with
  # SIGUSR1 ignored (inherited through exec) until it installs its handler
  trap '' USR1
  while [ $SECONDS -lt $end ]; do
    "$TOOL" storm "$m/f" 16 "$c" $((end - SECONDS)) >>/run/ss-$c.out 2>&1 & p=$!
    echo $p >/run/ss-$c.pid
    wait $p
    echo "exit $?" >>/run/ss-$c.out
    n=$((n + 1))
  done
}

# bash builtins only (kill, read, a timed read as the pause): a pkill per
# signal forks and scans /proc, and in a slow guest threw 3 signals in 30 s
thrower() {
  local i=0 pa pb
  mkfifo /run/ss-tick
  exec 9<>/run/ss-tick
  while [ $SECONDS -lt $end ]; do
    read -r pa </run/ss-a.pid 2>/dev/null
    read -r pb </run/ss-b.pid 2>/dev/null
    kill -USR1 $pa $pb 2>/dev/null
    i=$((i + 1))
    [ $((i % 200)) = 0 ] && kill -KILL $pa 2>/dev/null
    read -r -t 0.005 -u 9
  done
  exec 9>&-
}

stormers /run/ss-a a & s1=$!
stormers /run/ss-b b & s2=$!
thrower & th=$!
t0=$(ms)
wait_pid $s1 $((secs + 60)); r1=$wait_rc
wait_pid $s2 $((secs + 60)); r2=$wait_rc
wait $th
info "stormers ended $(($(ms) - t0)) ms after start (run: ${secs} s)"
info "a: $(grep -c loops /run/ss-a.out) runs, $(grep -c 'exit 137' /run/ss-a.out) killed; last: $(grep loops /run/ss-a.out | tail -1)"
info "b: $(grep -c loops /run/ss-b.out) runs; last: $(grep loops /run/ss-b.out | tail -1)"
t test "$r1" != 255 -a "$r2" != 255
# a storm that hardly hit anything proves nothing
caught=$(sed -n 's/.* loops, \([0-9]*\) signals/\1/p' /run/ss-a.out /run/ss-b.out | awk '{n += $1} END {print n + 0}')
info "signals caught by the stormers that ended normally: $caught"
t test "$caught" -ge 50
# SIGBUS (135) or another death than the SIGKILLs: a fault was refused
t sh -c "! grep -E 'exit (135|1[0-9][0-9])' /run/ss-a.out /run/ss-b.out | grep -v 'exit 137'"
t sh -c "! grep -q 'exit 137' /run/ss-b.out"
not_evicted() { ! dmesg_new | grep -q "evicted by server"; }
t not_evicted
t "$TOOL" readat /run/ss-a/f 0 65536
t "$TOOL" readat /run/ss-b/f 0 65536
lib_finish
