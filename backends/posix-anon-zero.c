/* SPDX-License-Identifier: MIT */
/* Anonymous POSIX segments where there is no anonymous shared mapping: a
 * shared mapping of /dev/zero is the same memory.  No huge pages. */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "posix.h"

#ifndef O_CLOEXEC
#define O_CLOEXEC 0 /* the descriptor is closed before ushm_open() returns */
#endif

int ushm__posix_anon(struct ushm *h, size_t size, int flags)
{
    void *addr;
    int fd, err;

    if (flags & USHM_HUGEPAGES)
        return ushm__fail(ENOTSUP, "ushm_open((anonymous), USHM_HUGEPAGES): "
                          "%s: built without MAP_HUGETLB",
                          ushm_strerror(ENOTSUP));
    fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
    if (fd == -1)
        return ushm__fail(errno, "open(/dev/zero) for (anonymous): %s%s",
                          ushm_strerror(errno), ushm__rlimit_hint(errno));
    addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    err = errno;
    close(fd);
    if (addr == MAP_FAILED)
        return ushm__posix_mmap_fail("(anonymous)", size, err);
    h->addr = addr;
    h->size = size;
    posix_of(h)->map_len = size;
    return 0;
}
