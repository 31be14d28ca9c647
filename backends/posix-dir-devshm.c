/* SPDX-License-Identifier: MIT */
/*
 * Where shm_open() keeps its objects on Linux, glibc and musl alike: files
 * in the /dev/shm tmpfs (configure checks it).  Only the POSIX backend's
 * files know it, through posix.h.
 */
#define _GNU_SOURCE /* MADV_HUGEPAGE */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "posix.h"

const char ushm__posix_dir[] = "/dev/shm";

_Static_assert(sizeof ushm__posix_dir + USHM_NAME_MAX <= POSIX_PATH_MAX,
               "an object's path fits POSIX_PATH_MAX");

void ushm__posix_path(const char *name, char path[POSIX_PATH_MAX])
{
    size_t len = strlen(name); /* canonical: at most USHM_NAME_MAX */

    /* Not snprintf: on the path of every creation, and ten times dearer. */
    memcpy(path, ushm__posix_dir, sizeof ushm__posix_dir - 1);
    memcpy(path + sizeof ushm__posix_dir - 1, name, len + 1);
}

mode_t ushm__posix_other_type(const char *name)
{
    char path[POSIX_PATH_MAX];
    struct stat st;

    ushm__posix_path(name, path);
    if (lstat(path, &st) == -1 || S_ISREG(st.st_mode))
        return 0;
    return st.st_mode;
}

int ushm__posix_name_taken(const char *name)
{
    char path[POSIX_PATH_MAX];
    struct stat st;

    ushm__posix_path(name, path);
    return lstat(path, &st) == 0;
}

int ushm__posix_room(int fd, unsigned long long *bytes,
                     unsigned long long *inodes, unsigned long long *all)
{
    struct statvfs vfs;

    if ((fd >= 0 ? fstatvfs(fd, &vfs) : statvfs(ushm__posix_dir, &vfs)) != 0)
        return -1;
    *bytes = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
    *inodes = (unsigned long long)vfs.f_favail;
    *all = (unsigned long long)vfs.f_files;
    return 0;
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
    snprintf(f->what, sizeof f->what, "%s%s is %s", ushm__posix_dir, name,
             posix_file_type(type));
}

int ushm__posix_unlink_name(const char *name)
{
    return shm_unlink(name);
}

/*
 * Huge pages for a named object come from transparent huge pages on the
 * tmpfs behind /dev/shm: its mount option huge=always or huge=within_size,
 * or shmem_enabled=force, which overrides every mount.  (A hugetlbfs mount
 * would need a second place to look names up in.)
 */
int ushm__posix_hugepages_on(void)
{
    FILE *f = fopen("/proc/self/mounts", "re");
    char line[512], dir[256], opts[256];
    int on = 0;

    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "%*s %255s %*s %255s", dir, opts) == 2 &&
            strcmp(dir, ushm__posix_dir) == 0)
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
