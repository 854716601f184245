#!/bin/bash
# Guest fault test: the file size one client sees after another client
# changed it in a part of the file the first one holds no lock on (issue 13
# defect 6). dmfsd limits grants to 1 MiB granules for 2 s after a revoke
# on a file, which is how two clients come to hold disjoint locks.
# usage (guest, root): fault-size.sh DMFS_KO DMFSD FAULTTOOL [CASE...]
#   extend    A caches a lock on [0, 1 MiB) of a 4 KiB file; B extends the
#             file beyond 3 MiB and closes: A's read() at 512 KiB returns
#             data (a hole: zeros), not EOF, and A's load there is no SIGBUS
#   truncate  A holds a PW lock on [0, 1 MiB) with a dirty page; B truncates
#             the file from 3 MiB to 2 MiB: A's read() at 2.5 MiB is EOF
#             and A's load there is SIGBUS (not zeros)
KO=$1 DMFSD=$2 TOOL=$3
shift 3
. "$(dirname "$0")/guest-lib.sh"
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(extend truncate)
lib_init
dmfsd_start s 7131
mnt /run/sz-a 7131 || lib_finish
mnt /run/sz-b 7131 || lib_finish
a=/run/sz-a b=/run/sz-b

# A caches a PR lock on [0, 1 MiB) of a 4 KiB file F; then B extends F to
# 3 MiB + 4 KiB in the granule [3 MiB, 4 MiB) and closes (data on the server)
extend_setup() {
  t "$TOOL" fill "$b/$1" 0 4096 o                # B: PW, whole file
  t "$TOOL" readat "$a/$1" 0 4096 >/dev/null     # A: revokes B; PR [0, 1M)
  t "$TOOL" fill "$b/$1" 3M 4096 x               # B: PW [3M, 4M)
}

case_extend() {
  local out
  extend_setup e1
  out=$("$TOOL" readat $a/e1 512K 4096)
  info "A reads 4096 at 512 KiB: '$out' (count, first byte)"
  t test "$out" = "4096 0"
  extend_setup e2
  out=$("$TOOL" mapload $a/e2 512K 2>&1)
  info "A loads at 512 KiB: status $?, '$out'"
  t test "$out" = 0
  rm -f $b/e1 $b/e2
}

case_truncate() {
  local out
  t "$TOOL" fill $b/t 0 3M o                     # B: PW, whole file
  t "$TOOL" mapstore $a/t 0 4096 d               # A: revokes B; PW [0, 1M), dirty
  t truncate -s 2M $b/t                          # B: PW [2M, EOF), no conflict
  out=$("$TOOL" readat $a/t 2560K 4096)
  info "A reads 4096 at 2.5 MiB after the truncate to 2 MiB: '$out'"
  t test "$out" = "0 -1"
  "$TOOL" mapload $a/t 2560K >/dev/null 2>&1
  out=$?
  info "A loads at 2.5 MiB: status $out (135: SIGBUS)"
  t test "$out" = 135
  t test "$(stat -c %s $a/t)" = $((2 << 20))
  rm -f $b/t
}

for c in "${cases[@]}"; do
  echo "== $c"
  "case_$c"
done
lib_finish
