/* SPDX-License-Identifier: MIT */
/*
 * The FreeBSD personality: an LD_PRELOAD library that makes Linux's calls
 * behave as FreeBSD 13's do for libushm (a test tool; see preload.h and
 * README's section on tests):
 *   - shm_open() takes no flag beyond O_ACCMODE, O_CREAT, O_EXCL, O_TRUNC
 *     and O_CLOEXEC: anything else is EINVAL (kern_shm_open2);
 *   - objects are no files: /dev/shm is not there (preload.h);
 *   - fstat() of an object gives as st_nlink the reference count of its
 *     VM object, not a count of names: 1 for the object, plus one per
 *     mapping (counted here in this process only), and never 0 while it is
 *     open, even once unlinked (shm_stat() in sys/kern/uipc_shm.c);
 *   - SysV: kern.ipc.shmseg is 128 attached segments a process (EMFILE);
 *     shmmax, shmmni and shmall are set by run.sh in its IPC namespace.
 */
#include "preload.h"

#include <stdint.h>

#define FREEBSD_SHMSEG 128

PL_EXPORT int shm_open(const char *name, int oflag, mode_t mode)
{
    PL_REAL(int, "shm_open", (const char *, int, mode_t));
    int fd;

    if (oflag & ~(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC)) {
        errno = EINVAL;
        return -1;
    }
    fd = real(name, oflag, mode);
    pl_mark(fd, 1);
    return fd;
}

/* Mappings of the object with this inode in this process. */
static unsigned long freebsd_mappings(unsigned long long ino)
{
    PL_REAL(FILE *, "fopen", (const char *, const char *));
    char line[512];
    unsigned long long i;
    unsigned long n = 0;
    FILE *f = real("/proc/self/maps", "re");

    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "%*s %*s %*s %*s %llu", &i) == 1 && i == ino &&
            strstr(line, "/dev/shm/") != NULL)
            n++;
    if (f != NULL)
        fclose(f);
    return n;
}

PL_EXPORT int fstat(int fd, struct stat *st)
{
    PL_REAL(int, "fstat", (int, struct stat *));
    int rc = real(fd, st);

    if (rc == 0 && pl_is_shm(fd))
        st->st_nlink = (nlink_t)(1 + freebsd_mappings(st->st_ino));
    return rc;
}

PL_EXPORT int fstat64(int fd, struct stat64 *st)
{
    PL_REAL(int, "fstat64", (int, struct stat64 *));
    int rc = real(fd, st);

    if (rc == 0 && pl_is_shm(fd))
        st->st_nlink = (nlink_t)(1 + freebsd_mappings(st->st_ino));
    return rc;
}

PL_EXPORT void *shmat(int id, const void *addr, int flags)
{
    return pl_shmat(id, addr, flags, FREEBSD_SHMSEG);
}
