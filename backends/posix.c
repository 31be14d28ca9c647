/* SPDX-License-Identifier: MIT */
/*
 * The POSIX backend: shm_open + mmap.
 *
 * Creation.  A segment is published under its name only once it is whole:
 * on Linux it is built unnamed in the /dev/shm tmpfs (O_TMPFILE), given its
 * mode, its memory and its mapping, and then linked into place; linkat()
 * failing with EEXIST means somebody else holds the name.  Nothing is
 * locked, and a creator that dies leaves nothing.  Where that cannot be done
 * (configure found no O_TMPFILE, or the mount refuses it) the fallback makes
 * the name with O_EXCL, which is then visible at size 0 until the memory is
 * reserved; openers wait a bounded time for the size, and a creator killed
 * in between leaves an empty object that they report (-EAGAIN).
 *
 * Whatever holds the name, libushm opens it non-blocking, never follows a
 * symlink, and never changes or removes what it did not make.
 */
#define _GNU_SOURCE /* O_TMPFILE, AT_EMPTY_PATH and MAP_ANONYMOUS are not POSIX */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"

#if !HAVE_DECL_MAP_ANONYMOUS && HAVE_DECL_MAP_ANON
#define MAP_ANONYMOUS MAP_ANON
#define HAVE_DECL_MAP_ANONYMOUS 1
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 0 /* the descriptor is closed before ushm_open() returns */
#endif

/* How long an opener waits for an empty object to get its size. */
#define POSIX_EMPTY_WAIT_MS 1000

/* What posix_create_* answers when the name is taken: go and join it. */
#define POSIX_EXISTS 2
/* What a first posix_join() of open-or-create answers for a missing name. */
#define POSIX_MISSING 3

static int posix_shm_open(const char *name, int oflag, mode_t mode)
{
    int fd;

    /* O_NONBLOCK: a FIFO in the way must not block; O_NOFOLLOW: nor lead
     * anywhere else; O_NOCTTY: nor become a terminal. */
    do
        fd = shm_open(name, oflag | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW |
                      O_NOCTTY, mode);
    while (fd == -1 && errno == EINTR);
    return fd;
}

#define POSIX_PATH_LEN (sizeof USHM__POSIX_DIR + USHM_NAME_MAX)

/* "/dev/shm/NAME": where shm_open() keeps NAME (configure checks it). */
static void posix_path(const char *name, char path[POSIX_PATH_LEN])
{
    size_t len = strlen(name); /* canonical: at most USHM_NAME_MAX */

    /* Not snprintf: on the path of every creation, and ten times dearer. */
    memcpy(path, USHM__POSIX_DIR, sizeof USHM__POSIX_DIR - 1);
    memcpy(path + sizeof USHM__POSIX_DIR - 1, name, len + 1);
}

static const char *posix_file_type(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISLNK(m))
        return "a symbolic link";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    return "not a regular file";
}

/* Something that is not a shared memory object holds the name: err, with a
 * message that says what it is. */
static int posix_not_object(const char *func, const char *name, mode_t m,
                            int err)
{
    return ushm__fail(err, "%s(%s): %s: %s%s is %s, not a shared memory "
                      "object; libushm leaves it alone", func, name,
                      ushm_strerror(err), USHM__POSIX_DIR, name,
                      posix_file_type(m));
}

/* The name's own type, without following or opening it; 0 if unknown. */
static mode_t posix_lstat_type(const char *name)
{
    char path[POSIX_PATH_LEN];
    struct stat st;

    posix_path(name, path);
    if (lstat(path, &st) == -1 || S_ISREG(st.st_mode))
        return 0;
    return st.st_mode;
}

/* Whether anything at all holds the name; 0 if unknown. */
static int posix_name_taken(const char *name)
{
    char path[POSIX_PATH_LEN];
    struct stat st;

    posix_path(name, path);
    return lstat(path, &st) == 0;
}

/* ENOSPC for want of an inode: say how many there are. */
static int posix_no_inode(const char *call, const char *name,
                          const struct statvfs *vfs)
{
    return ushm__fail(ENOSPC, "%s(%s): %s: %s has %llu free inodes of %llu",
                      call, name, ushm_strerror(ENOSPC), USHM__POSIX_DIR,
                      (unsigned long long)vfs->f_favail,
                      (unsigned long long)vfs->f_files);
}

/* The system's reason for a failed shm_open(), with the limit behind it;
 * a name held by a symlink, directory or socket is err_other. */
static int posix_open_fail(const char *func, const char *name, int err,
                           int err_other)
{
    struct statvfs vfs;
    mode_t type;

    /* glibc turns EISDIR into EINVAL; a device on a nodev mount is
     * EACCES. */
    if ((err == ELOOP || err == EISDIR || err == EINVAL || err == ENXIO ||
         err == ENODEV || err == EOPNOTSUPP || err == EMLINK ||
         err == EACCES || err == EPERM) &&
        (type = posix_lstat_type(name)) != 0)
        return posix_not_object(func, name, type, err_other);
    if (err == ENOSPC && statvfs(USHM__POSIX_DIR, &vfs) == 0)
        return posix_no_inode("shm_open", name, &vfs);
    return ushm__fail(err, "shm_open(%s): %s%s", name, ushm_strerror(err),
                      ushm__rlimit_hint(err));
}

static int posix_mmap_fail(const char *name, size_t size, int err)
{
    return ushm__fail(err, "mmap(%s, %zu bytes): %s%s", ushm__label(name),
                      size, ushm_strerror(err), ushm__rlimit_hint(err));
}

static int posix_nospace(const char *call, const char *name, size_t size,
                         int fd, int err)
{
    struct statvfs vfs;

    if (fstatvfs(fd, &vfs) == 0)
        return ushm__fail(err, "%s(%s, %zu bytes): %s: %s has %llu bytes "
                          "free", call, name, size, ushm_strerror(err),
                          USHM__POSIX_DIR,
                          (unsigned long long)vfs.f_bavail * vfs.f_frsize);
    return ushm__fail(err, "%s(%s, %zu bytes): %s", call, name, size,
                      ushm_strerror(err));
}

/* A size the process may not write would end in SIGXFSZ, not an error. */
static int posix_check_fsize(const char *name, size_t size)
{
    struct rlimit rl;

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

/*
 * Give the object its size and reserve its pages, so that a full /dev/shm is
 * -ENOSPC here and never SIGBUS later.
 */
static int posix_reserve(const char *name, int fd, size_t size)
{
    struct statvfs vfs;
    int rc, have_vfs;

#if HAVE_POSIX_FALLOCATE
    rc = posix_fallocate(fd, 0, (off_t)size);
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
    if (rc == 0)
        return 0;
    if (rc == ENOSPC)
        return posix_nospace("posix_fallocate", name, size, fd, rc);
    if (rc == EFBIG)
        return ushm__fail(EINVAL, "posix_fallocate(%s, %zu bytes): %s: larger "
                          "than the largest object the system allows", name,
                          size, ushm_strerror(rc));
    /* A file system without fallocate (musl passes its answer on). */
    if (rc != EOPNOTSUPP && rc != ENOSYS && rc != ENODEV && rc != EINVAL)
        return ushm__fail(rc, "posix_fallocate(%s, %zu bytes): %s", name, size,
                          ushm_strerror(rc));
#endif
    /* Measured first: once the pages are written there is nothing left. */
    have_vfs = fstatvfs(fd, &vfs) == 0;
    rc = posix_fill(fd, size);
    if (rc == 0)
        return 0;
    if (rc == ENOSPC && have_vfs)
        return ushm__fail(rc, "pwrite(%s, %zu bytes): %s: %s has %llu bytes "
                          "free", name, size, ushm_strerror(rc),
                          USHM__POSIX_DIR,
                          (unsigned long long)vfs.f_bavail * vfs.f_frsize);
    if (rc == ENOSPC)
        return posix_nospace("pwrite", name, size, fd, rc);
    return ushm__fail(rc == EFBIG ? EINVAL : rc, "ftruncate/pwrite(%s, %zu "
                      "bytes): %s", name, size, ushm_strerror(rc));
}

/*
 * Huge pages for a named object come from transparent huge pages on the
 * tmpfs behind /dev/shm: its mount option huge=always or huge=within_size,
 * or shmem_enabled=force, which overrides every mount.  (A hugetlbfs mount
 * would need a second place to look names up in.)
 */
static int posix_thp_enabled(void)
{
    FILE *f = fopen("/proc/self/mounts", "re");
    char line[512], dir[256], opts[256];
    int on = 0;

    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "%*s %255s %*s %255s", dir, opts) == 2 &&
            strcmp(dir, USHM__POSIX_DIR) == 0)
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

/*
 * Make the object behind fd, open read-write and of size 0, into the whole
 * segment: its exact mode, its mapping, its memory.  Both protocols build
 * with it; on failure the mapping is undone and the caller disposes of fd.
 */
static int posix_build(struct ushm *shm, int fd, size_t size, int flags,
                       mode_t mode)
{
    void *addr;
    int err;

    /* open() applied the umask; the contract says mode, exactly. */
    if (fchmod(fd, mode) == -1)
        return ushm__fail(errno, "fchmod(%s, 0%o): %s", shm->name,
                          (unsigned)mode, ushm_strerror(errno));
    /* Mapped before the memory is reserved: in the fallback the size makes
     * it whole for everyone, and nothing may fail after that. */
    addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED)
        return posix_mmap_fail(shm->name, size, errno);
#if HAVE_DECL_MADV_HUGEPAGE
    if (flags & USHM_HUGEPAGES)
        madvise(addr, size, MADV_HUGEPAGE); /* a hint: the mount decides */
#else
    (void)flags;
#endif
    if ((err = posix_reserve(shm->name, fd, size)) < 0) {
        munmap(addr, size);
        return err;
    }
    shm->addr = addr;
    shm->size = size;
    return 0;
}

/*
 * The fallback protocol: the name is made with O_EXCL and is visible at
 * size 0 until posix_build() reserves the memory.  Whoever makes the name is
 * the creator; no lock is taken.  Returns 0 (created), POSIX_EXISTS, or a
 * negative errno with the name removed again.
 */
static int posix_create_fallback(struct ushm *shm, size_t size, int flags,
                                 mode_t mode)
{
    char path[POSIX_PATH_LEN];
    struct stat st, now;
    int fd, err;

    /* 0600 until posix_build() sets the mode: nobody else opens it. */
    fd = posix_shm_open(shm->name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd == -1)
        return errno == EEXIST ? POSIX_EXISTS
                               : posix_open_fail("ushm_open", shm->name,
                                                 errno, EEXIST);
    /* Other users get their own bits at once; the owner keeps read and
     * write until the size is set, so that an empty object left by a
     * killed creator can be opened and reported (-EAGAIN) by the next. */
    err = posix_build(shm, fd, size, flags, mode | 0600);
    if (err == 0 && (mode & 0600) != 0600 && fchmod(fd, mode) == -1) {
        err = ushm__fail(errno, "fchmod(%s, 0%o): %s", shm->name,
                         (unsigned)mode, ushm_strerror(errno));
        munmap(shm->addr, size);
        shm->addr = NULL;
    }
    if (err < 0) {
        /* Remove the name only while it is still this object's. */
        posix_path(shm->name, path);
        if (fstat(fd, &st) == 0 && lstat(path, &now) == 0 &&
            st.st_dev == now.st_dev && st.st_ino == now.st_ino)
            shm_unlink(shm->name);
    }
    close(fd);
    return err;
}

#if USHM_ATOMIC_PUBLISH
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

/*
 * The atomic protocol: build the segment unnamed and link it into place.
 * Returns 0 (created), POSIX_EXISTS, or a negative errno with nothing left.
 */
static int posix_create(struct ushm *shm, size_t size, int flags,
                        mode_t mode)
{
    char path[POSIX_PATH_LEN];
    struct statvfs vfs;
    int fd, err;

    if (__atomic_load_n(&posix_link_route, __ATOMIC_RELAXED) == 3)
        return posix_create_fallback(shm, size, flags, mode);
    fd = open(USHM__POSIX_DIR, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd == -1) {
        err = errno;
        /* An old kernel or a file system without it: the fallback. */
        if (err == EOPNOTSUPP || err == EISDIR || err == EINVAL) {
            __atomic_store_n(&posix_link_route, 3, __ATOMIC_RELAXED);
            return posix_create_fallback(shm, size, flags, mode);
        }
        if (err == ENOSPC && statvfs(USHM__POSIX_DIR, &vfs) == 0)
            return posix_no_inode("open(O_TMPFILE)", shm->name, &vfs);
        return ushm__fail(err, "open(%s, O_TMPFILE) for %s: %s%s",
                          USHM__POSIX_DIR, shm->name, ushm_strerror(err),
                          ushm__rlimit_hint(err));
    }
    err = posix_build(shm, fd, size, flags, mode);
    if (err == 0) {
        posix_path(shm->name, path);
        if (posix_link(fd, path) == -1) {
            err = errno;
            munmap(shm->addr, size);
            shm->addr = NULL;
            if (err == EEXIST)
                err = POSIX_EXISTS;
            else if (err == ENOTSUP)
                err = posix_create_fallback(shm, size, flags, mode);
            else if (err == ENOSPC)
                err = posix_nospace("linkat", shm->name, size, fd, err);
            else
                err = ushm__fail(err, "linkat(%s): %s", shm->name,
                                 ushm_strerror(err));
        }
    } else if (posix_name_taken(shm->name)) {
        /* No room to build, but the name is taken meanwhile (or was, for
         * USHM_EXCL, which builds without looking first): that answers. */
        err = POSIX_EXISTS;
    }
    close(fd);
    return err;
}
#else
static int posix_create(struct ushm *shm, size_t size, int flags,
                        mode_t mode)
{
    return posix_create_fallback(shm, size, flags, mode);
}
#endif

static int64_t posix_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * An empty object that libushm did not make (another program between
 * shm_open and ftruncate, or a creator of the fallback protocol that has
 * not finished or died): wait a bounded time for its size, never touching
 * it.  0 with st updated, USHM__RETRY when it was unlinked, or -EAGAIN.
 */
static int posix_wait_for_size(const char *name, int fd, struct stat *st)
{
    int64_t deadline = posix_now_ms() + POSIX_EMPTY_WAIT_MS;
    long delay_us = 500;

    for (;;) {
        struct timespec ts = { 0, delay_us * 1000 };

        nanosleep(&ts, NULL); /* a signal only makes it look again sooner */
        if (fstat(fd, st) == -1)
            return ushm__fail(errno, "fstat(%s): %s", name,
                              ushm_strerror(errno));
        if (st->st_nlink == 0)
            return USHM__RETRY;
        if (st->st_size != 0)
            return 0;
        if (posix_now_ms() >= deadline)
            return ushm__fail(EAGAIN, "ushm_open(%s): %s: an empty object "
                              "of uid %ld holds the name and got no size in "
                              "%d ms (another program is still making it, or "
                              "its creator died); ushm_unlink(\"%s\") removes "
                              "it", name, ushm_strerror(EAGAIN),
                              (long)st->st_uid, POSIX_EMPTY_WAIT_MS, name);
        if (delay_us < 32000)
            delay_us *= 2;
    }
}

/*
 * USHM_POPULATE allocates the pages of a sparse object (another program's,
 * made with ftruncate): where /dev/shm cannot hold them, say so before any
 * page is touched, since a touch without MADV_POPULATE_* would be SIGBUS.
 */
static int posix_populate_room(const char *name, int fd, const struct stat *st)
{
    uintmax_t have = (uintmax_t)st->st_blocks * 512, need;
    struct statvfs vfs;

    if (have >= (uintmax_t)st->st_size || fstatvfs(fd, &vfs) == -1)
        return 0;
    need = (uintmax_t)st->st_size - have;
    if ((uintmax_t)vfs.f_bavail * vfs.f_frsize >= need)
        return 0;
    return ushm__fail(ENOSPC, "ushm_open(%s, USHM_POPULATE): %s: %ju of its "
                      "%jd bytes are not allocated yet and %s has %llu bytes "
                      "free", name, ushm_strerror(ENOSPC), need,
                      (intmax_t)st->st_size, USHM__POSIX_DIR,
                      (unsigned long long)vfs.f_bavail * vfs.f_frsize);
}

/* Map the existing object under shm->name; missing is what a missing name
 * gives when creating (USHM__RETRY, or POSIX_MISSING: not there yet). */
static int posix_join(struct ushm *shm, size_t size, int flags, int missing)
{
    const char *name = shm->name;
    int create = flags & USHM_CREATE, rdonly = flags & USHM_RDONLY;
    int excl = flags & USHM_EXCL, fd, err = 0;
    struct stat st;
    void *addr;

    fd = posix_shm_open(name, rdonly ? O_RDONLY : O_RDWR, 0);
    if (fd == -1) {
        if (errno == ENOENT && create && size > 0)
            return missing; /* not there, or unlinked after it was seen */
        if (errno == ENOENT && create)
            return ushm__fail(EINVAL, "ushm_open(%s): size 0: cannot "
                              "create a segment of 0 bytes", name);
        if (errno == EACCES && excl)
            return ushm__fail(EEXIST, "shm_open(%s): %s (and no "
                              "permission to open it)", name,
                              ushm_strerror(EEXIST));
        return posix_open_fail("ushm_open", name, errno,
                               excl ? EEXIST : EINVAL);
    }
    if (fstat(fd, &st) == -1) {
        err = ushm__fail(errno, "fstat(%s): %s", name, ushm_strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        err = posix_not_object("ushm_open", name, st.st_mode,
                               excl ? EEXIST : EINVAL);
        goto out;
    }
    if (excl) {
        err = ushm__fail(EEXIST, "shm_open(%s): %s", name,
                         ushm_strerror(EEXIST));
        goto out;
    }
    if (st.st_size == 0) {
        if (!create) {
            err = ushm__fail(ENOENT, "ushm_open(%s): %s: the object is empty "
                             "(another program is making it, or its creator "
                             "died); ushm_unlink() removes it", name,
                             ushm_strerror(ENOENT));
            goto out;
        }
        if (size == 0) {
            err = ushm__fail(EINVAL, "ushm_open(%s): size 0: cannot create "
                             "a segment of 0 bytes", name);
            goto out;
        }
        if ((err = posix_wait_for_size(name, fd, &st)) != 0)
            goto out;
    }
    if (create && st.st_uid != geteuid()) {
        err = ushm__fail(EPERM, "ushm_open(%s): %s: it belongs to uid %ld, "
                         "not this process's uid %ld; open it without "
                         "USHM_CREATE to join it", name, ushm_strerror(EPERM),
                         (long)st.st_uid, (long)geteuid());
        goto out;
    }
    if ((uintmax_t)st.st_size < (uintmax_t)size) {
        err = ushm__fail(EINVAL, "ushm_open(%s, %zu bytes): %s: the segment "
                         "has only %jd bytes", name, size,
                         ushm_strerror(EINVAL), (intmax_t)st.st_size);
        goto out;
    }
    if ((flags & USHM_POPULATE) && (err = posix_populate_room(name, fd, &st)) < 0)
        goto out;
    if ((uintmax_t)st.st_size > SIZE_MAX) {
        err = ushm__fail(ENOMEM, "ushm_open(%s): %s: its %jd bytes do not fit "
                         "this process's address space", name,
                         ushm_strerror(ENOMEM), (intmax_t)st.st_size);
        goto out;
    }
    addr = mmap(NULL, (size_t)st.st_size,
                rdonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
        err = posix_mmap_fail(name, (size_t)st.st_size, errno);
        goto out;
    }
    shm->addr = addr;
    shm->size = (size_t)st.st_size;
out:
    close(fd);
    return err;
}

static int posix_open_anon(struct ushm *shm, size_t size, int flags)
{
    void *addr;

    shm->map_len = size;
    if (flags & USHM_HUGEPAGES) {
#if HAVE_DECL_MAP_HUGETLB && HAVE_DECL_MAP_ANONYMOUS
        size_t huge = ushm__hugepage_size();

        if (huge == 0)
            return ushm__fail(ENOTSUP, "ushm_open((anonymous), "
                              "USHM_HUGEPAGES): %s: this system reports no "
                              "huge page size", ushm_strerror(ENOTSUP));
        /* munmap() of huge pages wants whole pages. */
        shm->map_len = (size + huge - 1) / huge * huge;
        addr = mmap(NULL, shm->map_len, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
        if (addr == MAP_FAILED) {
            int err = errno; /* before the hint reads /proc/meminfo */

            return ushm__fail(err, "mmap((anonymous), %zu bytes, "
                              "MAP_HUGETLB): %s: %s", size,
                              ushm_strerror(err), ushm__hugepage_hint());
        }
        goto done;
#else
        return ushm__fail(ENOTSUP, "ushm_open((anonymous), USHM_HUGEPAGES): "
                          "%s: built without MAP_HUGETLB",
                          ushm_strerror(ENOTSUP));
#endif
    }
#if HAVE_DECL_MAP_ANONYMOUS
    addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                -1, 0);
#else
    /* Without MAP_ANONYMOUS: a shared mapping of /dev/zero is the same. */
    int fd = open("/dev/zero", O_RDWR | O_CLOEXEC);

    if (fd == -1)
        return ushm__fail(errno, "open(/dev/zero) for (anonymous): %s%s",
                          ushm_strerror(errno), ushm__rlimit_hint(errno));
    addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
#endif
    if (addr == MAP_FAILED)
        return posix_mmap_fail(NULL, size, errno);
#if HAVE_DECL_MAP_HUGETLB && HAVE_DECL_MAP_ANONYMOUS
done:
#endif
    shm->addr = addr;
    shm->size = size;
    shm->created = 1;
    return 0;
}

static int posix_open(struct ushm *shm, size_t size, int flags, mode_t mode)
{
    int err;

    if (shm->name[0] == '\0')
        return posix_open_anon(shm, size, flags);
#if defined(SIZEOF_OFF_T) && SIZEOF_SIZE_T >= SIZEOF_OFF_T
    /* Only where size_t can hold more than off_t (elsewhere the test
     * could never be true, and compilers say so). */
    if (size > ((size_t)1 << (SIZEOF_OFF_T * CHAR_BIT - 1)) - 1)
        return ushm__fail(EINVAL, "ushm_open(%s, %zu bytes): %s: larger than "
                          "the largest object size", shm->name, size,
                          ushm_strerror(EINVAL));
#endif
    if ((flags & USHM_CREATE) && size > 0) {
        /* What exists is joined before anything is built for it: creating
         * costs the whole size, which a full /dev/shm may lack. */
        /* With USHM_EXCL an existing name is an error: the atomic
         * protocol's linkat (or the fallback's O_EXCL) says so. */
        if (!(flags & USHM_EXCL) &&
            (err = posix_join(shm, size, flags, POSIX_MISSING)) != POSIX_MISSING)
            return err;
        if ((err = posix_check_fsize(shm->name, size)) < 0)
            return err;
        if ((flags & USHM_HUGEPAGES) && !posix_thp_enabled()) {
            /* An existing name answers first (USHM_EXCL has not looked). */
            if (posix_name_taken(shm->name))
                return ushm__fail(EEXIST, "ushm_open(%s): %s", shm->name,
                                  ushm_strerror(EEXIST));
            return ushm__fail(ENOTSUP, "ushm_open(%s, USHM_HUGEPAGES): %s: "
                              "huge pages for named POSIX segments are "
                              "transparent huge pages on the %s tmpfs, and "
                              "they are off there; enable them with: mount "
                              "-o remount,huge=within_size %s", shm->name,
                              ushm_strerror(ENOTSUP), USHM__POSIX_DIR,
                              USHM__POSIX_DIR);
        }
        err = posix_create(shm, size, flags, mode);
        if (err != POSIX_EXISTS) {
            shm->created = err == 0;
            return err;
        }
        if (flags & USHM_EXCL)
            return ushm__fail(EEXIST, "ushm_open(%s): %s", shm->name,
                              ushm_strerror(EEXIST));
    }
    return posix_join(shm, size, flags, USHM__RETRY);
}

/* Not posix_close(): POSIX.1-2024 took that name (musl declares it). */
static int posix_unmap(struct ushm *shm)
{
    if (munmap(shm->addr, shm->map_len != 0 ? shm->map_len : shm->size) == -1)
        return ushm__fail(errno, "munmap(%s): %s", ushm__label(shm->name),
                          ushm_strerror(errno));
    return 0;
}

static int posix_unlink(const char *name)
{
    mode_t type = posix_lstat_type(name);

    /* Only shared memory objects: a FIFO or a directory is not ours. */
    if (type != 0)
        return posix_not_object("ushm_unlink", name, type, EINVAL);
    if (shm_unlink(name) == -1)
        return ushm__fail(errno, "shm_unlink(%s): %s", name,
                          ushm_strerror(errno));
    return 0;
}

static int posix_stat(const char *name, struct ushm_stat *st)
{
    struct stat sb;
    int fd = posix_shm_open(name, O_RDONLY, 0), err = 0;

    if (fd == -1)
        return posix_open_fail("ushm_stat", name, errno, EINVAL);
    if (fstat(fd, &sb) == -1)
        err = ushm__fail(errno, "fstat(%s): %s", name, ushm_strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        err = posix_not_object("ushm_stat", name, sb.st_mode, EINVAL);
    else if (sb.st_size == 0)
        err = ushm__fail(ENOENT, "ushm_stat(%s): %s: the object is empty "
                         "(another program is making it, or its creator "
                         "died)", name, ushm_strerror(ENOENT));
    close(fd);
    if (err < 0)
        return err;
    st->size = (size_t)sb.st_size;
    st->mode = sb.st_mode & 0777;
    st->uid = sb.st_uid;
    st->gid = sb.st_gid;
    st->nattach = -1;
    return 0;
}

const struct ushm__backend ushm__backend = {
    .name = "posix",
    .space_dir = USHM__POSIX_DIR,
    .open = posix_open,
    .close = posix_unmap,
    .unlink = posix_unlink,
    .stat = posix_stat,
};
