/* SPDX-License-Identifier: MIT */
/*
 * What the SysV backend asks of the system beyond shmget and shmat, which
 * differs by system; configure picks one file of each pair:
 *
 *   sysv-limits-linux.c   kernel.shmmax and the rest, from /proc/sys
 *   sysv-limits-sysctl.c  kern.ipc.shm* (FreeBSD) or kern.sysv.shm* (macOS),
 *                         through sysctlbyname()
 *   sysv-limits-none.c    no way to read them (illumos: resource controls)
 *   sysv-usage-shminfo.c  what is in use, from shmctl(SHM_INFO), where
 *                         struct shm_info is declared (Linux)
 *   sysv-usage-none.c     elsewhere (FreeBSD defines SHM_INFO but keeps
 *                         struct shm_info to its kernel)
 *   sysv-size-lazy.c      a plain join reads the size when first asked
 *                         (Linux, where it can always be read again)
 *   sysv-size-eager.c     a plain join reads it before attaching (elsewhere)
 */
#ifndef USHM_SYSV_H
#define USHM_SYSV_H

#include "backend.h"

enum ushm__sysv_limit {
    USHM__SHMMAX,       /* bytes in one segment */
    USHM__SHMMNI,       /* segments in the system */
    USHM__SHMALL,       /* pages in all segments together */
    USHM__SHMSEG        /* segments one process can have attached */
};

/* A limit and the name the system gives it ("kernel.shmmax"), for
 * messages: 0, or -1 where this system does not say. */
USHM__HIDDEN int ushm__sysv_limit(enum ushm__sysv_limit which,
                                  const char **name,
                                  unsigned long long *value);

/* Segments and pages in use, system-wide: 0, or -1 where unknown. */
USHM__HIDDEN int ushm__sysv_usage(unsigned long long *ids,
                                  unsigned long long *pages);

/* The size of attached segment shmid where IPC_STAT was refused: 0, or -1
 * where no way answers.  NULL where there is no such way: then a plain join
 * reads the size before it attaches, since it could not be read later. */
USHM__HIDDEN extern int (*const ushm__sysv_size_again)(int shmid, size_t *size);

#endif /* USHM_SYSV_H */
