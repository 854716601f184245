#!/bin/bash
# Guest test: module load/unload and mount option validation, no server needed.
# usage (in the guest, as root): options.sh DMFS_KO
set -u
ko=$1 fail=0
check() { # expect-fail description command...
  local want=$1 what=$2; shift 2
  if "$@" >/tmp/opt.out 2>&1; then got=ok; else got=fail; fi
  if [ "$got" = "$want" ]; then echo "PASS $what"; else echo "FAIL $what (got $got)"; cat /tmp/opt.out; fail=1; fi
}
insmod "$ko" || { echo "FAIL insmod"; exit 1; }
grep -q dmfs /proc/filesystems && echo "PASS registered"
mkdir -p /mnt/x
echo secret >/tmp/secret
check fail "no server option" mount -t dmfs none /mnt/x
check fail "server without port" mount -t dmfs -o server=127.0.0.1 none /mnt/x
check fail "bad ip" mount -t dmfs -o server=300.1.1.1:7000 none /mnt/x
check fail "port 0" mount -t dmfs -o server=127.0.0.1:0 none /mnt/x
check fail "port too big" mount -t dmfs -o server=127.0.0.1:70000 none /mnt/x
check fail "garbage port" mount -t dmfs -o server=127.0.0.1:12ab none /mnt/x
check fail "unknown option" mount -t dmfs -o server=127.0.0.1:7000,bogus=1 none /mnt/x
check fail "missing secret file" mount -t dmfs -o server=127.0.0.1:7000,secret=/nonexistent none /mnt/x
check fail "secret is a dir" mount -t dmfs -o server=127.0.0.1:7000,secret=/tmp none /mnt/x
check fail "huge option" mount -t dmfs -o server=$(head -c 3000 /dev/zero | tr '\0' 'A'):1 none /mnt/x
check fail "nothing listening" mount -t dmfs -o server=127.0.0.1:7999,secret=/tmp/secret none /mnt/x
dmesg | grep -i dmfs | tail -5
check ok "rmmod" rmmod dmfs
grep -q dmfs /proc/filesystems && { echo "FAIL still registered"; fail=1; }
dmesg | grep -E "BUG|WARNING|Oops" && fail=1
exit $fail
