/* SPDX-License-Identifier: MIT */
/* USHM_POPULATE: prefault a mapping so that first touches cost nothing. */
#define _GNU_SOURCE /* MADV_POPULATE_WRITE/READ are Linux extensions */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "prefault.h"

int ushm__prefault(void *addr, size_t len, int writable, const char *label,
                   const char *space_dir)
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
    /* EFAULT: a page could not be had (what a touch would take as SIGBUS). */
    if (errno == EFAULT) {
        struct statvfs vfs;

        if (space_dir != NULL && statvfs(space_dir, &vfs) == 0)
            return ushm__fail(ENOSPC, "madvise(%s, %zu bytes, "
                              "MADV_POPULATE_%s): %s: %s has %llu bytes free",
                              label, len, writable ? "WRITE" : "READ",
                              ushm_strerror(ENOSPC), space_dir,
                              (unsigned long long)vfs.f_bavail * vfs.f_frsize);
        return ushm__fail(ENOMEM, "madvise(%s, %zu bytes, MADV_POPULATE_%s): "
                          "%s: the kernel could not allocate its pages", label,
                          len, writable ? "WRITE" : "READ",
                          ushm_strerror(ENOMEM));
    }
    if (errno != EINVAL)
        return ushm__fail(errno, "madvise(%s, %zu bytes, MADV_POPULATE_%s): "
                          "%s", label, len, writable ? "WRITE" : "READ",
                          ushm_strerror(errno));
#else
    (void)writable;
    (void)label;
    (void)space_dir;
#endif
    if (page <= 0)
        page = 4096;
    /* Reading is enough: a shared page is allocated by its first fault. */
    for (size_t off = 0; off < len; off += (size_t)page)
        (void)p[off];
    return 0;
}
