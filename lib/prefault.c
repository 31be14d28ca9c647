/* SPDX-License-Identifier: MIT */
/* USHM_POPULATE: prefault a mapping so that first touches cost nothing. */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <unistd.h>

#include "prefault.h"

int ushm__prefault(void *addr, size_t len, int writable, const char *label)
{
    volatile const unsigned char *p = addr;
    long page;
    int rc = ushm__prefault_advise(addr, len, writable, label);

    if (rc <= 0)
        return rc;
    page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    /* Reading is enough: a shared page is allocated by its first fault. */
    for (size_t off = 0; off < len; off += (size_t)page)
        (void)p[off];
    return 0;
}
