/*
 * The POSIX backend: shm_open + mmap.
 *
 * Creation protocol.  An object of size 0 counts as missing: whoever gives it
 * its size is its creator.  The process that makes the name (O_EXCL) and any
 * process that finds the object at size 0 with USHM_CREATE take an exclusive
 * lock on it; under the lock, the first to see size 0 maps it, reserves the
 * memory (posix_fallocate sets the size only once every page is allocated)
 * and so becomes the one creator.  Everyone else sees the full size.
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS and flock() are not in POSIX.1-2008 */

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
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#if HAVE_FLOCK
#include <sys/file.h>
#endif

#include "backend.h"

#if !HAVE_DECL_MAP_ANONYMOUS && HAVE_DECL_MAP_ANON
#define MAP_ANONYMOUS MAP_ANON
#define HAVE_DECL_MAP_ANONYMOUS 1
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 0 /* the descriptor is closed before ushm_open() returns */
#endif


static int posix_shm_open(const char *name, int oflag, mode_t mode)
{
    int fd;

    do
        fd = shm_open(name, oflag | O_CLOEXEC, mode);
    while (fd == -1 && errno == EINTR);
    return fd;
}

/* The system's reason for a failed shm_open(), with the limit behind it. */
static int posix_open_fail(const char *name, int err)
{
    struct statvfs vfs;

    if (err == ENOSPC && statvfs(USHM__POSIX_DIR, &vfs) == 0)
        return ushm__fail(err, "shm_open(%s): %s: %s has %llu free inodes "
                          "of %llu", name, ushm_strerror(err), USHM__POSIX_DIR,
                          (unsigned long long)vfs.f_favail,
                          (unsigned long long)vfs.f_files);
    return ushm__fail(err, "shm_open(%s): %s%s", name, ushm_strerror(err),
                      ushm__rlimit_hint(err));
}

static int posix_mmap_fail(const char *name, size_t size, int err)
{
    return ushm__fail(err, "mmap(%s, %zu bytes): %s%s", ushm__label(name),
                      size, ushm_strerror(err), ushm__rlimit_hint(err));
}

#if HAVE_FLOCK
static int posix_lock(int fd, int op)
{
    while (flock(fd, op) == -1)
        if (errno != EINTR)
            return -errno;
    return 0;
}
#define POSIX_LOCK LOCK_EX
#define POSIX_UNLOCK LOCK_UN
#else
/* Record locks belong to the process, not the descriptor: a mutex keeps two
 * threads of one process apart. */
static pthread_mutex_t posix_lock_mutex = PTHREAD_MUTEX_INITIALIZER;

static int posix_lock(int fd, int op)
{
    struct flock fl = { .l_type = (short)op, .l_whence = SEEK_SET };

    if (op == F_WRLCK)
        pthread_mutex_lock(&posix_lock_mutex);
    while (fcntl(fd, F_SETLKW, &fl) == -1) {
        if (errno != EINTR) {
            int err = errno;
            if (op == F_WRLCK)
                pthread_mutex_unlock(&posix_lock_mutex);
            return -err;
        }
    }
    if (op == F_UNLCK)
        pthread_mutex_unlock(&posix_lock_mutex);
    return 0;
}
#define POSIX_LOCK F_WRLCK
#define POSIX_UNLOCK F_UNLCK
#endif

/*
 * Give the object its size and reserve its pages, so that a full /dev/shm is
 * -ENOSPC here and never SIGBUS later.
 */
static int posix_reserve(const char *name, int fd, size_t size)
{
    int rc;

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
    if (rc == ENOSPC) {
        struct statvfs vfs;

        if (fstatvfs(fd, &vfs) == 0)
            return ushm__fail(rc, "posix_fallocate(%s, %zu bytes): %s: %s has "
                              "%llu bytes free", name, size, ushm_strerror(rc),
                              USHM__POSIX_DIR,
                              (unsigned long long)vfs.f_bavail * vfs.f_frsize);
    }
    if (rc == EFBIG)
        return ushm__fail(EINVAL, "posix_fallocate(%s, %zu bytes): %s: larger "
                          "than the largest object the system allows", name,
                          size, ushm_strerror(rc));
    if (rc != EOPNOTSUPP && rc != ENODEV && rc != ENOSYS && rc != EINVAL)
        return ushm__fail(rc, "posix_fallocate(%s, %zu bytes): %s", name,
                          size, ushm_strerror(rc));
#endif
    /* No way to reserve here: set the size and hope. */
    do
        rc = ftruncate(fd, (off_t)size);
    while (rc == -1 && errno == EINTR);
    if (rc == -1)
        return ushm__fail(errno, "ftruncate(%s, %zu bytes): %s", name, size,
                          ushm_strerror(errno));
    return 0;
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
 * Called holding no lock, with fd open read-write on an object that was at
 * size 0.  Returns 0 with shm->created set when this call completed it, 0
 * with st updated when another process did, USHM__RETRY when the name was
 * removed meanwhile, or a negative errno with nothing left behind.
 */
static int posix_complete(struct ushm *shm, int fd, struct stat *st,
                          size_t size, int flags, mode_t mode, int made)
{
    void *addr;
    int err = posix_lock(fd, POSIX_LOCK);

    if (err < 0) {
        err = ushm__fail(-err, "flock(%s): %s", shm->name,
                         ushm_strerror(err));
        if (made)
            shm_unlink(shm->name);
        return err;
    }
    if (fstat(fd, st) == -1) {
        err = ushm__fail(errno, "fstat(%s): %s", shm->name,
                         ushm_strerror(errno));
        if (made)
            shm_unlink(shm->name);
        goto out;
    }
    /* Unlinked while this call waited.  The call that made the name goes
     * on, as if it had created the segment and then been unlinked; any
     * other would complete an object nobody can find: it starts again. */
    if (st->st_nlink == 0 && !made) {
        err = USHM__RETRY;
        goto out;
    }
    if (st->st_size != 0)
        goto out;
    if ((flags & USHM_HUGEPAGES) && !posix_thp_enabled()) {
        err = ushm__fail(ENOTSUP, "ushm_open(%s, USHM_HUGEPAGES): %s: huge "
                         "pages for named POSIX segments are transparent huge "
                         "pages on the %s tmpfs, and they are off there; "
                         "enable them with: mount -o remount,huge=within_size "
                         "%s", shm->name, ushm_strerror(ENOTSUP),
                         USHM__POSIX_DIR, USHM__POSIX_DIR);
        goto undo;
    }
    /* shm_open() applied the umask; the contract says mode, exactly. */
    if ((st->st_mode & 0777) != mode && fchmod(fd, mode) == -1) {
        err = ushm__fail(errno, "fchmod(%s, 0%o): %s", shm->name,
                         (unsigned)mode, ushm_strerror(errno));
        goto undo;
    }
    /* Map before reserving: once the size is set, others may map it, and
     * a failure after that could no longer be undone cleanly. */
    addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
        err = posix_mmap_fail(shm->name, size, errno);
        goto undo;
    }
#if HAVE_DECL_MADV_HUGEPAGE
    if (flags & USHM_HUGEPAGES)
        madvise(addr, size, MADV_HUGEPAGE); /* a hint: the mount decides */
#endif
    err = posix_reserve(shm->name, fd, size);
    if (err < 0) {
        munmap(addr, size);
        goto undo;
    }
    shm->addr = addr;
    shm->size = size;
    shm->created = 1;
    goto out;
undo:
    if (st->st_nlink != 0) /* else the name is no longer this object's */
        shm_unlink(shm->name);
out:
    posix_lock(fd, POSIX_UNLOCK);
    return err;
}

static int posix_try_open(struct ushm *shm, size_t size, int flags,
                          mode_t mode)
{
    const char *name = shm->name;
    int create = flags & USHM_CREATE, rdonly = flags & USHM_RDONLY;
    int fd = -1, err = 0;
    struct stat st;
    void *addr;

    if (create && size > 0) {
        fd = posix_shm_open(name, O_RDWR | O_CREAT | O_EXCL, mode);
        if (fd == -1 && errno != EEXIST)
            return posix_open_fail(name, errno);
        /* This call made the name: straight to giving it its size. */
        if (fd != -1) {
            err = posix_complete(shm, fd, &st, size, flags, mode, 1);
            if (err != 0 || shm->created)
                goto out;
            goto exists; /* another process completed it first */
        }
    }
    fd = posix_shm_open(name, rdonly ? O_RDONLY : O_RDWR, 0);
    if (fd == -1) {
        if (errno == ENOENT && create && size > 0)
            return USHM__RETRY;
        if (errno == ENOENT && create)
            return ushm__fail(EINVAL, "ushm_open(%s): size 0: cannot "
                              "create a segment of 0 bytes", name);
        if (errno == EACCES && (flags & USHM_EXCL))
            return ushm__fail(EEXIST, "shm_open(%s): %s (and no "
                              "permission to open it)", name,
                              ushm_strerror(EEXIST));
        return posix_open_fail(name, errno);
    }
    if (fstat(fd, &st) == -1) {
        err = ushm__fail(errno, "fstat(%s): %s", name, ushm_strerror(errno));
        goto out;
    }
    if (st.st_size == 0) {
        if (!create) {
            err = ushm__fail(ENOENT, "ushm_open(%s): %s: the object has size "
                             "0 (its creator died or has not finished); "
                             "USHM_CREATE completes it", name,
                             ushm_strerror(ENOENT));
            goto out;
        }
        if (size == 0) {
            err = ushm__fail(EINVAL, "ushm_open(%s): size 0: cannot create "
                             "a segment of 0 bytes", name);
            goto out;
        }
        if (st.st_uid != geteuid()) {
            err = ushm__fail(EPERM, "ushm_open(%s): %s: an unfinished object "
                             "of uid %ld, not this process's uid %ld", name,
                             ushm_strerror(EPERM), (long)st.st_uid,
                             (long)geteuid());
            goto out;
        }
        err = posix_complete(shm, fd, &st, size, flags, mode, 0);
        if (err != 0 || shm->created)
            goto out;
    }
exists:
    if (create && (flags & USHM_EXCL)) {
        err = ushm__fail(EEXIST, "shm_open(%s): %s", name,
                         ushm_strerror(EEXIST));
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
        return ushm__fail(errno, "open(/dev/zero): %s", ushm_strerror(errno));
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
    return posix_try_open(shm, size, flags, mode);
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
        return posix_open_fail(name, errno);
    if (fstat(fd, &sb) == -1)
        err = ushm__fail(errno, "fstat(%s): %s", name, ushm_strerror(errno));
    else if (sb.st_size == 0)
        err = ushm__fail(ENOENT, "ushm_stat(%s): %s: the object has size 0 "
                         "(its creator died or has not finished)", name,
                         ushm_strerror(ENOENT));
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
    .open = posix_open,
    .close = posix_unmap,
    .unlink = posix_unlink,
    .stat = posix_stat,
};
