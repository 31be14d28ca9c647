/* SPDX-License-Identifier: MIT */
/*
 * The POSIX backend makes a new named segment whole before anyone can map
 * it: its exact mode, its mapping and its memory (so that a full /dev/shm
 * is -ENOSPC at creation, never SIGBUS later).  How it is then published
 * under its name is posix-publish-*.c's; the fallback protocol, which every
 * build has, is here.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "posix.h"

int ushm__posix_nospace(const char *call, const char *name, size_t size,
                        int fd, int err)
{
    unsigned long long bytes, inodes, all;

    if (ushm__posix_room(fd, &bytes, &inodes, &all) == 0)
        return ushm__fail(err, "%s(%s, %zu bytes): %s: %s has %llu bytes "
                          "free", call, name, size, ushm_strerror(err),
                          ushm__posix_where(), bytes);
    return ushm__fail(err, "%s(%s, %zu bytes): %s", call, name, size,
                      ushm_strerror(err));
}

/* A size the process may not write would end in SIGXFSZ, not an error. */
static int posix_check_size(const char *name, size_t size)
{
    struct rlimit rl;

#if defined(SIZEOF_OFF_T) && SIZEOF_SIZE_T >= SIZEOF_OFF_T
    /* Only where size_t can hold more than off_t (elsewhere the test
     * could never be true, and compilers say so). */
    if (size > ((size_t)1 << (SIZEOF_OFF_T * CHAR_BIT - 1)) - 1)
        return ushm__fail(EINVAL, "ushm_open(%s, %zu bytes): %s: larger than "
                          "the largest object size", name, size,
                          ushm_strerror(EINVAL));
#endif
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (uintmax_t)size > (uintmax_t)rl.rlim_cur)
        return ushm__fail(EINVAL, "ushm_open(%s, %zu bytes): %s: larger than "
                          "this process's RLIMIT_FSIZE (%llu bytes)", name,
                          size, ushm_strerror(EINVAL),
                          (unsigned long long)rl.rlim_cur);
    return 0;
}

/* Without posix_fallocate (or where the file system has no fallocate):
 * give the size, then write a zero into every page, which makes tmpfs
 * allocate it (or say ENOSPC) without changing it. */
static int posix_fill(int fd, size_t size)
{
    long page = sysconf(_SC_PAGESIZE);
    static const unsigned char zero;

    if (page <= 0)
        page = 4096;
    while (ftruncate(fd, (off_t)size) == -1)
        if (errno != EINTR)
            return errno;
    for (size_t off = 0; off < size; off += (size_t)page)
        while (pwrite(fd, &zero, 1, (off_t)off) != 1)
            if (errno != EINTR)
                return errno;
    return 0;
}

#if HAVE_POSIX_FALLOCATE
/* posix_fallocate's answer; ENOSYS and the like send the caller to
 * posix_fill(). */
static int posix_allocate(int fd, size_t size)
{
    int rc = posix_fallocate(fd, 0, (off_t)size);

    if (rc == EINTR) {
        /* Linux throws away an interrupted fallocate's progress, so a steady
         * stream of signals could starve a large one: retry with them held. */
        sigset_t all, old;

        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        do
            rc = posix_fallocate(fd, 0, (off_t)size);
        while (rc == EINTR);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    return rc;
}
#else
static int posix_allocate(int fd, size_t size)
{
    (void)fd;
    (void)size;
    return ENOSYS;
}
#endif

/* Give the object its size and reserve its pages. */
static int posix_reserve(const char *name, int fd, size_t size)
{
    unsigned long long bytes = 0, inodes, all;
    int rc = posix_allocate(fd, size), have_room;

    if (rc == 0)
        return 0;
    if (rc == ENOSPC)
        return ushm__posix_nospace("posix_fallocate", name, size, fd, rc);
    if (rc == EFBIG)
        return ushm__fail(EINVAL, "posix_fallocate(%s, %zu bytes): %s: larger "
                          "than the largest object the system allows", name,
                          size, ushm_strerror(rc));
    /* A file system without fallocate (musl passes its answer on). */
    if (rc != EOPNOTSUPP && rc != ENOSYS && rc != ENODEV && rc != EINVAL)
        return ushm__fail(rc, "posix_fallocate(%s, %zu bytes): %s", name, size,
                          ushm_strerror(rc));
    /* Measured first: once the pages are written there is nothing left. */
    have_room = ushm__posix_room(fd, &bytes, &inodes, &all) == 0;
    rc = posix_fill(fd, size);
    if (rc == 0)
        return 0;
    if (rc == ENOSPC && have_room)
        return ushm__fail(rc, "pwrite(%s, %zu bytes): %s: %s has %llu bytes "
                          "free", name, size, ushm_strerror(rc),
                          ushm__posix_where(), bytes);
    if (rc == ENOSPC)
        return ushm__posix_nospace("pwrite", name, size, fd, rc);
    return ushm__fail(rc == EFBIG ? EINVAL : rc, "ftruncate/pwrite(%s, %zu "
                      "bytes): %s", name, size, ushm_strerror(rc));
}

int ushm__posix_build(struct ushm *h, int fd, size_t size, int flags,
                      mode_t mode)
{
    const char *name = h->id.name;
    void *addr;
    int err;

    /* open() applied the umask; the contract says mode, exactly.  (Where
     * fchmod() does not work, shm_open() was given the mode itself.) */
    if (ushm__posix_sys.chmod_works && fchmod(fd, mode) == -1)
        return ushm__fail(errno, "fchmod(%s, 0%o): %s", name, (unsigned)mode,
                          ushm_strerror(errno));
    /* Where an object must have its size before it is mapped (macOS), it
     * gets it first, and once. */
    while (ushm__posix_sys.size_first && ftruncate(fd, (off_t)size) == -1)
        if (errno != EINTR)
            return errno == ENOSPC || errno == ENOMEM
                   ? ushm__posix_nospace("ftruncate", name, size, fd, errno)
                   : ushm__fail(errno == EFBIG ? EINVAL : errno,
                                "ftruncate(%s, %zu bytes): %s", name, size,
                                ushm_strerror(errno));
    /* Elsewhere mapped before the memory is reserved: in the fallback the
     * size makes it whole for everyone, and nothing may fail after that. */
    addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED)
        return ushm__posix_mmap_fail(name, size, errno);
    if (flags & USHM_HUGEPAGES)
        ushm__posix_advise_huge(addr, size);
    /* Where nothing reserves an object's memory (macOS), it comes as the
     * pages are touched. */
    if (ushm__posix_sys.reserve && (err = posix_reserve(name, fd, size)) < 0) {
        munmap(addr, size);
        return err;
    }
    h->addr = addr;
    h->size = size;
    posix_of(h)->map_len = size;
    return 0;
}

/*
 * The fallback protocol: the name is made with O_EXCL and is visible at
 * size 0 until ushm__posix_build() reserves the memory.  Whoever makes the
 * name is the creator; no lock is taken.  Returns 0 (created), USHM__EXISTS,
 * or a negative errno with the name removed again.
 */
int ushm__posix_create_excl(struct ushm *h, size_t size, int flags,
                            mode_t mode)
{
    const char *name = h->id.name;
    int fd, err;

    /* 0600 until ushm__posix_build() sets the mode: nobody else opens it.
     * Where fchmod() does not work (macOS) the mode is set here, exactly,
     * and a killed creator's empty object has it from the start. */
    fd = ushm__posix_shm_open(name, O_RDWR | O_CREAT | O_EXCL,
                              ushm__posix_sys.chmod_works ? 0600 : mode);
    if (fd == -1) {
        err = errno;
        if (err == EEXIST)
            return USHM__EXISTS;
        /* A symlink, directory or socket in the way holds the name. */
        if (ushm__posix_other_type(name) != 0)
            return USHM__EXISTS;
        return ushm__posix_open_fail("shm_open", name, err);
    }
    /* Other users get their own bits at once; the owner keeps read and
     * write until the size is set, so that an empty object left by a
     * killed creator can be opened and reported (-EAGAIN) by the next. */
    err = ushm__posix_build(h, fd, size, flags, mode | 0600);
    if (err == 0 && ushm__posix_sys.chmod_works && (mode & 0600) != 0600 &&
        fchmod(fd, mode) == -1) {
        err = ushm__fail(errno, "fchmod(%s, 0%o): %s", name, (unsigned)mode,
                         ushm_strerror(errno));
        munmap(h->addr, size);
        h->addr = NULL;
    }
    /* Remove the name only while it is still this object's, asking the
     * object itself: not every system keeps objects where a path finds
     * them.  Where that fails the object stays, and the core must know
     * that it is this creation's own. */
    if (err < 0 && ushm__posix_still_named(name, fd) &&
        ushm__posix_unlink_name(name) == -1) {
        char why[256];
        int rm = errno;

        snprintf(why, sizeof why, "%s", ushm_last_error());
        ushm__fail(-err, "%s; the object it made stays, as removing it "
                   "failed (%s): ushm_unlink(\"%s\") removes it", why,
                   ushm_strerror(rm), name);
        h->left_behind = 1;
    }
    close(fd);
    return err;
}

int ushm__posix_publish(struct ushm *h, size_t size, int flags, mode_t mode)
{
    int err;

    if ((err = posix_check_size(h->id.name, size)) < 0)
        return err;
    if ((flags & USHM_HUGEPAGES) && ushm__posix_hugepages_ok(h) < 0)
        /* A name that is taken answers first (USHM_EXCL has not looked). */
        return (err = ushm__posix_name_taken(h->id.name)) > 0 ? USHM__EXISTS
               : err < 0 ? err : -ENOTSUP;
    return ushm__posix_publish_whole(h, size, flags, mode);
}
