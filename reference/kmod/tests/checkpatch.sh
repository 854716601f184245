#!/usr/bin/env bash
# Kernel style of the dmfs client: every reference/kmod/*.[ch] and
# reference/include/dmfs_proto.h passes Debian's scripts/checkpatch.pl
# --strict --no-tree --file with no error, warning or check, kernel-doc
# reads every comment without a warning, and every function dmfs.h declares
# has a kernel-doc comment.
#
# usage: checkpatch.sh SOURCE_DIR
# Installs ci/packages/checkpatch.txt (ci/setup) and extracts from Debian's
# linux-source tarball only the scripts it needs, once, into
# ${DMMAP_CHECKPATCH_CACHE:-/var/tmp/dmmap-checkpatch}/<package version>/.
set -euo pipefail
src=$(cd "${1:?usage: checkpatch.sh SOURCE_DIR}" && pwd)
pkg=linux-source-6.1
needed=(scripts/checkpatch.pl scripts/spelling.txt
        scripts/const_structs.checkpatch scripts/kernel-doc)

# Exit status 77 (ctest: skipped) only where the test cannot run: the
# packages are missing and ci/setup cannot install them (not root, no
# mirror). Anything else that goes wrong is a failure.
tarball=/usr/src/$pkg.tar.xz
if ! setup_log=$("$src/ci/setup" checkpatch 2>&1); then
  if [ ! -f "$tarball" ] || ! command -v perl >/dev/null; then
    echo "SKIP checkpatch: $pkg or perl missing and ci/setup could not install them:"
    echo "$setup_log"
    exit 77
  fi
  echo "ci/setup checkpatch failed, but $tarball and perl are there:" >&2
  echo "$setup_log" >&2
fi
[ -f "$tarball" ] || { echo "checkpatch: $tarball missing after ci/setup (package $pkg)" >&2; exit 1; }
version=$(dpkg-query -W -f='${Version}' "$pkg")
cache=${DMMAP_CHECKPATCH_CACHE:-/var/tmp/dmmap-checkpatch}/$pkg-$version
if [ ! -f "$cache/scripts/checkpatch.pl" ]; then
  mkdir -p "$(dirname "$cache")"
  tmp=$(mktemp -d "$cache.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # the whole xz stream is read (~15 s), but only these files are written
  tar -xJf "$tarball" -C "$tmp" --strip-components=1 "${needed[@]/#/$pkg/}"
  mv -T "$tmp" "$cache" 2>/dev/null || rm -rf "$tmp" # a parallel run won
  trap - EXIT
fi

cd "$src/reference"
files=(kmod/*.[ch] include/dmfs_proto.h)
fail=0
out=$(perl "$cache/scripts/checkpatch.pl" --strict --no-tree --terse --file "${files[@]}" 2>&1) || true
if grep -v ': total: 0 errors, 0 warnings, 0 checks,' <<<"$out" | grep -q .; then
  echo "FAIL checkpatch --strict:"
  grep -v ': total: 0 errors, 0 warnings, 0 checks,' <<<"$out"
  fail=1
else
  echo "PASS checkpatch --strict: ${#files[@]} files, 0 errors, 0 warnings, 0 checks"
fi

out=$(perl "$cache/scripts/kernel-doc" -none kmod/*.[ch] 2>&1)
if [ -n "$out" ]; then
  echo "FAIL kernel-doc warnings:"
  echo "$out"
  fail=1
fi
documented=$(perl "$cache/scripts/kernel-doc" -rst kmod/*.[ch] 2>/dev/null |
  sed -n 's/^\.\. c:function:: [^(]*[ *]\([A-Za-z_][A-Za-z0-9_]*\) (.*/\1/p' | sort -u)
declared=$(sed -n 's/^[a-z][a-z0-9_ *]*[ *]\([A-Za-z_][A-Za-z0-9_]*\)(.*/\1/p' kmod/dmfs.h | sort -u)
[ -n "$declared" ] || { echo "FAIL no function found in dmfs.h"; exit 1; }
missing=$(comm -23 <(echo "$declared") <(echo "$documented"))
if [ -n "$missing" ]; then
  echo "FAIL declared in dmfs.h without a kernel-doc comment:" $missing
  fail=1
else
  echo "PASS kernel-doc: all $(wc -l <<<"$declared") functions of dmfs.h documented"
fi
exit $fail
