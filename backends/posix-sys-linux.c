/* SPDX-License-Identifier: MIT */
/*
 * The POSIX backend on Linux, glibc and musl alike: shm_open() keeps its
 * objects as files in the /dev/shm tmpfs (configure checks it), where
 * transparent huge pages are the mount's to give.
 */
#define _GNU_SOURCE /* MADV_HUGEPAGE */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "posix.h"

/* A glibc or musl system: objects are files on the /dev/shm tmpfs, opened
 * with open(), so they take every flag that keeps a neighbour's FIFO or
 * link from blocking or leading elsewhere. */
const struct posix_sys ushm__posix_sys = {
    .name = "Linux",
    .dir = "/dev/shm",
    .objects = "/dev/shm",
    .oflags = O_NONBLOCK | O_NOFOLLOW | O_NOCTTY,
    .size_first = 0,
    .reserve = 1,
    .types_known = 1,
    .exact_size = 1,
    .links_known = 1,
    .identity = 1,
    .chmod_works = 1,
};

/*
 * Huge pages for a named object come from transparent huge pages on the
 * tmpfs behind /dev/shm: its mount option huge=always or huge=within_size,
 * or shmem_enabled=force, which overrides every mount.  (A hugetlbfs mount
 * would need a second place to look names up in.)
 */
static int posix_hugepages_on(void)
{
    FILE *f = fopen("/proc/self/mounts", "re");
    char line[512], dir[256], opts[256];
    int on = 0;

    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "%*s %255s %*s %255s", dir, opts) == 2 &&
            strcmp(dir, ushm__posix_sys.dir) == 0)
            on = strstr(opts, "huge=always") != NULL ||
                 strstr(opts, "huge=within_size") != NULL;
    if (f != NULL)
        fclose(f);
    f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "re");
    if (f != NULL) {
        if (fgets(line, sizeof line, f) != NULL) {
            if (strstr(line, "[force]"))
                on = 1;
            if (strstr(line, "[deny]"))
                on = 0;
        }
        fclose(f);
    }
    return on;
}

#if HAVE_DECL_MADV_HUGEPAGE
void ushm__posix_advise_huge(void *addr, size_t size)
{
    madvise(addr, size, MADV_HUGEPAGE); /* a hint: the mount decides */
}
#else
void ushm__posix_advise_huge(void *addr, size_t size)
{
    (void)addr;
    (void)size;
}
#endif

int ushm__posix_hugepages_ok(const struct ushm *h)
{
    if (posix_hugepages_on())
        return 0;
    return ushm__fail(ENOTSUP, "ushm_open(%s, USHM_HUGEPAGES): %s: huge pages "
                      "for named POSIX segments are transparent huge pages on "
                      "the %s tmpfs, and they are off there; enable them with: "
                      "mount -o remount,huge=within_size %s", h->id.name,
                      ushm_strerror(ENOTSUP), ushm__posix_sys.dir,
                      ushm__posix_sys.dir);
}
