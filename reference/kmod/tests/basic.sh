#!/bin/bash
# Guest test of the dmfs client: two mounts of one server.
# usage (guest, root): basic.sh DMFS_KO MMTEST [SERVER_CMD...]
# SERVER_CMD gets ROOT PORT appended... default: the mock server.
set -u
ko=$1 mmtest=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
port=7049 fail=0
mkdir -p /tmp/export /mnt/a /mnt/b
if [ $# -gt 0 ]; then mkdir -p /tmp/export; "$@" & else python3 "$here/mockd.py" /tmp/export $port & fi
srv=$!
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
insmod "$ko" ${KMOD_PARAMS:-} || exit 1
t() { if "$@"; then echo "PASS $*"; else echo "FAIL $*"; fail=1; fi; }
t mount -t dmfs -o server=127.0.0.1:$port none /mnt/a
t mount -t dmfs -o server=127.0.0.1:$port none /mnt/b
t test "$(stat -c %d /mnt/a)" != "$(stat -c %d /mnt/b)"
t mkdir /mnt/a/d
t test -d /mnt/b/d
echo hello >/mnt/a/d/f; t test "$(cat /mnt/b/d/f)" = hello
t mv /mnt/b/d/f /mnt/b/d/g
t test "$(ls /mnt/a/d)" = g
t df -h /mnt/a
cp /bin/true /mnt/a/true.bin; cp /bin/ls /mnt/a/ls.bin
t /mnt/b/true.bin
t /mnt/a/ls.bin /mnt/b/d
t cmp /bin/ls /mnt/b/ls.bin
dd if=/dev/urandom of=/tmp/big bs=1M count=4 status=none
t cp /tmp/big /mnt/a/big
t cmp /tmp/big /mnt/b/big
t timeout 120 "$mmtest" /mnt/a /mnt/b ${MMTEST_ITERS:-300}
sleep 1 &
cd /mnt/a && t sh -c '! umount /mnt/a'   # busy: cwd inside
cd /
t rm -rf /mnt/a/d /mnt/a/big /mnt/a/true.bin /mnt/a/ls.bin
t umount /mnt/a
t umount /mnt/b
t rmmod dmfs
kill $srv
dmesg | grep -E "BUG|WARNING|Oops|INFO: task" && fail=1
dmesg | grep dmfs | tail -20
exit $fail
