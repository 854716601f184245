#!/bin/bash
# Guest test of /sys/fs/dmfs/<MAJ>:<MIN>/ (one directory per mount, named
# after st_dev as stat -c '%Hd:%Ld' prints it): session, server,
# ignore_revokes; the directory's lifetime across reconnect, umount (with
# readers racing it) and rmmod.
# usage (guest, root): sysfs.sh DMFS_KO DMFSD [DMFSD_ARGS...]
# If the module is already loaded it is used as is (and left loaded).
set -u
ko=$1 dmfsd=$2
shift 2
port=7051 fail=0 exp=/run/sy-export a=/run/sy-a b=/run/sy-b
S=/sys/fs/dmfs P=/sys/module/dmfs/parameters
t() { if "$@"; then echo "PASS $*"; else echo "FAIL $*"; fail=1; fi; }
pids=()
cleanup() {
  trap - EXIT TERM
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
  [ -w $P/debug_ignore_revokes ] && echo 0 >$P/debug_ignore_revokes
  umount $a 2>/dev/null || umount -l $a 2>/dev/null
  umount $b 2>/dev/null || umount -l $b 2>/dev/null
  [ -n "${srv:-}" ] && kill "$srv" 2>/dev/null && wait "$srv"
  umount $exp 2>/dev/null || umount -l $exp 2>/dev/null
}
trap cleanup EXIT
trap 'echo "FAIL killed (timeout)"; exit 124' TERM
# wait_session DIR NOT...: until DIR/session is non-zero and none of NOT
wait_session() {
  local d=$1 s end=$((SECONDS + 15)); shift
  while [ $SECONDS -lt $end ]; do
    read -r s <"$d/session"
    if [ "$s" != 0 ] && ! printf '%s\n' "$@" | grep -qx "$s"; then
      echo "$s"; return 0
    fi
    sleep 0.2
  done
  echo 0; return 1
}
mkdir -p $exp $a $b
mount -t tmpfs sy-export $exp
"$dmfsd" --root $exp --listen 127.0.0.1:$port --revoke-timeout 2s "$@" >/run/sy-dmfsd.log 2>&1 &
srv=$!
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
loaded=0
if [ -d /sys/module/dmfs ]; then loaded=1; else insmod "$ko" ${DMMAP_KMOD_PARAMS:-} || exit 1; fi
dmesg_start=$(dmesg | wc -l)
newdmesg() { dmesg | tail -n +$((dmesg_start + 1)); }
t test -d $S
n0=$(ls $S | wc -l)
mount -t dmfs -o server=127.0.0.1:$port none $a || exit 1
mount -t dmfs -o server=127.0.0.1:$port none $b || exit 1

# --- one directory per mount, named after its st_dev ---
da=$S/$(stat -c '%Hd:%Ld' $a) db=$S/$(stat -c '%Hd:%Ld' $b)
echo "INFO A: $da  B: $db"
t test -d "$da"
t test -d "$db"
t test "$da" != "$db"
t test "$(ls $S | wc -l)" = $((n0 + 2))
t test "$(ls "$da" | tr '\n' ' ')" = "ignore_revokes server session stats "
t test "$(stat -c %a "$da/session") $(stat -c %a "$da/server") $(stat -c %a "$da/ignore_revokes") $(stat -c %a "$da/stats")" = "444 444 644 444"
sa=$(cat "$da/session") sb=$(cat "$db/session")
echo "INFO sessions A=$sa B=$sb"
t test "$sa" -gt 0
t test "$sb" -gt 0
t test "$sa" != "$sb"
# the id the server assigned at the handshake
t grep -q "connected to 127.0.0.1:$port as client $sa\$" <(newdmesg)
t grep -q "connected to 127.0.0.1:$port as client $sb\$" <(newdmesg)
t test "$(cat "$da/server")" = "127.0.0.1:$port"
t test "$(cat "$db/server")" = "127.0.0.1:$port"
t test "$(cat "$da/ignore_revokes")" = 0
t sh -c "! echo 2 >$da/ignore_revokes" 2>/dev/null  # EINVAL
t sh -c "! echo 1 >$da/session" 2>/dev/null       # read-only
t test "$(cat "$da/ignore_revokes")" = 0

# --- per-mount ignore_revokes: A ignores, only A is evicted ---
echo from-a >$a/f                 # A caches a PW lock on f
echo 1 >"$da/ignore_revokes"
t test "$(cat "$da/ignore_revokes")" = 1
# record A's session while B's write waits for A's eviction
(while :; do read -r s <"$da/session"; echo "$s"; sleep 0.05; done) >/run/sy-sessions 2>/dev/null &
pids+=($!)
t0=$(date +%s%N)
t timeout -k 5 30 sh -c "echo from-b >$b/f"     # granted once the server evicts A
echo "INFO B's write waited $((($(date +%s%N) - t0) / 1000000)) ms for A's eviction"
sa2=$(wait_session "$da" "$sa")
kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null; pids=()
echo "INFO A's sessions seen: $(uniq /run/sy-sessions | tr '\n' ' ')-> $sa2"
t grep -qx 0 /run/sy-sessions                   # 0 while disconnected
t test "$sa2" -gt 0
t test "$sa2" != "$sa"                           # a new session after the reconnect
t test "$(cat "$db/session")" = "$sb"            # B was never evicted
t test "$(newdmesg | grep -c 'evicted by server')" = 1
t test "$(cat "$da/ignore_revokes")" = 1         # stays set across the reconnect
# B still answers revokes while A's knob is set: A reads g, B hands it over
# (one more revoke flushed and cancelled in B's stats)
stat_of() { awk -v k="$2" '$1 == k { print $2 }' "$1/stats"; }
t test "$(awk 'NF != 2' "$db/stats" | wc -l)" = 0   # "name value" lines
echo from-b2 >$b/g
rb=$(stat_of "$db" revokes)
t0=$(date +%s%N)
t test "$(timeout 30 cat $a/g)" = from-b2
ms=$((($(date +%s%N) - t0) / 1000000))
echo "INFO A's read of B's file took $ms ms"
t test "$(stat_of "$db" revokes)" -gt "$rb"
t test "$(stat_of "$db" revoke_writeback_ns)" -gt 0
echo "INFO B's stats: $(tr '\n' ' ' <"$db/stats")"
t test "$(cat "$db/session")" = "$sb"
t test "$(newdmesg | grep -c 'evicted by server')" = 1
t test "$(cat $a/f)" = from-b
echo 0 >"$da/ignore_revokes"
t test "$(cat "$da/ignore_revokes")" = 0

# --- the module parameter still means "every mount" ---
echo a-h >$a/h; echo b-k >$b/k   # A caches PW on h, B on k
echo 1 >$P/debug_ignore_revokes
t test "$(cat "$da/ignore_revokes") $(cat "$db/ignore_revokes")" = "0 0"  # per-mount knobs untouched
# each reads the other's file: both ignore the revoke, both are evicted
timeout -k 5 30 cat $a/k >/dev/null 2>&1 & r1=$!
timeout -k 5 30 cat $b/h >/dev/null 2>&1 & r2=$!
wait $r1 $r2
echo 0 >$P/debug_ignore_revokes
sa3=$(wait_session "$da" "$sa" "$sa2")
sb3=$(wait_session "$db" "$sb")
echo "INFO after the module-wide knob: A $sa2 -> $sa3, B $sb -> $sb3"
t test "$sa3" != 0
t test "$sb3" != 0
t test "$(newdmesg | grep -c 'evicted by server')" = 3

# --- umount removes the directory, readers racing it are harmless ---
exec 7<"$db/session"               # an open attribute file across umount
for i in 1 2; do
  (while :; do cat "$db/session" "$db/server" "$db/ignore_revokes" >/dev/null 2>&1; done) &
  pids+=($!)
done
(while :; do read -r x <"$db/session"; read -r x <"$db/ignore_revokes"; done 2>/dev/null) &
pids+=($!)
sleep 0.5
t umount $b
sleep 0.3
kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null; pids=()
t test ! -e "$db"
t sh -c "! read -r x <&7" 2>/dev/null            # the open file now fails
exec 7<&-
t test -d "$da"
t umount $a
t test ! -e "$da"
t test "$(ls $S | wc -l)" = "$n0"
kill $srv; wait $srv
srv=
umount $exp
if [ $loaded = 0 ]; then
  t rmmod dmfs
  t test ! -e $S
fi
newdmesg | grep -E "dmfs" | tail -12
newdmesg | grep -E "BUG|WARNING|Oops|INFO: task" && fail=1
exit $fail
