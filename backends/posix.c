/* SPDX-License-Identifier: MIT */
/*
 * The POSIX backend: shm_open + mmap.  This file answers what holds a name,
 * maps and removes; posix-create.c makes new segments (see posix.h).
 *
 * Whatever holds the name, it is opened non-blocking, never through a
 * symlink, and never changed or removed unless it is a shared memory
 * object.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "posix.h"

#ifndef O_CLOEXEC
#define O_CLOEXEC 0 /* the descriptor is closed before ushm_open() returns */
#endif

int ushm__posix_shm_open(const char *name, int oflag, mode_t mode)
{
    int fd;

    /* Where objects are files (Linux): O_NONBLOCK, so that a FIFO in the
     * way does not block; O_NOFOLLOW, nor lead anywhere else; O_NOCTTY,
     * nor become a terminal.  Elsewhere shm_open() refuses them. */
    do
        fd = shm_open(name, oflag | O_CLOEXEC | ushm__posix_sys.oflags, mode);
    while (fd == -1 && errno == EINTR);
    return fd;
}

void ushm__posix_facts(const struct stat *st, struct ushm__facts *f)
{
    f->kind = USHM__SEGMENT;
    f->size = (uintmax_t)st->st_size;
    f->allocated = (uintmax_t)st->st_blocks * 512;
    f->mode = st->st_mode & 0777;
    f->uid = st->st_uid;
    f->cuid = st->st_uid;
    f->gid = st->st_gid;
    f->nattach = -1;
    /* FreeBSD's st_nlink counts the references to the object (one per
     * mapping), macOS's is 0: there an open object has its one name. */
    f->nlink = ushm__posix_sys.links_known ? (long)st->st_nlink : 1;
}

int ushm__posix_open_fail(const char *call, const char *name, int err)
{
    unsigned long long bytes, inodes, all;

    if (err == ENOSPC && ushm__posix_room(-1, &bytes, &inodes, &all) == 0)
        return ushm__fail(ENOSPC, "%s(%s): %s: %s has %llu free inodes of "
                          "%llu", call, name, ushm_strerror(ENOSPC),
                          ushm__posix_where(), inodes, all);
    return ushm__fail(err, "%s(%s): %s%s", call, name, ushm_strerror(err),
                      ushm__rlimit_hint(err));
}

int ushm__posix_mmap_fail(const char *label, size_t size, int err)
{
    return ushm__fail(err, "mmap(%s, %zu bytes): %s%s", label, size,
                      ushm_strerror(err), ushm__rlimit_hint(err));
}

/* Open what holds name and describe it; *fd is -1 for what is not an
 * object (only described). */
static int posix_look(const char *name, int oflag, int *fd,
                      struct ushm__facts *f)
{
    struct stat st;
    mode_t type;
    int err;

    *fd = ushm__posix_shm_open(name, oflag, 0);
    if (*fd == -1) {
        err = errno;
        /* What refuses to be opened as an object may be something else:
         * glibc turns EISDIR into EINVAL; a device on a nodev mount is
         * EACCES. */
        if ((err == ELOOP || err == EISDIR || err == EINVAL || err == ENXIO ||
             err == ENODEV || err == EOPNOTSUPP || err == EMLINK ||
             err == EACCES || err == EPERM) &&
            (type = ushm__posix_other_type(name)) != 0) {
            ushm__posix_other(name, type, f);
            return 0;
        }
        return ushm__posix_open_fail("shm_open", name, err);
    }
    if (fstat(*fd, &st) == -1) {
        err = errno;
        close(*fd);
        *fd = -1;
        return ushm__fail(err, "fstat(%s): %s", name, ushm_strerror(err));
    }
    if (!ushm__posix_is_object(&st)) {
        close(*fd);
        *fd = -1;
        ushm__posix_other(name, st.st_mode, f);
        return 0;
    }
    ushm__posix_facts(&st, f);
    return 0;
}

static int posix_find(struct ushm *h, int rdonly, struct ushm__facts *f)
{
    return posix_look(h->id.name, rdonly ? O_RDONLY : O_RDWR,
                      &posix_of(h)->fd, f);
}

static int posix_refresh(struct ushm *h, struct ushm__facts *f)
{
    struct stat st;

    if (fstat(posix_of(h)->fd, &st) == -1)
        return ushm__fail(errno, "fstat(%s): %s", h->id.name,
                          ushm_strerror(errno));
    ushm__posix_facts(&st, f);
    /* Removed meanwhile?  Where st_nlink does not say, the name does. */
    if (!ushm__posix_sys.links_known && h->id.by == USHM__BY_NAME &&
        !ushm__posix_still_named(h->id.name, posix_of(h)->fd))
        f->nlink = 0;
    return 0;
}

static int posix_map(struct ushm *h, size_t size, int rdonly)
{
    struct posix_handle *ph = posix_of(h);
    void *addr = mmap(NULL, size, rdonly ? PROT_READ : PROT_READ | PROT_WRITE,
                      MAP_SHARED, ph->fd, 0);

    if (addr == MAP_FAILED)
        return ushm__posix_mmap_fail(h->id.name, size, errno);
    h->addr = addr;
    h->size = size;
    ph->map_len = size;
    return 0;
}

static void posix_release(struct ushm *h)
{
    struct posix_handle *ph = posix_of(h);

    if (ph->fd != -1)
        close(ph->fd);
    ph->fd = -1;
}

static int posix_create(struct ushm *h, size_t size, int flags, mode_t mode)
{
    posix_of(h)->fd = -1;
    if (h->id.by == USHM__ANONYMOUS)
        return ushm__posix_anon(h, size, flags);
    return ushm__posix_publish(h, size, flags, mode);
}

/* Not posix_close(): POSIX.1-2024 took that name (musl declares it). */
static int posix_unmap(struct ushm *h)
{
    struct posix_handle *ph = posix_of(h);

    if (munmap(h->addr, ph->map_len) == -1)
        return ushm__fail(errno, "munmap(%s): %s", ushm__label(&h->id),
                          ushm_strerror(errno));
    return 0;
}

static int posix_remove(const struct ushm__id *id, struct ushm__facts *f)
{
    const char *call = "shm_unlink";
    mode_t type;
    int rc = ushm__posix_remove_name(id->name, &type, &call);

    if (rc == 1) {
        ushm__posix_other(id->name, type, f);
        return 0;
    }
    f->kind = USHM__SEGMENT;
    if (rc == -1)
        return ushm__fail(errno, "%s(%s): %s", call, id->name,
                          ushm_strerror(errno));
    return 0;
}

static int posix_stat(const struct ushm__id *id, struct ushm__facts *f)
{
    int fd, err = posix_look(id->name, O_RDONLY, &fd, f);

    if (fd != -1)
        close(fd);
    return err;
}

static int posix_space(const struct ushm *h, const char **where,
                       uintmax_t *avail)
{
    unsigned long long bytes, inodes, all;

    (void)h;
    if (ushm__posix_room(-1, &bytes, &inodes, &all) != 0)
        return -1;
    *where = ushm__posix_where();
    *avail = bytes;
    return 0;
}

static int posix_building(const struct ushm *h)
{
    (void)h;
    return ushm__posix_unnamed() > 0;
}

const struct ushm__backend ushm__backend = {
    .name = "posix",
    .handle_size = sizeof(struct posix_handle),
    .by_key = 0,
    .find = posix_find,
    .refresh = posix_refresh,
    .map = posix_map,
    .release = posix_release,
    .create = posix_create,
    .unmap = posix_unmap,
    .remove = posix_remove,
    .stat = posix_stat,
    .space = posix_space,
    .building = posix_building,
};
