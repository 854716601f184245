# shellcheck shell=bash
# Helpers of the dmfs fault tests (tests/fault-*.sh), sourced inside the
# qemu guest (ci/guest-run). A test sets KO, DMFSD, TOOL (faulttool) and
# calls: lib_init; ... t CMD ...; lib_finish.
#
#   t CMD...             PASS/FAIL line; a FAIL makes the test fail
#   info TEXT            an INFO line (measurements)
#   dmfsd_start NAME PORT [ARGS...]   dmfsd over a fresh tmpfs $exp_NAME... sets
#                        srv_NAME (pid) and exp_NAME (export directory)
#   silent_start PORT    a listener that accepts and never answers: $silent
#   mnt DIR PORT         mount -t dmfs (DIR created)
#   dev_of DIR           /sys/fs/dmfs/<MAJ>:<MIN> of a mount
#   ms                   milliseconds since the test started
#   wait_pid PID SECS    wait for PID at most SECS s; status in $wait_rc
#                        (255 if still running)
#   dmesg_new            kernel messages since lib_init
#   param NAME VALUE     set a module parameter
#
# lib_finish unmounts what lib mounted, stops the servers, unloads the
# module and fails on a kernel report (WARNING, BUG, Oops, hung task, slab
# objects left) or a module that does not unload.
set -u
fail=0
lib_mounts=()
lib_pids=()
lib_exports=()
lib_t0=$(date +%s%N)

t() { if "$@"; then echo "PASS $*"; else echo "FAIL $*"; fail=1; fi; }
info() { echo "INFO $*"; }
ms() { echo $((($(date +%s%N) - lib_t0) / 1000000)); }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_wait() {
  local i
  for i in $(seq 100); do port_open "$1" && return 0; sleep 0.1; done
  echo "FAIL nothing listens on port $1"; fail=1; return 1
}

lib_init() {
  modprobe -q tcp_diag 2>/dev/null || true
  insmod "$KO" "$@" || { echo "FAIL insmod $KO"; exit 1; }
  lib_dmesg0=$(dmesg | wc -l)
}

dmesg_new() { dmesg | tail -n +$((lib_dmesg0 + 1)); }

param() { echo "$2" >"/sys/module/dmfs/parameters/$1"; }

dmfsd_start() {
  local name=$1 port=$2 exp=/run/export-$1
  shift 2
  mkdir -p "$exp"
  if ! mountpoint -q "$exp"; then
    mount -t tmpfs -o mode=1777 "export-$name" "$exp"
    lib_exports+=("$exp")
  fi
  "$DMFSD" --root "$exp" --listen "127.0.0.1:$port" "$@" >>"/run/dmfsd-$name.log" 2>&1 &
  printf -v "srv_$name" %s $!
  printf -v "exp_$name" %s "$exp"
  lib_pids+=($!)
  port_wait "$port"
}

silent_start() {
  python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
' "$1" &
  silent=$!
  lib_pids+=($!)
  port_wait "$1"
}

mnt() {
  mkdir -p "$1"
  mount -t dmfs -o "server=127.0.0.1:$2" none "$1" && lib_mounts+=("$1")
}

dev_of() { echo "/sys/fs/dmfs/$(stat -c '%Hd:%Ld' "$1")"; }

wait_pid() {
  local end=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.2; done
  if kill -0 "$1" 2>/dev/null; then wait_rc=255; else wait "$1"; wait_rc=$?; fi
}

lib_finish() {
  local m p
  for m in "${lib_mounts[@]}"; do
    if mountpoint -q "$m"; then
      timeout 60 umount "$m" || { echo "FAIL umount $m"; fail=1; umount -l "$m"; }
    fi
  done
  for p in "${lib_pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
  for p in "${lib_pids[@]}"; do wait "$p" 2>/dev/null; done
  for m in "${lib_exports[@]}"; do umount "$m" 2>/dev/null; done
  if grep -q '^dmfs ' /proc/modules; then
    t rmmod dmfs
  fi
  dmesg_new | grep -E "dmfs" | tail -20
  if dmesg_new | grep -E "BUG|WARNING|Oops|INFO: task|Objects remaining|still has objects|general protection"; then
    echo "FAIL kernel report in dmesg"
    fail=1
  fi
  exit $fail
}
