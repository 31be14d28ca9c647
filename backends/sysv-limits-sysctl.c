/* SPDX-License-Identifier: MIT */
/*
 * SysV limits through sysctlbyname(): configure gives the prefix, kern.ipc.
 * on FreeBSD and kern.sysv. on macOS.  The values are 64-bit on macOS and
 * an unsigned long on FreeBSD, so both widths are read.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdint.h>
#include <sys/types.h>
#include <sys/sysctl.h>

#include "sysv.h"

int ushm__sysv_limit(enum ushm__sysv_limit which, const char **name,
                     unsigned long long *value)
{
    static const char *const names[] = {
        [USHM__SHMMAX] = USHM_SYSV_SYSCTL_PREFIX "shmmax",
        [USHM__SHMMNI] = USHM_SYSV_SYSCTL_PREFIX "shmmni",
        [USHM__SHMALL] = USHM_SYSV_SYSCTL_PREFIX "shmall",
        [USHM__SHMSEG] = USHM_SYSV_SYSCTL_PREFIX "shmseg",
    };
    union { uint64_t u64; uint32_t u32; } v;
    size_t len = sizeof v;

    if (sysctlbyname(names[which], &v, &len, NULL, 0) != 0)
        return -1;
    if (len == sizeof v.u64)
        *value = v.u64;
    else if (len == sizeof v.u32)
        *value = v.u32;
    else
        return -1;
    *name = names[which];
    return 0;
}
