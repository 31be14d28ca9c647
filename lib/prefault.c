/* USHM_POPULATE: prefault a mapping so that first touches cost nothing. */
#define _GNU_SOURCE /* MADV_POPULATE_WRITE/READ are Linux extensions */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prefault.h"

int ushm__prefault(void *addr, size_t len, int writable, const char *label)
{
    long page = sysconf(_SC_PAGESIZE);
    volatile const unsigned char *p = addr;

#if HAVE_DECL_MADV_POPULATE_WRITE && HAVE_DECL_MADV_POPULATE_READ
    /* One call, no signal on failure; older kernels answer EINVAL and take
     * the page walk below. */
    int advice = writable ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
    int rc;

    while ((rc = madvise(addr, len, advice)) == -1 && errno == EINTR)
        ;
    if (rc == 0)
        return 0;
    if (errno != EINVAL)
        return ushm__fail(errno, "madvise(%s, %zu bytes, MADV_POPULATE_%s): "
                          "%s", label, len, writable ? "WRITE" : "READ",
                          ushm_strerror(errno));
#else
    (void)writable;
    (void)label;
#endif
    if (page <= 0)
        page = 4096;
    /* Reading is enough: a shared page is allocated by its first fault. */
    for (size_t off = 0; off < len; off += (size_t)page)
        (void)p[off];
    return 0;
}
