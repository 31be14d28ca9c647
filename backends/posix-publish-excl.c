/* SPDX-License-Identifier: MIT */
/*
 * Publishing a POSIX segment where it cannot be built unnamed first (no
 * O_TMPFILE or linkat, objects not kept in a directory, or configure
 * --disable-atomic-publish): the fallback protocol of posix-create.c.
 */
#include "posix.h"

int ushm__posix_publish_whole(struct ushm *h, size_t size, int flags,
                              mode_t mode)
{
    return ushm__posix_create_excl(h, size, flags, mode);
}
