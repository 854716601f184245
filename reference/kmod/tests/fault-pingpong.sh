#!/bin/bash
# Guest fault test: two clients increment one word of a MAP_SHARED page
# with nothing serialising them, so each load needs the PR lock and each
# store the PW lock the other client has just taken; each increment is
# done between flock() and unlock of the client's own file (two server
# round trips between increments, as in shared.flock-update where dmfsd
# --fault no-plock let both clients in at once). Both must make progress.
# A lock revoked the moment a fault had put it took the page away before
# .page_mkwrite or the faulting instruction ran, and the two clients took
# the lock from each other for minutes without either store ever landing
# (a livelock). lock_min_hold_us lets a revoked lock serve that long.
# Progress is judged by lock exchanges per increment, which do not depend
# on the machine's speed (a slow host makes every increment slow, not each
# one cost more exchanges), plus a bound on the longest increment that only
# a stall reaches.
# usage (guest, root): fault-pingpong.sh DMFS_KO DMFSD FAULTTOOL [SECS [SLACK_S [HOLD_US...]]]
#   HOLD_US: further lock_min_hold_us values to measure (not asserted)
KO=$1 DMFSD=$2 TOOL=$3 secs=${4:-10} slack=${5:-60}
shift $(($# < 5 ? $# : 5))
extra_holds=("$@")
. "$(dirname "$0")/guest-lib.sh"
lib_init
hold=$(cat /sys/module/dmfs/parameters/lock_min_hold_us 2>/dev/null || echo none)
info "lock_min_hold_us default: $hold"
dmfsd_start p 7181 --revoke-timeout 10s
mnt /run/pp-a 7181 || lib_finish
mnt /run/pp-b 7181 || lib_finish

# increments by one client's process, 0 if it did not end in time
count() { sed -n 's/^\([0-9]*\) increments.*/\1/p' "$1" | grep . || echo 0; }
# its longest increment (ms), the whole run if it did not end in time
longest() { sed -n 's/.*longest \([0-9]*\) ms/\1/p' "$1" | grep . || echo $(((secs + slack) * 1000)); }

# REVOKEs both mounts received so far
revokes() { cat /sys/fs/dmfs/*/stats | awk '$1 == "revokes" { n += $2 } END { print n + 0 }'; }

# $1: hold (us); both clients increment for $secs s; sets pp_a, pp_b,
# pp_long and pp_revokes (REVOKEs during the race, both mounts)
race() {
  [ "$1" != none ] && param lock_min_hold_us "$1"
  t "$TOOL" fill /run/pp-a/f 0 4096 0
  local t0 a b r0
  r0=$(revokes)
  t0=$(ms)
  "$TOOL" increment /run/pp-a/f "$secs" /run/pp-a/lock-a >/run/pp-a.out 2>&1 & a=$!
  "$TOOL" increment /run/pp-b/f "$secs" /run/pp-b/lock-b >/run/pp-b.out 2>&1 & b=$!
  wait_pid $a $((secs + slack)); [ "$wait_rc" = 255 ] && kill -KILL $a
  wait_pid $b $((secs + slack - ($(ms) - t0) / 1000)); [ "$wait_rc" = 255 ] && kill -KILL $b
  wait $a $b 2>/dev/null
  pp_a=$(count /run/pp-a.out) pp_b=$(count /run/pp-b.out)
  pp_long=$(printf '%s\n' "$(longest /run/pp-a.out)" "$(longest /run/pp-b.out)" | sort -n | tail -1)
  pp_revokes=$(($(revokes) - r0))
  info "hold $1 us: a: $pp_a, b: $pp_b increments ($secs s each, a stuck one killed at $((secs + slack)) s)," \
    "longest increment $pp_long ms; $(($(ms) - t0)) ms in all; $pp_revokes revokes"
  local f
  for f in /sys/fs/dmfs/*/stats; do
    info "  $f since the mount: $(grep -E '^(revokes|revoke_hold_ns|hold_raises) ' "$f" | tr '\n' ' ')"
  done
}

# without the hold (as before it existed): measured, not asserted (a
# livelock is likely, not certain)
[ "$hold" != none ] && race 0
for h in "${extra_holds[@]}"; do race "$h"; done
race "$hold"
# Progress. Strict alternation costs 2 REVOKEs an increment (the other
# client's PW for the load, the own PR for the store), fewer when a client
# keeps its lock for several; measured 2026-12-03: 1.1 here and 1.7 on a
# host four times slower with the hold, 16.5 and 6.4 without it. A stall:
# the livelock this guards against lasted minutes; the slowest increment
# with the hold was 1.4 s (on that slow host), without it 1.2-4.4 s.
t test "$pp_a" -ge "$secs" -a "$pp_b" -ge "$secs"   # one a second at least
t test "$pp_revokes" -le $((4 * (pp_a + pp_b)))
t test "$pp_long" -le 10000
not_evicted() { ! dmesg_new | grep -q "evicted by server"; }
t not_evicted
lib_finish
