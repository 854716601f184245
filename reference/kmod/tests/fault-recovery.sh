#!/bin/bash
# Guest fault test: what a client held before its eviction, or before a
# dmfsd restart, after it reconnected (issue 13, Recovery).
# usage (guest, root): fault-recovery.sh DMFS_KO DMFSD FAULTTOOL LIBTEST LIBV1 LIBV2 [CASE...]
#   plock      A holds an fcntl lock, is evicted and reconnects: the lock is
#              set again (B gets EAGAIN)
#   plocklost  B takes A's lock while A is evicted: A's owner then gets EIO
#              on the file (the exclusion it relies on is gone)
#   writeopen  B executes a file A has open for writing, while A is evicted:
#              A's writes through that descriptor then fail with EIO
#   exec       A runs a binary, is evicted and reconnects: once the binary
#              has faulted again, B's write to it is refused (ETXTBSY)
#   library    A's process has a shared library on dmfs mapped executable;
#              B overwrites the library: A's process gets SIGBUS at its next
#              fault in it, rather than run new code
#   restart    dmfsd killed with SIGKILL and restarted on the same export:
#              A reconnects; what it fsync()ed is there; what it had not is
#              reported lost (EIO at close); its lock is set again
KO=$1 DMFSD=$2 TOOL=$3 LIBTEST=$4 LIBV1=$5 LIBV2=$6
shift 6
. "$(dirname "$0")/guest-lib.sh"
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(plock plocklost writeopen exec library restart)
lib_init
admin=/run/rc-admin.sock
dmfsd_start s 7161 --admin $admin
mnt /run/rc-a 7161 || lib_finish
mnt /run/rc-b 7161 || lib_finish
a=/run/rc-a b=/run/rc-b

sysd_a=$(dev_of $a)   # stat(2) of the mount fails while A reconnects
session() { cat "$sysd_a/session"; }

# evict A at dmfsd; with "wait", also until A runs a new session
evict_a() {
  local old new i
  old=$(session)
  t "$DMFSD" --ctl $admin evict "$old"
  [ "${1:-}" = wait ] || return 0
  for i in $(seq 100); do
    new=$(session)
    [ "$new" != 0 ] && [ "$new" != "$old" ] && break
    sleep 0.1
  done
  info "A: session $old evicted, now $(session)"
  sleep 0.5   # the replay follows the handshake
}

# a process holding an fcntl write lock on $1 until its stdin closes; then
# it reads the file and says what read() did: "read ok" or "read EIO"
# (its stdin is a fifo, fd 7 of this shell: a process started in the
# background while fd 7 is open gets "7>&-", or the holder never sees EOF)
hold_lock() {
  python3 -c '
import errno, fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("locked", flush=True)
sys.stdin.read()
try:
    os.pread(fd, 10, 0)
    print("read ok", flush=True)
except OSError as e:
    print("read " + errno.errorcode[e.errno], flush=True)
' "$1"
}

# does B get fcntl's write lock on $1 at once? prints "got" or "busy"
try_lock_b() {
  python3 -c '
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("got")
except OSError:
    print("busy")
' "$1"
}

says() {
  local i
  for i in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# A's hold_lock on a new file $a/NAME, fed by fd 7: returns once it holds
# the lock; sets $holder; its output is /run/rc-NAME.out
a_holds_lock() {
  echo x >"$a/$1"
  mkfifo "/run/rc-$1.in"
  hold_lock "$a/$1" <"/run/rc-$1.in" >"/run/rc-$1.out" & holder=$!
  exec 7>"/run/rc-$1.in"
  t says "/run/rc-$1.out" locked
}

# closes fd 7: A's holder of NAME ends; what its read() did must be EXPECTED
# ("ok" or "EIO")
a_ends_lock() {
  exec 7>&-
  wait "$holder"
  info "A's lock owner of $1 at its end: $(tail -1 "/run/rc-$1.out")"
  t grep -q "read $2" "/run/rc-$1.out"
}

case_plock() {
  a_holds_lock pl
  t test "$(try_lock_b $b/pl)" = busy
  evict_a wait
  t test "$(try_lock_b $b/pl)" = busy
  a_ends_lock pl ok
  t test "$(try_lock_b $b/pl)" = got
}

case_plocklost() {
  a_holds_lock pll
  # B takes the lock between A's eviction and A's reconnect (1 s after the
  # loss): B's process is started first (python starts slowly in a TCG
  # guest) and tries the moment the eviction is done; it keeps the lock
  mkfifo /run/rc-pll-b.in
  python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
print("ready", flush=True)
sys.stdin.readline()
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("got", flush=True)
time.sleep(8)
' $b/pll </run/rc-pll-b.in >/run/rc-pll-b.out 2>&1 7>&- & local bp=$!
  exec 8>/run/rc-pll-b.in
  t says /run/rc-pll-b.out ready
  evict_a
  echo go >&8
  t says /run/rc-pll-b.out got
  sleep 3   # A reconnected and tried to set its lock again
  a_ends_lock pll EIO
  exec 8>&-
  wait $bp
}

case_writeopen() {
  local w
  cp /bin/sleep $a/wo.bin
  mkfifo /run/rc-wo.in
  # A: a descriptor open for writing, a write once told to
  python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
print("open", flush=True)
sys.stdin.read()
try:
    os.pwrite(fd, b"\0", 1 << 20)
    print("write ok", flush=True)
except OSError as e:
    print("write " + os.strerror(e.errno), flush=True)
' $a/wo.bin </run/rc-wo.in >/run/rc-wo.out 2>&1 & w=$!
  exec 7>/run/rc-wo.in
  t says /run/rc-wo.out open
  t sh -c "! $b/wo.bin 0 2>/dev/null"       # ETXTBSY while A writes it
  evict_a
  $b/wo.bin 6 7>&- & local run=$!           # B runs it while A is evicted
  sleep 3
  exec 7>&-
  wait $w
  info "A's write after B started the binary: $(tail -1 /run/rc-wo.out)"
  t grep -q "write Input/output error" /run/rc-wo.out
  wait $run
  t test $? = 0
}

case_exec() {
  local r
  cp /bin/bash $a/ex.bin
  $a/ex.bin -c 'while :; do sleep 0.2; done' & r=$!
  sleep 1
  t sh -c "! (echo x >>$b/ex.bin) 2>/dev/null"   # ETXTBSY
  evict_a wait
  sleep 1   # the binary faulted again: its registration is set again
  t sh -c "! (echo x >>$b/ex.bin) 2>/dev/null"   # ETXTBSY again
  kill $r
  wait $r 2>/dev/null
}

case_library() {
  local p
  cp "$LIBV1" $a/libver.so
  "$LIBTEST" $a/libver.so >/run/rc-lib.out 2>&1 & p=$!
  t says /run/rc-lib.out "ready 1"
  t dd if="$LIBV2" of=$b/libver.so conv=notrunc status=none
  kill -USR1 $p
  wait $p
  local rc=$?
  info "the process after its library changed: status $rc (135: SIGBUS), $(tr '\n' ' ' </run/rc-lib.out)"
  t test $rc = 135
  t sh -c "! grep -q 'f2 20' /run/rc-lib.out"
}

case_restart() {
  t "$TOOL" fill $a/synced 0 1M s 64K
  t sync -f $a/synced                       # FSYNC acknowledged
  a_holds_lock rl
  "$TOOL" fill $a/unsynced 0 4096 u 4096 # closed: written back at close
  t "$TOOL" mapstore $a/unsynced 0 4096 v   # dirty, never written back
  kill -9 "$srv_s"
  wait "$srv_s" 2>/dev/null
  "$DMFSD" --root "$exp_s" --listen 127.0.0.1:7161 --admin $admin >>/run/dmfsd-s.log 2>&1 7>&- &
  srv_s=$!
  lib_pids+=($!)
  port_wait 7161
  local i
  for i in $(seq 100); do [ "$(session)" != 0 ] && break; sleep 0.2; done
  sleep 1
  info "A after the restart: session $(session)"
  t "$TOOL" check "$exp_s/synced" 0 1M s
  t "$TOOL" check $a/synced 0 1M s
  t test "$(try_lock_b $b/rl)" = busy       # A's lock, set again
  a_ends_lock rl ok
  # the mapped store never reached the server: fsync() says so
  t sh -c "! python3 -c 'import os, sys; os.fsync(os.open(sys.argv[1], os.O_RDWR))' $a/unsynced 2>/dev/null"
  t "$TOOL" check "$exp_s/unsynced" 0 4096 u
}

for c in "${cases[@]}"; do
  echo "== $c"
  "case_$c"
done
lib_finish
