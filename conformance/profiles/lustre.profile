# Lustre (2.x, ldiskfs or ZFS servers).
describes  Lustre
fs-types   lustre
eviction-timeout       100s  a client that does not answer a lock callback is evicted after the lock callback timeout, at least ldlm_enqueue_min, default 100 s (Lustre Operations Manual, "Lustre timeouts"); adaptive timeouts can make it longer on a busy system: write a profile of your own then
timestamp-granularity  1s    Lustre keeps whole seconds (inode times in seconds on the MDT and OSTs)
cluster-etxtbsy        yes   the MDT refuses an open for writing of a file some client opened for exec (MDS_FMODE_EXEC, mdt_write_deny in lustre/mdt/mdt_open.c)
flock                  cluster  with the mount option flock; localflock keeps them per client, noflock refuses them (Lustre Operations Manual, mount.lustre)
