/* SPDX-License-Identifier: MIT */
/* What SysV memory is in use, from shmctl(SHM_INFO), a Linux extension. */
#define _GNU_SOURCE /* SHM_INFO and struct shm_info */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/ipc.h>
#include <sys/shm.h>

#include "sysv.h"

int ushm__sysv_usage(unsigned long long *ids, unsigned long long *pages)
{
    struct shm_info info;

    if (shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&info) < 0)
        return -1;
    *ids = (unsigned long long)info.used_ids;
    *pages = (unsigned long long)info.shm_tot;
    return 0;
}
