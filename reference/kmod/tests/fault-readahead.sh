#!/bin/bash
# Guest fault test: coherence must not depend on read_ahead_kb staying 0
# (root may raise it): readahead stays within the locks the client holds
# (issue 13 defect 9).
# usage (guest, root): fault-readahead.sh DMFS_KO DMFSD FAULTTOOL
# B stores new data at 1 MiB of a 2 MiB file (dirty in B's cache, PW lock on
# the granule [1 MiB, 2 MiB)); A, holding a lock on [0, 1 MiB) only and with
# read_ahead_kb=4096, asks for readahead (fadvise WILLNEED) and reads
# sequentially, then reads at 1 MiB: it must see B's data.
KO=$1 DMFSD=$2 TOOL=$3
shift 3
. "$(dirname "$0")/guest-lib.sh"
lib_init
dmfsd_start s 7141
mnt /run/ra-a 7141 || lib_finish
mnt /run/ra-b 7141 || lib_finish
a=/run/ra-a b=/run/ra-b
# super_setup_bdi() names a mount's bdi dmfs-N, not after its st_dev:
# raise it on every dmfs bdi (before the files are opened: an open file
# keeps the readahead size it was opened with)
for f in /sys/class/bdi/dmfs-*/read_ahead_kb; do echo 4096 >"$f"; done
t test "$(cat /sys/class/bdi/dmfs-*/read_ahead_kb | sort -u)" = 4096

# $1: file; fadvise or sequential read as the readahead trigger ($2)
ra_case() {
  t "$TOOL" fill "$exp_s/$1" 0 2M o               # server side: old data
  t "$TOOL" readat "$a/$1" 0 4096 >/dev/null      # A: PR, whole file
  t "$TOOL" mapstore "$b/$1" 1M 4096 n            # B: revokes A; PW [1M, 2M)
  case $2 in
    fadvise) t "$TOOL" fadvise "$a/$1" 0 2M ;;
    sequential) t dd if="$a/$1" of=/dev/null bs=64K count=16 status=none ;;
  esac
  out=$("$TOOL" readat "$a/$1" 1M 1)
  info "$2: A reads at 1 MiB: '$out' (count, first byte; n = $(printf %d "'n"))"
  t test "$out" = "1 $(printf %d "'n")"
}

echo "== fadvise"
ra_case f1 fadvise
echo "== sequential"
ra_case f2 sequential
lib_finish
