# IBM Storage Scale (GPFS).
describes  IBM Storage Scale (GPFS)
fs-types   gpfs
eviction-timeout       70s   a node that stops renewing its disk lease is expelled after failureDetectionTime (default 35 s) and its tokens recovered after leaseRecoveryWait (default 35 s) (mmchconfig documentation)
timestamp-granularity  1s    the coarsest to expect; the suite measures the real one
cluster-etxtbsy        unknown  not documented
flock                  unknown  not documented for flock(2) (fcntl locks are cluster-wide)
