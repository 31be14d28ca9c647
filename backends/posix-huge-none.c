/* SPDX-License-Identifier: MIT */
/* Named POSIX segments without huge pages: every system but Linux, whose
 * tmpfs gives transparent ones (posix-sys-linux.c). */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stddef.h>

#include "posix.h"

int ushm__posix_hugepages_ok(const struct ushm *h)
{
    return ushm__fail(ENOTSUP, "ushm_open(%s, USHM_HUGEPAGES): %s: named "
                      "POSIX segments get no huge pages on %s",
                      h->id.name, ushm_strerror(ENOTSUP),
                      ushm__posix_sys.name);
}

void ushm__posix_advise_huge(void *addr, size_t size)
{
    (void)addr;
    (void)size;
}
