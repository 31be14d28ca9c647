/* SPDX-License-Identifier: MIT */
/*
 * A plain SysV join reads the segment's size when it is first asked for
 * (lib/open.c, ushm_size()), as the raw attach, which makes no IPC_STAT,
 * never reads it.  That keeps ushm_size() exact on Linux only: a segment
 * this process has attached stays while it is attached (a removal only
 * marks it), and its size can always be read again, whatever its owner
 * did since the attach:
 *
 *   IPC_STAT            needs read permission, which the owner may have
 *                       taken away with IPC_SET meanwhile;
 *   SHM_STAT_ANY        (Linux 4.17) needs none; it takes the kernel's index
 *                       of the segment, the low 15 bits of its id (24 with
 *                       the ipcmni_extend boot option), and says the id;
 *   /proc/sysvipc/shm   lists every segment of the IPC namespace, to
 *                       anybody, on every Linux.
 *
 * Elsewhere (FreeBSD and macOS cannot stat a removed segment) configure
 * takes sysv-size-eager.c.
 */
#define _GNU_SOURCE /* SHM_STAT_ANY */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "sysv.h"

const int ushm__sysv_size_lazy = 1;

#if HAVE_DECL_SHM_STAT_ANY
static int stat_any(int shmid, size_t *size)
{
    static const int index_bits[] = { 15, 24 };
    struct shmid_ds ds;

    /* What the kernel writes, valgrind (3.19) does not know it writes. */
    memset(&ds, 0, sizeof ds);
    for (size_t i = 0; i < sizeof index_bits / sizeof index_bits[0]; i++)
        if (shmctl(shmid & ((1 << index_bits[i]) - 1), SHM_STAT_ANY, &ds) ==
            shmid) {
            *size = ds.shm_segsz;
            return 0;
        }
    return -1;
}
#else
static int stat_any(int shmid, size_t *size)
{
    (void)shmid;
    (void)size;
    return -1;
}
#endif

/* Its line in /proc/sysvipc/shm: "key shmid perms size cpid ...". */
static int from_proc(int shmid, size_t *size)
{
    FILE *f = fopen("/proc/sysvipc/shm", "re");
    unsigned long long bytes;
    char line[512];
    unsigned perms;
    int rc = -1, key, id;

    if (f == NULL)
        return -1;
    while (rc != 0 && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "%d %d %o %llu", &key, &id, &perms, &bytes) == 4 &&
            id == shmid && bytes != 0 && bytes <= SIZE_MAX) {
            *size = (size_t)bytes;
            rc = 0;
        }
    fclose(f);
    return rc;
}

int ushm__sysv_size(const struct ushm__id *id, int shmid, size_t *size)
{
    struct shmid_ds ds;
    int err;

    if (shmctl(shmid, IPC_STAT, &ds) == 0) {
        *size = ds.shm_segsz;
        return 0;
    }
    err = errno;
    if (stat_any(shmid, size) == 0 || from_proc(shmid, size) == 0)
        return 0;
    return ushm__fail(err, "shmctl(%s, id %d, IPC_STAT): %s, and neither "
                      "SHM_STAT_ANY nor /proc/sysvipc/shm said its size",
                      ushm__label(id), shmid, ushm_strerror(err));
}
