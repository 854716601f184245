# NFS (Linux client and knfsd server).
describes  NFS v3/v4 (Linux client, Linux knfsd)
fs-types   nfs nfs4
eviction-timeout       90s   NFSv4 lease: a client that stops renewing loses its delegations and locks after one lease period, knfsd default 90 s (/proc/fs/nfsd/nfsv4leasetime; RFC 8881 section 8.3)
timestamp-granularity  1s    the server's filesystem sets the times: as coarse as the exported filesystem (ext3 and 128-byte-inode ext4: 1 s)
cluster-etxtbsy        no    no protocol operation registers an exec: only the client running a binary refuses writers (nfs(5))
flock                  cluster  the Linux client sends flock() to the server as a whole-file lock, unless mounted local_lock=flock|all (nfs(5), local_lock)
