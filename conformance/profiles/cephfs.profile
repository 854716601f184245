# CephFS (kernel client or ceph-fuse).
describes  CephFS
fs-types   ceph fuse.ceph-fuse
eviction-timeout       60s   a client that stops renewing its session goes stale after mds_session_timeout (default 60 s) and the MDS can revoke its capabilities; it is evicted after mds_session_autoclose (default 300 s) (Ceph documentation, "MDS config reference")
timestamp-granularity  1s    the coarsest to expect; the suite measures the real one
cluster-etxtbsy        no    no exec registration in the MDS protocol: only the client running a binary refuses writers
flock                  cluster  flock and fcntl locks are kept by the MDS for every client (kernel client since Linux 2.6.37)
