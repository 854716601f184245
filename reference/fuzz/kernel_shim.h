/* Userspace stand-ins for the kernel types and helpers that
 * reference/kmod/dmfs_check.h uses, so the fuzz target runs the module's own
 * checks (the userspace code is little-endian only, see dmfs_proto.h). */
#ifndef DMFS_KERNEL_SHIM_H
#define DMFS_KERNEL_SHIM_H
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
#define S64_MAX INT64_MAX
#define le16_to_cpu(x) ((u16)(x))
#define le32_to_cpu(x) ((u32)(x))
#define le64_to_cpu(x) ((u64)(x))

#include "dmfs_check.h"
#endif
