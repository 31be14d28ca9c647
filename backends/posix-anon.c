/* SPDX-License-Identifier: MIT */
/* Anonymous POSIX segments: a shared anonymous mapping (MAP_ANONYMOUS, or
 * MAP_ANON where only that name exists), with MAP_HUGETLB for huge pages. */
#define _GNU_SOURCE /* MAP_ANONYMOUS and MAP_HUGETLB are not POSIX */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <sys/mman.h>

#include "posix.h"

#if !HAVE_DECL_MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif

#if HAVE_DECL_MAP_HUGETLB
/* Huge pages: the length rounded up to whole pages, which munmap() wants. */
static int posix_anon_huge(struct ushm *h, size_t size)
{
    size_t huge = ushm__hugepage_size(), len;
    void *addr;

    if (huge == 0)
        return ushm__fail(ENOTSUP, "ushm_open((anonymous), USHM_HUGEPAGES): "
                          "%s: this system reports no huge page size",
                          ushm_strerror(ENOTSUP));
    len = (size + huge - 1) / huge * huge;
    addr = mmap(NULL, len, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (addr == MAP_FAILED) {
        int err = errno; /* before the hint reads /proc/meminfo */

        return ushm__fail(err, "mmap((anonymous), %zu bytes, MAP_HUGETLB): "
                          "%s: %s", size, ushm_strerror(err),
                          ushm__hugepage_hint());
    }
    h->addr = addr;
    h->size = size;
    posix_of(h)->map_len = len;
    return 0;
}
#else
static int posix_anon_huge(struct ushm *h, size_t size)
{
    (void)h;
    (void)size;
    return ushm__fail(ENOTSUP, "ushm_open((anonymous), USHM_HUGEPAGES): %s: "
                      "built without MAP_HUGETLB", ushm_strerror(ENOTSUP));
}
#endif

int ushm__posix_anon(struct ushm *h, size_t size, int flags)
{
    void *addr;

    if (flags & USHM_HUGEPAGES)
        return posix_anon_huge(h, size);
    addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                -1, 0);
    if (addr == MAP_FAILED)
        return ushm__posix_mmap_fail("(anonymous)", size, errno);
    h->addr = addr;
    h->size = size;
    posix_of(h)->map_len = size;
    return 0;
}
