/* SPDX-License-Identifier: MIT */
/*
 * What the system personalities (tests/personality/freebsd.c, macos.c)
 * share: LD_PRELOAD libraries that make Linux's calls behave as another
 * system's do, so that make check runs the library the way it runs there.
 * A test tool, never installed and never linked into libushm.
 *
 * Shared here: the real functions (dlsym(RTLD_NEXT)), a table of the
 * descriptors that shm_open() returned (forgotten on close, copied by dup),
 * /dev/shm hidden (neither FreeBSD nor macOS has a directory of objects:
 * every path under it is ENOENT, while the objects themselves still work
 * through shm_open and shm_unlink, whose glibc insides this does not see),
 * and the count of attached SysV segments that both systems limit.
 */
#ifndef USHM_PERSONALITY_PRELOAD_H
#define USHM_PERSONALITY_PRELOAD_H

#define _GNU_SOURCE /* RTLD_NEXT, the *64 calls, statx */

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define PL_EXPORT __attribute__((visibility("default")))

/* The next definition of a call: glibc's.  Looked up once per call site. */
#define PL_REAL(type, name, params)                                         \
    static type(*real) params;                                              \
    if (real == NULL)                                                       \
        *(void **)&real = dlsym(RTLD_NEXT, name)

/* ---- descriptors of shared memory objects ---- */

#define PL_FDS 65536
static unsigned char pl_shm[PL_FDS];

static int pl_is_shm(int fd)
{
    return fd >= 0 && fd < PL_FDS &&
           __atomic_load_n(&pl_shm[fd], __ATOMIC_RELAXED);
}

static void pl_mark(int fd, int shm)
{
    if (fd >= 0 && fd < PL_FDS)
        __atomic_store_n(&pl_shm[fd], (unsigned char)(shm != 0),
                         __ATOMIC_RELAXED);
}

PL_EXPORT int close(int fd)
{
    PL_REAL(int, "close", (int));
    int rc = real(fd);

    /* Linux frees the number even when close() reports an error. */
    if (rc == 0 || errno != EBADF)
        pl_mark(fd, 0);
    return rc;
}

PL_EXPORT int dup(int fd)
{
    PL_REAL(int, "dup", (int));
    int rc = real(fd);

    if (rc >= 0)
        pl_mark(rc, pl_is_shm(fd));
    return rc;
}

PL_EXPORT int dup2(int fd, int to)
{
    PL_REAL(int, "dup2", (int, int));
    int rc = real(fd, to);

    if (rc >= 0)
        pl_mark(rc, pl_is_shm(fd));
    return rc;
}

PL_EXPORT int dup3(int fd, int to, int flags)
{
    PL_REAL(int, "dup3", (int, int, int));
    int rc = real(fd, to, flags);

    if (rc >= 0)
        pl_mark(rc, pl_is_shm(fd));
    return rc;
}

PL_EXPORT int fcntl(int fd, int cmd, ...)
{
    PL_REAL(int, "fcntl", (int, int, ...));
    va_list ap;
    void *arg;
    int rc;

    /* Every command takes at most one argument, an int or a pointer. */
    va_start(ap, cmd);
    arg = va_arg(ap, void *);
    va_end(ap);
    rc = real(fd, cmd, arg);
    if (rc >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
        pl_mark(rc, pl_is_shm(fd));
    return rc;
}

/* ---- no /dev/shm ---- */

static int pl_hidden(const char *path)
{
    return path != NULL && strncmp(path, "/dev/shm", 8) == 0 &&
           (path[8] == '\0' || path[8] == '/');
}

#define PL_HIDE(path, fail)                                                 \
    do {                                                                    \
        if (pl_hidden(path)) {                                              \
            errno = ENOENT;                                                 \
            return fail;                                                    \
        }                                                                   \
    } while (0)

static mode_t pl_mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE
           ? (mode_t)va_arg(ap, int) : 0;
}

#define PL_OPEN(fn, name)                                                   \
    PL_EXPORT int fn(const char *path, int flags, ...)                      \
    {                                                                       \
        PL_REAL(int, name, (const char *, int, ...));                       \
        va_list ap;                                                         \
        mode_t mode;                                                        \
        va_start(ap, flags);                                                \
        mode = pl_mode_arg(flags, ap);                                      \
        va_end(ap);                                                         \
        PL_HIDE(path, -1);                                                  \
        return real(path, flags, mode);                                     \
    }
PL_OPEN(open, "open")
PL_OPEN(open64, "open64")

#define PL_OPENAT(fn, name)                                                 \
    PL_EXPORT int fn(int dir, const char *path, int flags, ...)             \
    {                                                                       \
        PL_REAL(int, name, (int, const char *, int, ...));                  \
        va_list ap;                                                         \
        mode_t mode;                                                        \
        va_start(ap, flags);                                                \
        mode = pl_mode_arg(flags, ap);                                      \
        va_end(ap);                                                         \
        PL_HIDE(path, -1);                                                  \
        return real(dir, path, flags, mode);                                \
    }
PL_OPENAT(openat, "openat")
PL_OPENAT(openat64, "openat64")

/* A call whose first argument is a path, the rest passed on. */
#define PL_PATH(type, fn, fail, params, args)                               \
    PL_EXPORT type fn params                                                \
    {                                                                       \
        PL_REAL(type, #fn, params);                                         \
        PL_HIDE(path, fail);                                                \
        return real args;                                                   \
    }
PL_PATH(int, __open_2, -1, (const char *path, int flags), (path, flags))
PL_PATH(int, __open64_2, -1, (const char *path, int flags), (path, flags))
PL_PATH(int, creat, -1, (const char *path, mode_t m), (path, m))
PL_PATH(int, stat, -1, (const char *path, struct stat *st), (path, st))
PL_PATH(int, lstat, -1, (const char *path, struct stat *st), (path, st))
PL_PATH(int, stat64, -1, (const char *path, struct stat64 *st), (path, st))
PL_PATH(int, lstat64, -1, (const char *path, struct stat64 *st), (path, st))
PL_PATH(int, access, -1, (const char *path, int how), (path, how))
PL_PATH(DIR *, opendir, NULL, (const char *path), (path))
PL_PATH(int, statvfs, -1, (const char *path, struct statvfs *v), (path, v))
PL_PATH(int, statvfs64, -1, (const char *path, struct statvfs64 *v), (path, v))
PL_PATH(int, mkfifo, -1, (const char *path, mode_t m), (path, m))
PL_PATH(int, mknod, -1, (const char *path, mode_t m, dev_t d), (path, m, d))
PL_PATH(int, mkdir, -1, (const char *path, mode_t m), (path, m))
PL_PATH(int, unlink, -1, (const char *path), (path))
PL_PATH(int, rmdir, -1, (const char *path), (path))
PL_PATH(int, chmod, -1, (const char *path, mode_t m), (path, m))
PL_PATH(int, truncate, -1, (const char *path, off_t n), (path, n))
PL_PATH(FILE *, fopen, NULL, (const char *path, const char *m), (path, m))
PL_PATH(FILE *, fopen64, NULL, (const char *path, const char *m), (path, m))
PL_PATH(ssize_t, readlink, -1, (const char *path, char *b, size_t n), (path, b, n))

/* Calls whose path comes second, after a directory descriptor. */
#define PL_PATHAT(type, fn, params, args)                                   \
    PL_EXPORT type fn params                                                \
    {                                                                       \
        PL_REAL(type, #fn, params);                                         \
        PL_HIDE(path, -1);                                                  \
        return real args;                                                   \
    }
PL_PATHAT(int, fstatat, (int d, const char *path, struct stat *st, int f),
          (d, path, st, f))
PL_PATHAT(int, fstatat64, (int d, const char *path, struct stat64 *st, int f),
          (d, path, st, f))
PL_PATHAT(int, faccessat, (int d, const char *path, int how, int f),
          (d, path, how, f))
PL_PATHAT(int, mkfifoat, (int d, const char *path, mode_t m), (d, path, m))
PL_PATHAT(int, mknodat, (int d, const char *path, mode_t m, dev_t dev),
          (d, path, m, dev))
PL_PATHAT(int, mkdirat, (int d, const char *path, mode_t m), (d, path, m))
PL_PATHAT(int, unlinkat, (int d, const char *path, int f), (d, path, f))
PL_PATHAT(int, statx, (int d, const char *path, int f, unsigned m,
                       struct statx *st), (d, path, f, m, st))
PL_PATHAT(ssize_t, readlinkat, (int d, const char *path, char *b, size_t n),
          (d, path, b, n))
PL_PATHAT(int, fchmodat, (int d, const char *path, mode_t m, int f),
          (d, path, m, f))
PL_PATHAT(int, fchownat, (int d, const char *path, uid_t u, gid_t g, int f),
          (d, path, u, g, f))

/* Calls with two paths: either one under /dev/shm is missing. */
#define PL_TWO(fn, params, from, to, args)                                  \
    PL_EXPORT int fn params                                                 \
    {                                                                       \
        PL_REAL(int, #fn, params);                                          \
        PL_HIDE(from, -1);                                                  \
        PL_HIDE(to, -1);                                                    \
        return real args;                                                   \
    }
PL_TWO(symlink, (const char *a, const char *b), a, b, (a, b))
PL_TWO(link, (const char *a, const char *b), a, b, (a, b))
PL_TWO(rename, (const char *a, const char *b), a, b, (a, b))
PL_TWO(linkat, (int da, const char *a, int db, const char *b, int f), a, b,
       (da, a, db, b, f))
PL_TWO(symlinkat, (const char *a, int db, const char *b), a, b, (a, db, b))
PL_TWO(renameat, (int da, const char *a, int db, const char *b), a, b,
       (da, a, db, b))
PL_TWO(renameat2, (int da, const char *a, int db, const char *b, unsigned f),
       a, b, (da, a, db, b, f))

/* ---- SysV: attached segments per process (kern.ipc.shmseg,
 * kern.sysv.shmseg); the per-segment and system-wide limits are the
 * kernel's, lowered by tests/personality/run.sh in its IPC namespace ---- */

static int pl_attached;

static void *pl_shmat(int id, const void *addr, int flags, int max)
{
    PL_REAL(void *, "shmat", (int, const void *, int));
    void *p;

    /* Both systems answer EMFILE past their shmseg. */
    if (__atomic_add_fetch(&pl_attached, 1, __ATOMIC_RELAXED) > max) {
        __atomic_sub_fetch(&pl_attached, 1, __ATOMIC_RELAXED);
        errno = EMFILE;
        return (void *)-1;
    }
    p = real(id, addr, flags);
    if (p == (void *)-1)
        __atomic_sub_fetch(&pl_attached, 1, __ATOMIC_RELAXED);
    return p;
}

PL_EXPORT int shmdt(const void *addr)
{
    PL_REAL(int, "shmdt", (const void *));
    int rc = real(addr);

    if (rc == 0)
        __atomic_sub_fetch(&pl_attached, 1, __ATOMIC_RELAXED);
    return rc;
}

#endif /* USHM_PERSONALITY_PRELOAD_H */
