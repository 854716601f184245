# BeeGFS.
describes  BeeGFS
fs-types   beegfs
eviction-timeout       unknown  no documented time after which a client that stopped answering loses what it holds: give a profile of your own
timestamp-granularity  1s    the coarsest to expect; the suite measures the real one
cluster-etxtbsy        no    no exec registration in the protocol
flock                  local  per client by default; cluster-wide with tuneUseGlobalFileLocks = true (beegfs-client.conf)
