# One machine's own filesystem: one kernel, one page cache.
describes  a local filesystem (ext4, xfs, btrfs, tmpfs, ...): the one-machine baseline
fs-types   ext2 ext3 ext4 xfs btrfs tmpfs f2fs vfat exfat
eviction-timeout       none  one kernel: no server holds anything for a client it could stop waiting for
timestamp-granularity  2s    the coarsest of Linux's local filesystems: vfat keeps 2 s (ext4 with 128-byte inodes: 1 s; fs/fat/misc.c)
cluster-etxtbsy        yes   one kernel: deny_write_access() on the one inode refuses every writer
flock                  cluster  one kernel: every flock() meets every other
