# What --profile auto chooses for a filesystem no profile names: nothing declared.
describes  a filesystem no shipped profile describes: give --profile NAME or FILE
fs-types
eviction-timeout       unknown  not declared
timestamp-granularity  2s    the coarsest of Linux filesystems (vfat); the suite measures the real one
cluster-etxtbsy        unknown  not declared
flock                  unknown  not declared
