/* SPDX-License-Identifier: MIT */
/*
 * What the POSIX backend asks of the place where the system keeps its
 * objects, whatever the system: posix-sys-<system>.c says where that is
 * (a directory of files, as Linux's /dev/shm, or nowhere a path reaches, as
 * on FreeBSD and macOS) and what shm_open() accepts there.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "posix.h"

#define SYS ushm__posix_sys

const char *ushm__posix_where(void)
{
    return SYS.dir != NULL ? SYS.dir : SYS.objects;
}

int ushm__posix_path(const char *name, char path[POSIX_PATH_MAX])
{
    size_t dlen, len;

    if (SYS.dir == NULL)
        return -1;
    dlen = strlen(SYS.dir);
    len = strlen(name); /* canonical: at most USHM_NAME_MAX */
    if (dlen + len + 1 > POSIX_PATH_MAX)
        return -1;
    /* Not snprintf: on the path of every creation, and ten times dearer. */
    memcpy(path, SYS.dir, dlen);
    memcpy(path + dlen, name, len + 1);
    return 0;
}

mode_t ushm__posix_other_type(const char *name)
{
    char path[POSIX_PATH_MAX];
    struct stat st;

    /* Where objects are no files, nothing else can hold their names. */
    if (ushm__posix_path(name, path) != 0 || lstat(path, &st) == -1 ||
        S_ISREG(st.st_mode))
        return 0;
    return st.st_mode;
}

int ushm__posix_name_taken(const char *name)
{
    char path[POSIX_PATH_MAX];
    struct stat st;
    int fd;

    if (ushm__posix_path(name, path) == 0)
        return lstat(path, &st) == 0;
    fd = ushm__posix_shm_open(name, O_RDONLY, 0);
    if (fd >= 0) {
        close(fd);
        return 1;
    }
    /* No permission: somebody's object.  EMFILE and the like say nothing
     * of the name, and are the answer. */
    if (errno == ENOENT || errno == EACCES)
        return errno == EACCES;
    return ushm__posix_open_fail("shm_open", name, errno);
}

int ushm__posix_room(int fd, unsigned long long *bytes,
                     unsigned long long *inodes, unsigned long long *all)
{
    struct statvfs vfs;

    /* Objects that are no files take their memory from no file system. */
    if (SYS.dir == NULL ||
        (fd >= 0 ? fstatvfs(fd, &vfs) : statvfs(SYS.dir, &vfs)) != 0)
        return -1;
    *bytes = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
    *inodes = (unsigned long long)vfs.f_favail;
    *all = (unsigned long long)vfs.f_files;
    return 0;
}

long ushm__posix_unnamed(void)
{
    struct statvfs vfs;
    struct dirent *e;
    long entries = 0;
    DIR *d;

    if (SYS.dir == NULL || statvfs(SYS.dir, &vfs) != 0 ||
        (d = opendir(SYS.dir)) == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    /* Inodes in use: the directory itself, its entries, and the rest. */
    return (long)(vfs.f_files - vfs.f_ffree) - 1 - entries;
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

void ushm__posix_other(const char *name, mode_t type, struct ushm__facts *f)
{
    f->kind = USHM__OTHER;
    snprintf(f->what, sizeof f->what, "%s%s is %s",
             SYS.dir != NULL ? SYS.dir : "", name, posix_file_type(type));
}

int ushm__posix_is_object(const struct stat *st)
{
    /* macOS's fstat of an object says no S_IFREG, and nothing else can
     * hold an object's name there. */
    return !SYS.types_known || S_ISREG(st->st_mode);
}

int ushm__posix_still_named(const char *name, int fd)
{
    struct stat mine, now;
    int fd2, same;

    if (fstat(fd, &mine) == -1)
        return 0;
    fd2 = ushm__posix_shm_open(name, O_RDONLY, 0);
    if (fd2 == -1)
        return 0;
    /* macOS's fstat() zeroes st_dev and st_ino: a name that leads to an
     * object is taken to lead to this one (only an unlink and a new
     * creation in between could make it another's). */
    same = !SYS.identity ||
           (fstat(fd2, &now) == 0 && mine.st_dev == now.st_dev &&
            mine.st_ino == now.st_ino);
    close(fd2);
    return same;
}

int ushm__posix_unlink_name(const char *name)
{
    char path[POSIX_PATH_MAX];

    /* Where objects are files, shm_unlink() is unlink() of this path, which
     * it would check the name for and build again. */
    if (ushm__posix_path(name, path) == 0)
        return unlink(path);
    return shm_unlink(name);
}

int ushm__posix_remove_name(const char *name, mode_t *type, const char **call)
{
    char path[POSIX_PATH_MAX];
    struct stat st;

    *type = 0;
    if (ushm__posix_path(name, path) != 0) {
        *call = "shm_unlink"; /* nothing but an object can hold the name */
        return shm_unlink(name);
    }
    /* Only shared memory objects: a FIFO or a directory is not ours. */
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        *type = st.st_mode;
        return 1;
    }
    *call = "unlink";
    return unlink(path);
}
