/* SPDX-License-Identifier: MIT */
/*
 * A plain SysV join reads the segment's size before it attaches, where a
 * later read could fail for good (FreeBSD and macOS cannot stat a segment
 * removed meanwhile): every join is measured, none is left to read later.
 * Linux takes sysv-size-lazy.c.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>

#include "sysv.h"

const int ushm__sysv_size_lazy = 0;

/* Never asked: no handle here is joined unmeasured. */
int ushm__sysv_size(const struct ushm__id *id, int shmid, size_t *size)
{
    (void)shmid;
    (void)size;
    return ushm__fail(ENOTSUP, "%s: this build reads SysV sizes before "
                      "attaching", ushm__label(id));
}
