/* SPDX-License-Identifier: MIT */
/*
 * A plain SysV join reads the segment's size when it is first asked for
 * (lib/open.c, ushm_size()), as the raw attach, which makes no IPC_STAT,
 * never reads it.  That keeps ushm_size() exact on Linux only: a segment
 * this process has attached stays while it is attached (a removal only
 * marks it), and its size can always be read again, whatever its owner
 * did since the attach:
 *
 *   IPC_STAT            (sysv.c's sysv_measure) needs read permission,
 *                       which the owner may have taken away with IPC_SET
 *                       meanwhile; then this file's two ways, which need
 *                       none:
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

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "sysv.h"

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

/* Where IPC_STAT was refused: the ways that need no permission. */
static int size_again(int shmid, size_t *size)
{
    return stat_any(shmid, size) == 0 || from_proc(shmid, size) == 0 ? 0 : -1;
}

int (*const ushm__sysv_size_again)(int shmid, size_t *size) = size_again;
