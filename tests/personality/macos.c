/* SPDX-License-Identifier: MIT */
/*
 * The macOS personality: an LD_PRELOAD library that makes Linux's calls
 * behave as macOS 13's do for libushm (a test tool; see preload.h and
 * README's section on tests).  What XNU's bsd/kern/posix_shm.c does:
 *   - names longer than PSHMNAMLEN (31 bytes) are ENAMETOOLONG;
 *   - the mode given to shm_open() is the object's, exactly: no umask;
 *   - ftruncate() works once per object (pshm_truncate: EINVAL after);
 *   - mmap() of an object without a size, beyond its page-rounded size, or
 *     not MAP_SHARED is EINVAL (pshm_mmap);
 *   - read/write are ENXIO (fo_no_read), pread/pwrite ESPIPE (not a
 *     vnode), fchmod/fchown EINVAL (not a vnode); macOS has no
 *     posix_fallocate at all, so a build that calls it hears ENOTSUP;
 *   - fstat() zeroes everything but the mode's permission bits (no
 *     S_IFREG), the owner and the size, rounded up to pages (pshm_stat):
 *     st_dev, st_ino, st_nlink and st_blocks are 0;
 *   - objects are no files: /dev/shm is not there (preload.h);
 *   - SysV: kern.sysv.shmseg is 8 attached segments a process (EMFILE);
 *     shmmax (4 MiB), shmmni and shmall are set by run.sh in its IPC
 *     namespace.
 */
#include "preload.h"

#include <sys/uio.h>

#define MACOS_PSHMNAMLEN 31
#define MACOS_SHMSEG 8

static long macos_page(void)
{
    long p = sysconf(_SC_PAGESIZE);

    return p > 0 ? p : 4096;
}

static int macos_real_fstat(int fd, struct stat *st)
{
    PL_REAL(int, "fstat", (int, struct stat *));
    return real(fd, st);
}

static int macos_real_fchmod(int fd, mode_t mode)
{
    PL_REAL(int, "fchmod", (int, mode_t));
    return real(fd, mode);
}

PL_EXPORT int shm_open(const char *name, int oflag, mode_t mode)
{
    PL_REAL(int, "shm_open", (const char *, int, mode_t));
    int fd;

    if (name != NULL && strlen(name) > MACOS_PSHMNAMLEN) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (!(oflag & O_CREAT)) {
        fd = real(name, oflag, mode);
    } else {
        /* Created: the mode exactly; else opened as it is. */
        for (;;) {
            fd = real(name, oflag | O_EXCL, mode);
            if (fd >= 0) {
                macos_real_fchmod(fd, mode & 07777);
                break;
            }
            if (errno != EEXIST || (oflag & O_EXCL))
                break;
            fd = real(name, oflag & ~O_CREAT, mode);
            if (fd >= 0 || errno != ENOENT)
                break;
        }
    }
    pl_mark(fd, 1);
    return fd;
}

PL_EXPORT int ftruncate(int fd, off_t len)
{
    PL_REAL(int, "ftruncate", (int, off_t));
    struct stat st;

    /* Sized once: an object with a size is never resized. */
    if (pl_is_shm(fd) && macos_real_fstat(fd, &st) == 0 && st.st_size > 0) {
        errno = EINVAL;
        return -1;
    }
    return real(fd, len);
}

PL_EXPORT int ftruncate64(int fd, off64_t len)
{
    PL_REAL(int, "ftruncate64", (int, off64_t));
    struct stat st;

    if (pl_is_shm(fd) && macos_real_fstat(fd, &st) == 0 && st.st_size > 0) {
        errno = EINVAL;
        return -1;
    }
    return real(fd, len);
}

static int macos_map_ok(int fd, size_t len, long long off, int flags)
{
    struct stat st;
    unsigned long long page = (unsigned long long)macos_page(), whole;

    if (!pl_is_shm(fd) || len == 0 || macos_real_fstat(fd, &st) != 0)
        return 1;
    whole = ((unsigned long long)st.st_size + page - 1) / page * page;
    return (flags & MAP_SHARED) && st.st_size > 0 && off >= 0 &&
           (unsigned long long)off + len <= whole;
}

PL_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd,
                     off_t off)
{
    PL_REAL(void *, "mmap", (void *, size_t, int, int, int, off_t));

    if (!(flags & MAP_ANONYMOUS) && !macos_map_ok(fd, len, off, flags)) {
        errno = EINVAL;
        return MAP_FAILED;
    }
    return real(addr, len, prot, flags, fd, off);
}

PL_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd,
                       off64_t off)
{
    PL_REAL(void *, "mmap64", (void *, size_t, int, int, int, off64_t));

    if (!(flags & MAP_ANONYMOUS) && !macos_map_ok(fd, len, off, flags)) {
        errno = EINVAL;
        return MAP_FAILED;
    }
    return real(addr, len, prot, flags, fd, off);
}

/* A call on a descriptor that an object refuses with err. */
#define MACOS_REFUSE(type, fn, err, params, args)                           \
    PL_EXPORT type fn params                                                \
    {                                                                       \
        PL_REAL(type, #fn, params);                                         \
        if (pl_is_shm(fd)) {                                                \
            errno = err;                                                    \
            return -1;                                                      \
        }                                                                   \
        return real args;                                                   \
    }
MACOS_REFUSE(ssize_t, read, ENXIO, (int fd, void *b, size_t n), (fd, b, n))
MACOS_REFUSE(ssize_t, write, ENXIO, (int fd, const void *b, size_t n),
             (fd, b, n))
MACOS_REFUSE(ssize_t, readv, ENXIO, (int fd, const struct iovec *v, int n),
             (fd, v, n))
MACOS_REFUSE(ssize_t, writev, ENXIO, (int fd, const struct iovec *v, int n),
             (fd, v, n))
MACOS_REFUSE(ssize_t, pread, ESPIPE, (int fd, void *b, size_t n, off_t o),
             (fd, b, n, o))
MACOS_REFUSE(ssize_t, pwrite, ESPIPE,
             (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
MACOS_REFUSE(ssize_t, pread64, ESPIPE,
             (int fd, void *b, size_t n, off64_t o), (fd, b, n, o))
MACOS_REFUSE(ssize_t, pwrite64, ESPIPE,
             (int fd, const void *b, size_t n, off64_t o), (fd, b, n, o))
MACOS_REFUSE(int, fchmod, EINVAL, (int fd, mode_t m), (fd, m))
MACOS_REFUSE(int, fchown, EINVAL, (int fd, uid_t u, gid_t g), (fd, u, g))
MACOS_REFUSE(int, fallocate, ENOTSUP, (int fd, int m, off_t o, off_t n),
             (fd, m, o, n))

/* posix_fallocate returns its error instead of setting errno. */
PL_EXPORT int posix_fallocate(int fd, off_t off, off_t len)
{
    PL_REAL(int, "posix_fallocate", (int, off_t, off_t));
    return pl_is_shm(fd) ? ENOTSUP : real(fd, off, len);
}

PL_EXPORT int posix_fallocate64(int fd, off64_t off, off64_t len)
{
    PL_REAL(int, "posix_fallocate64", (int, off64_t, off64_t));
    return pl_is_shm(fd) ? ENOTSUP : real(fd, off, len);
}

/* What pshm_stat() leaves of a struct stat. */
#define MACOS_STAT(st)                                                      \
    do {                                                                    \
        unsigned long long page_ = (unsigned long long)macos_page();        \
        mode_t mode_ = (st)->st_mode & 07777;                               \
        uid_t uid_ = (st)->st_uid;                                          \
        gid_t gid_ = (st)->st_gid;                                          \
        unsigned long long size_ = (unsigned long long)(st)->st_size;       \
        memset((st), 0, sizeof *(st));                                      \
        (st)->st_mode = mode_;                                              \
        (st)->st_uid = uid_;                                                \
        (st)->st_gid = gid_;                                                \
        (st)->st_size = (__typeof__((st)->st_size))((size_ + page_ - 1) / page_ * page_);       \
    } while (0)

PL_EXPORT int fstat(int fd, struct stat *st)
{
    int rc = macos_real_fstat(fd, st);

    if (rc == 0 && pl_is_shm(fd))
        MACOS_STAT(st);
    return rc;
}

PL_EXPORT int fstat64(int fd, struct stat64 *st)
{
    PL_REAL(int, "fstat64", (int, struct stat64 *));
    int rc = real(fd, st);

    if (rc == 0 && pl_is_shm(fd))
        MACOS_STAT(st);
    return rc;
}

PL_EXPORT void *shmat(int id, const void *addr, int flags)
{
    return pl_shmat(id, addr, flags, MACOS_SHMSEG);
}
