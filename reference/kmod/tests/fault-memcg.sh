#!/bin/bash
# Guest fault test: memory pressure during write-back. Writers in a cgroup
# with memory.max=64M write 256 MiB with write() and store 128 MiB through a
# MAP_SHARED mapping; their dirty pages must be written back (not lost, no
# OOM kill, no hang) and the data be on the server afterwards.
# usage (guest, root): fault-memcg.sh DMFS_KO DMFSD FAULTTOOL
KO=$1 DMFSD=$2 TOOL=$3
. "$(dirname "$0")/guest-lib.sh"
lib_init
dmfsd_start s 7181
mnt /run/mc-a 7181 || lib_finish
cg=/sys/fs/cgroup
mountpoint -q $cg || mount -t cgroup2 none $cg
echo +memory >$cg/cgroup.subtree_control
mkdir -p $cg/dmfs-mc
echo 64M >$cg/dmfs-mc/memory.max
t test "$(cat $cg/dmfs-mc/memory.max)" = $((64 << 20))

# run a command in the cgroup
in_cg() { sh -c 'echo $$ >'"$cg"'/dmfs-mc/cgroup.procs && exec "$@"' sh "$@"; }

t0=$(ms)
in_cg "$TOOL" fill /run/mc-a/w 0 256M w 1M & p1=$!
in_cg sh -c "'$TOOL' fill /run/mc-a/m 0 128M 0 && '$TOOL' mapstore /run/mc-a/m 0 128M m" & p2=$!
wait_pid $p1 600; r1=$wait_rc
wait_pid $p2 600; r2=$wait_rc
info "writers: status $r1 and $r2 after $(($(ms) - t0)) ms; memory.events: $(tr '\n' ' ' <$cg/dmfs-mc/memory.events)"
t test "$r1" = 0
t test "$r2" = 0
t test "$(awk '/^oom_kill / {print $2}' $cg/dmfs-mc/memory.events)" = 0
t sync -f /run/mc-a/w
t "$TOOL" check "$exp_s/w" 0 256M w
t "$TOOL" check "$exp_s/m" 0 128M m
rmdir $cg/dmfs-mc
lib_finish
