/* SPDX-License-Identifier: MIT */
/* Prefaulting with one madvise(MADV_POPULATE_*) call (Linux 5.14). */
#define _GNU_SOURCE /* MADV_POPULATE_WRITE/READ are Linux extensions */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <sys/mman.h>

#include "prefault.h"

int ushm__prefault_advise(void *addr, size_t len, int writable,
                          const char *label)
{
    int advice = writable ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
    int rc;

    while ((rc = madvise(addr, len, advice)) == -1 && errno == EINTR)
        ;
    if (rc == 0)
        return 0;
    /* EFAULT: a page could not be had, where a touch would be SIGBUS. */
    if (errno == EFAULT)
        return -EFAULT;
    /* Older kernels say EINVAL: the caller touches the pages instead. */
    if (errno == EINVAL)
        return 1;
    return ushm__fail(errno, "madvise(%s, %zu bytes, MADV_POPULATE_%s): %s",
                      label, len, writable ? "WRITE" : "READ",
                      ushm_strerror(errno));
}
