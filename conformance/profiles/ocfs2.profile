# OCFS2 with the o2cb cluster stack.
describes  OCFS2 (o2cb stack)
fs-types   ocfs2
eviction-timeout       60s   a node that stops heartbeating is declared dead and fenced after O2CB_HEARTBEAT_THRESHOLD iterations of 2 s, default 31: (31 - 1) x 2 = 60 s (Documentation/filesystems/ocfs2.rst, o2cb(7))
timestamp-granularity  1s    the coarsest to expect (OCFS2 keeps nanoseconds); the suite measures the real one
cluster-etxtbsy        unknown  not documented
flock                  cluster  flock() is cluster-aware through the DLM (Documentation/filesystems/ocfs2.rst, localflocks to keep them per node)
