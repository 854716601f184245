#!/bin/bash
# Guest side of dmfs_guest_plock_shared (ci/guest-run --target dmfs --clients
# 2): two processes on each of the two dmfs clients take turns on one fcntl()
# write lock (plockshare.c), as shared.locked-update does with 2 ranks per node.
# usage (guest): plock-shared.sh PLOCKSHARE ITERS
set -euo pipefail
: "${DMMAP_DIRS:?plock-shared.sh: not under ci/guest-run --target dmfs}"
prog=$1 iters=$2
IFS=, read -r a b _ <<<"$DMMAP_DIRS"
exec timeout -k 5 180 "$prog" "$iters" "$a/plockshare" "$a/plockshare" "$b/plockshare" "$b/plockshare"
