/* SPDX-License-Identifier: MIT */
/* Linux's SysV limits: the kernel.shm* sysctls, as files in /proc/sys. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "sysv.h"

int ushm__sysv_limit(enum ushm__sysv_limit which, const char **name,
                     unsigned long long *value)
{
    static const char *const names[] = {
        [USHM__SHMMAX] = "kernel.shmmax",
        [USHM__SHMMNI] = "kernel.shmmni",
        [USHM__SHMALL] = "kernel.shmall",
    };
    static const char *const paths[] = {
        [USHM__SHMMAX] = "/proc/sys/kernel/shmmax",
        [USHM__SHMMNI] = "/proc/sys/kernel/shmmni",
        [USHM__SHMALL] = "/proc/sys/kernel/shmall",
    };

    /* Linux has no per-process limit on attached segments (SHMSEG). */
    if (which == USHM__SHMSEG || ushm__read_sysctl(paths[which], value) != 0)
        return -1;
    *name = names[which];
    return 0;
}
