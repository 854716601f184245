#!/bin/bash
# Guest fault test: the conformance catalog on dmfs over a slow, lossy
# network. tc netem on loopback (dmfsd and its clients talk over 127.0.0.1)
# delays every packet and drops some; the catalog must still pass at strict.
# usage (guest, root, target dmfs): fault-netem.sh NETEM_ARGS -- DMMAP_CONFORM NP [ARGS...]
#   e.g. fault-netem.sh delay 2ms 1ms loss 0.5% -- build/conformance/dmmap-conform 2
set -u
netem=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do netem+=("$1"); shift; done
shift
modprobe sch_netem
tc qdisc add dev lo root netem "${netem[@]}" || exit 1
echo "INFO loopback: $(tc qdisc show dev lo)"
"$(dirname "$0")/../../../ci/guest/tests/run-conform" "$@"
rc=$?
tc -s qdisc show dev lo | sed 's/^/INFO /'
tc qdisc del dev lo root
exit $rc
