/* SPDX-License-Identifier: MIT */
/*
 * The wrappers ld --wrap puts around each call of tests/syscall-list.h,
 * and the injection plan they consult to count, fail or fake a call.
 */
#include "syscall-faults.h"

/* ------------------------------------------------------------------ */
/* The wrapped functions and the injection plan.                        */

const char *const fn_name[F_N] = {
#define SF_CALL(id, name, type, params) #name,
#define SF_CALL64(id, name, name64, type, params, params64) #name,
#include "syscall-list.h"
#undef SF_CALL
#undef SF_CALL64
};

struct inj plan[MAX_INJ];
int nplan;
volatile int armed;          /* count and inject only while set */
struct call seq[MAX_SEQ];
int nseq;

/* Record the call and return the injection that fails or fakes it. */
static struct inj *consult(int fn, long detail, const char *path)
{
    struct inj *fault = NULL;

    if (!armed)
        return NULL;
    if (nseq < MAX_SEQ) {
        seq[nseq].fn = fn;
        seq[nseq].detail = detail;
        snprintf(seq[nseq].path, sizeof seq[nseq].path, "%s",
                 path != NULL ? path : "");
        nseq++;
    }
    for (int i = 0; i < nplan; i++) {
        struct inj *p = &plan[i];

        if (p->fn != fn || (detail & p->mask) != p->value ||
            (p->path != NULL && (path == NULL || strstr(path, p->path) == NULL)))
            continue;
        p->seen++;
        if (p->seen < p->nth || (p->count >= 0 && p->seen >= p->nth + p->count))
            continue;
        p->hits++;
        if (p->act == ACT_HOOK) {
            int saved = errno;

            armed = 0;
            p->hook();
            armed = 1;
            errno = saved;
        } else if (p->act != ACT_COUNT && fault == NULL) {
            fault = p;
        }
    }
    return fault;
}

#define FAIL_INT(p) do { errno = (p)->err; return -1; } while (0)

int __wrap_shm_open(const char *name, int oflag, mode_t mode)
{
    struct inj *p = consult(F_SHM_OPEN, oflag, name);

    if (p != NULL)
        FAIL_INT(p);
    return __real_shm_open(name, oflag, mode);
}

int __wrap_shm_unlink(const char *name)
{
    struct inj *p = consult(F_SHM_UNLINK, 0, name);

    if (p != NULL)
        FAIL_INT(p);
    return __real_shm_unlink(name);
}

/* Only the library's removal of an object's name where objects are files
 * (what shm_unlink() does there); the test's own unlinks go through. */
int __wrap_unlink(const char *path)
{
    struct inj *p = strncmp(path, "/dev/shm/", 9) == 0
                    ? consult(F_UNLINK, 0, path) : NULL;

    if (p != NULL)
        FAIL_INT(p);
    return __real_unlink(path);
}

int __wrap_fstat(int fd, void *st)
{
    struct inj *p = consult(F_FSTAT, 0, NULL);

    if (p != NULL)
        FAIL_INT(p);
    return __real_fstat(fd, st);
}

/* Only the library's own opens: the unnamed O_TMPFILE segment, and
 * /dev/zero where there is no MAP_ANONYMOUS.  Any other open (the C
 * library's, the test's) goes straight through, uncounted. */

static int library_open(const char *path, int flags)
{
    return SF_TMPFILE(flags) || strcmp(path, "/dev/zero") == 0;
}

static mode_t open_mode(int flags, va_list ap)
{
    return (flags & O_CREAT) || SF_TMPFILE(flags)
           ? (mode_t)va_arg(ap, unsigned) : 0;
}

int __wrap_open(const char *path, int flags, ...)
{
    struct inj *p = library_open(path, flags) ? consult(F_OPEN, flags, path)
                                              : NULL;
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    if (p != NULL)
        FAIL_INT(p);
    return __real_open(path, flags, mode);
}

int __wrap_linkat(int olddir, const char *oldpath, int newdir,
                  const char *newpath, int flags)
{
    struct inj *p = consult(F_LINKAT, flags, newpath);

    if (p != NULL)
        FAIL_INT(p);
    return __real_linkat(olddir, oldpath, newdir, newpath, flags);
}

int __wrap_lstat(const char *path, void *st)
{
    struct inj *p = consult(F_LSTAT, 0, path);

    if (p != NULL)
        FAIL_INT(p);
    return __real_lstat(path, st);
}

int __wrap_access(const char *path, int how)
{
    struct inj *p = consult(F_ACCESS, 0, path);

    if (p != NULL)
        FAIL_INT(p);
    return __real_access(path, how);
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, sf_off_t off)
{
    struct inj *p = consult(F_PWRITE, 0, NULL);

    if (p != NULL)
        FAIL_INT(p);
    return __real_pwrite(fd, buf, n, off);
}

int __wrap_fchmod(int fd, mode_t mode)
{
    struct inj *p = consult(F_FCHMOD, 0, NULL);

    if (p != NULL)
        FAIL_INT(p);
    return __real_fchmod(fd, mode);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
                  sf_off_t off)
{
    struct inj *p = consult(F_MMAP, flags, NULL);

    if (p != NULL && p->act == ACT_FAKE)
        return __real_mmap(addr, len, prot, flags & ~MAP_HUGETLB, fd, off);
    if (p != NULL) {
        errno = p->err;
        return MAP_FAILED;
    }
    return __real_mmap(addr, len, prot, flags, fd, off);
}

/* A mapping whose munmap() was failed: the test removes it afterwards. */
void *leaked_addr;
size_t leaked_len;

int __wrap_munmap(void *addr, size_t len)
{
    struct inj *p = consult(F_MUNMAP, 0, NULL);

    if (p != NULL) {
        leaked_addr = addr;
        leaked_len = len;
        FAIL_INT(p);
    }
    return __real_munmap(addr, len);
}

int __wrap_madvise(void *addr, size_t len, int advice)
{
    struct inj *p = consult(F_MADVISE, advice, NULL);

    if (p != NULL)
        FAIL_INT(p);
    return __real_madvise(addr, len, advice);
}

/* posix_fallocate() returns the error number and leaves errno alone. */
int __wrap_posix_fallocate(int fd, sf_off_t off, sf_off_t len)
{
    struct inj *p = consult(F_FALLOCATE, 0, NULL);

    return p != NULL ? p->err : __real_posix_fallocate(fd, off, len);
}

int __wrap_ftruncate(int fd, sf_off_t len)
{
    struct inj *p = consult(F_FTRUNCATE, 0, NULL);

    if (p != NULL)
        FAIL_INT(p);
    return __real_ftruncate(fd, len);
}

int __wrap_statvfs(const char *path, void *buf)
{
    struct inj *p = consult(F_STATVFS, 0, path);

    if (p != NULL)
        FAIL_INT(p);
    return __real_statvfs(path, buf);
}

int __wrap_fstatvfs(int fd, void *buf)
{
    struct inj *p = consult(F_FSTATVFS, 0, NULL);

    if (p != NULL)
        FAIL_INT(p);
    return __real_fstatvfs(fd, buf);
}

/* Linux closes the descriptor even when close() reports an error. */
int __wrap_close(int fd)
{
    struct inj *p = consult(F_CLOSE, 0, NULL);

    if (p != NULL) {
        __real_close(fd);
        FAIL_INT(p);
    }
    return __real_close(fd);
}

long __wrap_sysconf(int name)
{
    struct inj *p = consult(F_SYSCONF, name, NULL);

    if (p != NULL)
        FAIL_INT(p);
    return __real_sysconf(name);
}

/* The plain getrlimit's struct: two unsigned longs on glibc whatever
 * _FILE_OFFSET_BITS says (getrlimit64 takes two 64-bit ones). */
#ifdef __GLIBC__
typedef unsigned long sf_rlim_t;
#else
typedef rlim_t sf_rlim_t;
#endif

int __wrap_getrlimit(int resource, void *rl)
{
    struct inj *p = consult(F_GETRLIMIT, resource, NULL);
    int rc;

    if (p != NULL && p->act != ACT_FAKE)
        FAIL_INT(p);
    rc = __real_getrlimit(resource, rl);
    if (p != NULL && rc == 0)
        ((sf_rlim_t *)rl)[0] = (sf_rlim_t)4096;
    return rc;
}

static FILE *fopen_fault(struct inj *p)
{
    if (p->act == ACT_FAKE)
        return fmemopen((void *)(uintptr_t)p->text, strlen(p->text), "r");
    errno = p->err;
    return NULL;
}

FILE *__wrap_fopen(const char *path, const char *mode)
{
    struct inj *p = consult(F_FOPEN, 0, path);

    return p != NULL ? fopen_fault(p) : __real_fopen(path, mode);
}

void *__wrap_malloc(size_t size)
{
    struct inj *p = consult(F_MALLOC, 0, NULL);

    if (p != NULL) {
        errno = p->err;
        return NULL;
    }
    return __real_malloc(size);
}

/* geteuid() cannot fail: the fake is another user. */
uid_t __wrap_geteuid(void)
{
    struct inj *p = consult(F_GETEUID, 0, NULL);

    return __real_geteuid() + (p != NULL ? 1 : 0);
}

int __wrap_shmget(key_t key, size_t size, int flags)
{
    struct inj *p = consult(F_SHMGET, flags, NULL);

    if (p != NULL)
        FAIL_INT(p);
    return __real_shmget(key, size, flags);
}

void *__wrap_shmat(int id, const void *addr, int flags)
{
    struct inj *p = consult(F_SHMAT, flags, NULL);

    if (p != NULL) {
        errno = p->err;
        return (void *)-1;
    }
    return __real_shmat(id, addr, flags);
}

int __wrap_shmdt(const void *addr)
{
    struct inj *p = consult(F_SHMDT, 0, NULL);

    if (p != NULL)
        FAIL_INT(p);
    return __real_shmdt(addr);
}

int __wrap_shmctl(int id, int cmd, void *buf)
{
    struct inj *p = consult(F_SHMCTL, cmd, NULL);

    if (p != NULL)
        FAIL_INT(p);
    return __real_shmctl(id, cmd, buf);
}

#ifdef SF_LFS64
/* The names the library references when _FILE_OFFSET_BITS is 64 on a
 * 32-bit system. */
int __wrap_fstat64(int fd, void *st)
{
    struct inj *p = consult(F_FSTAT, 0, NULL);

    if (p != NULL)
        FAIL_INT(p);
    return __real_fstat64(fd, st);
}

void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd,
                    sf_off64_t off)
{
    struct inj *p = consult(F_MMAP, flags, NULL);

    if (p != NULL && p->act == ACT_FAKE)
        return __real_mmap64(addr, len, prot, flags & ~MAP_HUGETLB, fd, off);
    if (p != NULL) {
        errno = p->err;
        return MAP_FAILED;
    }
    return __real_mmap64(addr, len, prot, flags, fd, off);
}

int __wrap_posix_fallocate64(int fd, sf_off64_t off, sf_off64_t len)
{
    struct inj *p = consult(F_FALLOCATE, 0, NULL);

    return p != NULL ? p->err : __real_posix_fallocate64(fd, off, len);
}

int __wrap_ftruncate64(int fd, sf_off64_t len)
{
    struct inj *p = consult(F_FTRUNCATE, 0, NULL);

    if (p != NULL)
        FAIL_INT(p);
    return __real_ftruncate64(fd, len);
}

int __wrap_statvfs64(const char *path, void *buf)
{
    struct inj *p = consult(F_STATVFS, 0, path);

    if (p != NULL)
        FAIL_INT(p);
    return __real_statvfs64(path, buf);
}

int __wrap_fstatvfs64(int fd, void *buf)
{
    struct inj *p = consult(F_FSTATVFS, 0, NULL);

    if (p != NULL)
        FAIL_INT(p);
    return __real_fstatvfs64(fd, buf);
}

int __wrap_getrlimit64(int resource, void *rl)
{
    struct inj *p = consult(F_GETRLIMIT, resource, NULL);
    int rc;

    if (p != NULL && p->act != ACT_FAKE)
        FAIL_INT(p);
    rc = __real_getrlimit64(resource, rl);
    if (p != NULL && rc == 0)
        ((uint64_t *)rl)[0] = (uint64_t)4096;
    return rc;
}

int __wrap_open64(const char *path, int flags, ...)
{
    struct inj *p = library_open(path, flags) ? consult(F_OPEN, flags, path)
                                              : NULL;
    va_list ap;
    mode_t mode;

    va_start(ap, flags);
    mode = open_mode(flags, ap);
    va_end(ap);
    if (p != NULL)
        FAIL_INT(p);
    return __real_open64(path, flags, mode);
}

int __wrap_lstat64(const char *path, void *st)
{
    struct inj *p = consult(F_LSTAT, 0, path);

    if (p != NULL)
        FAIL_INT(p);
    return __real_lstat64(path, st);
}

ssize_t __wrap_pwrite64(int fd, const void *buf, size_t n, sf_off64_t off)
{
    struct inj *p = consult(F_PWRITE, 0, NULL);

    if (p != NULL)
        FAIL_INT(p);
    return __real_pwrite64(fd, buf, n, off);
}

FILE *__wrap_fopen64(const char *path, const char *mode)
{
    struct inj *p = consult(F_FOPEN, 0, path);

    return p != NULL ? fopen_fault(p) : __real_fopen64(path, mode);
}
#endif /* SF_LFS64 */
