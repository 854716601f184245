# dmfs, the reference backend of this repository (reference/, docs/dmfsd.md).
describes  dmfs (reference kernel client and dmfsd)
fs-types   dmfs
eviction-timeout       30s   dmfsd --revoke-timeout default 30 s: a client that has not cancelled a revoked lock by then is evicted (docs/dmfsd.md); a server started with another value needs a profile saying so
timestamp-granularity  1s    dmfsd keeps the times of its backing filesystem: as coarse as that one (1 s at worst on the Linux filesystems it supports)
cluster-etxtbsy        yes   exec registrations: an open for writing of a binary running on any client is refused with ETXTBSY (docs/protocol.md)
flock                  cluster  fcntl and flock locks are cluster-wide, kept by dmfsd's lock manager (reference/kmod/file.c)
