/* SPDX-License-Identifier: MIT */
/*
 * Publishing a POSIX segment whole (Linux): it is built unnamed in the
 * tmpfs where shm_open() keeps its objects (O_TMPFILE), given its mode, its
 * memory and its mapping, and then linked into place; linkat() failing with
 * EEXIST means somebody else holds the name.  Nothing is locked, and a
 * creator that dies leaves nothing.  Where the mount refuses O_TMPFILE, or
 * neither route to link works, the fallback protocol takes over.
 */
#define _GNU_SOURCE /* O_TMPFILE and AT_EMPTY_PATH are Linux's */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "posix.h"

/* 0: nothing learnt yet, 2: AT_EMPTY_PATH said ENOENT (no privilege for
 * it), so /proc/self/fd is the way; 3: neither that nor O_TMPFILE works:
 * this process uses the fallback.  A process that gives up its privilege
 * after linking learns 2 at its next creation. */
static int posix_link_route;

static int posix_link(int fd, const char *path)
{
    char proc[64];

    if (__atomic_load_n(&posix_link_route, __ATOMIC_RELAXED) != 2) {
        if (linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0)
            return 0;
        /* Without CAP_DAC_READ_SEARCH the kernel says ENOENT. */
        if (errno != ENOENT)
            return -1;
    }
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0) {
        __atomic_store_n(&posix_link_route, 2, __ATOMIC_RELAXED);
        return 0;
    }
    if (errno == ENOENT && access("/proc/self/fd", F_OK) == -1) {
        __atomic_store_n(&posix_link_route, 3, __ATOMIC_RELAXED);
        errno = ENOTSUP;
    }
    return -1;
}

int ushm__posix_publish_whole(struct ushm *h, size_t size, int flags,
                              mode_t mode)
{
    const char *name = h->id.name;
    char path[POSIX_PATH_MAX];
    int fd, err;

    if (__atomic_load_n(&posix_link_route, __ATOMIC_RELAXED) == 3)
        return ushm__posix_create_excl(h, size, flags, mode);
    fd = open(ushm__posix_sys.dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd == -1) {
        err = errno;
        /* An old kernel or a file system without it: the fallback. */
        if (err == EOPNOTSUPP || err == EISDIR || err == EINVAL) {
            __atomic_store_n(&posix_link_route, 3, __ATOMIC_RELAXED);
            return ushm__posix_create_excl(h, size, flags, mode);
        }
        if (err == ENOSPC)
            return ushm__posix_open_fail("open(O_TMPFILE)", name, err);
        return ushm__fail(err, "open(%s, O_TMPFILE) for %s: %s%s",
                          ushm__posix_sys.dir, name, ushm_strerror(err),
                          ushm__rlimit_hint(err));
    }
    err = ushm__posix_build(h, fd, size, flags, mode);
    if (err == 0) {
        ushm__posix_path(name, path);
        if (posix_link(fd, path) == -1) {
            err = errno;
            munmap(h->addr, size);
            h->addr = NULL;
            if (err == EEXIST)
                err = USHM__EXISTS;
            else if (err == ENOTSUP)
                err = ushm__posix_create_excl(h, size, flags, mode);
            else if (err == ENOSPC)
                err = ushm__posix_nospace("linkat", name, size, fd, err);
            else
                err = ushm__fail(err, "linkat(%s): %s", name,
                                 ushm_strerror(err));
        }
    } else if (ushm__posix_name_taken(name) > 0) {
        /* No room to build, but the name is taken meanwhile (or was, for
         * USHM_EXCL, which builds without looking first): that answers. */
        err = USHM__EXISTS;
    }
    close(fd);
    return err;
}
