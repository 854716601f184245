#!/usr/bin/env bash
# dmmap-dialfs's command line: --help names every dial, bad usage exits 2 with
# a message naming the problem, a client that cannot be mounted exits 1; none
# of them leaves a process, a mount or a file behind.
# Usage: cli-test.sh DMMAP_DIALFS
set -euo pipefail
dialfs=$1
work=$(mktemp -d /tmp/dialfs-cli-XXXXXX)
cleanup() {
  { grep -o " $work/[^ ]*" /proc/self/mounts || true; } | while read -r m; do umount -l "$m" || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir -p "$work/store" "$work/a" "$work/b"

# expect STATUS PATTERN ARGS...: runs the daemon (it must end by itself).
expect() {
  local want=$1 pattern=$2 status=0
  shift 2
  timeout -k 5 20 "$@" >"$work/out" 2>&1 || status=$?
  [ "$status" -eq "$want" ] || fail "'$*' exited $status, expected $want: $(cat "$work/out")"
  grep -q -- "$pattern" "$work/out" || fail "'$*' did not say '$pattern': $(cat "$work/out")"
  ! grep -q " $work/" /proc/self/mounts || fail "'$*' left a mount: $(grep " $work/" /proc/self/mounts)"
  [ -z "$(ls -A "$work/store")" ] || fail "'$*' left files in the store"
}

expect 0 "--publish POINT" "$dialfs" --help
for option in --store --mount --publish --notify --on-open --merge --time-granularity --etxtbsy --release-wait --locks --flock --trace; do
  grep -q -- "^  $option" "$work/out" || fail "--help does not list $option"
done
expect 0 "^dmmap-dialfs [0-9]" "$dialfs" --version

ok=(--store "$work/store" --mount "$work/a" --mount "$work/b")
expect 2 "--store DIR is required" "$dialfs" --mount "$work/a"
expect 2 "at least one --mount DIR is required" "$dialfs" --store "$work/store"
expect 2 "unknown option '--coherence'" "$dialfs" "${ok[@]}" --coherence strict
expect 2 "unexpected argument" "$dialfs" "${ok[@]}" "$work/a"
expect 2 "--publish takes write, sync or close, not 'never'" "$dialfs" "${ok[@]}" --publish never
expect 2 "--notify takes on or off, not 'yes'" "$dialfs" "${ok[@]}" --notify yes
expect 2 "--on-open takes keep or refresh, not 'drop'" "$dialfs" "${ok[@]}" --on-open drop
expect 2 "--merge takes page or bytes, not 'words'" "$dialfs" "${ok[@]}" --merge words
expect 2 "--time-granularity takes a power of ten" "$dialfs" "${ok[@]}" --time-granularity 2s
expect 2 "--etxtbsy takes local or cluster, not 'on'" "$dialfs" "${ok[@]}" --etxtbsy on
expect 2 "--release-wait: 'soon' is not a duration" "$dialfs" "${ok[@]}" --release-wait soon
expect 2 "--locks takes local, cluster or off, not 'posix'" "$dialfs" "${ok[@]}" --locks posix
expect 2 "--flock takes local, cluster or off, not 'bsd'" "$dialfs" "${ok[@]}" --flock bsd
expect 2 "--publish needs a value" "$dialfs" "${ok[@]}" --publish
expect 2 "--store '$work/none' is not an existing directory" "$dialfs" --store "$work/none" --mount "$work/a"
touch "$work/file"
expect 2 "--mount '$work/file' is not an existing directory" "$dialfs" --store "$work/store" --mount "$work/file"
expect 2 "is given twice as --mount" "$dialfs" --store "$work/store" --mount "$work/a" --mount "$work/a/."
mkdir -p "$work/other/inner"
expect 2 "must not contain each other" "$dialfs" --store "$work/other" --mount "$work/other/inner"
expect 2 "must not contain each other" "$dialfs" --store "$work/store" --mount "$work"

# No usable /dev/fuse (in a mount namespace of its own, /dev/null stands in
# for it): the mount fails, the daemon says so and exits 1.
if unshare -m --propagation private true 2>/dev/null; then
  expect 1 "cannot mount $work/a" unshare -m --propagation private \
    sh -c 'mount --bind /dev/null /dev/fuse && exec "$0" "$@"' "$dialfs" "${ok[@]}"
else
  echo "note: no mount namespaces here; the mount-failure case was not run"
fi
echo "PASS: dialfs cli"
