/* SPDX-License-Identifier: MIT */
/*
 * System call faults: every call libushm makes to the system fails in turn,
 * on the backend this program is linked with (tests/syscall-faults-posix,
 * tests/syscall-faults-sysv).
 *
 * Mechanism.  The program links the core and one backend statically (the
 * convenience library tests/libushm-<backend>.la) and wraps the library's
 * calls at link time with ld --wrap: __wrap_fstat() below counts each call
 * and fails the one an injection plan names, else calls __real_fstat().
 * Both names of each large-file function are wrapped (fstat and fstat64,
 * mmap and mmap64, lstat and lstat64, ...): which one the library
 * references depends on _FILE_OFFSET_BITS, and the unused wrapper is
 * harmless.  open() is counted only when it is the library's own (the
 * O_TMPFILE segment, /dev/zero): everything else passes through.
 *
 * The calls are those of tests/syscall-list.h, which declares the wrappers
 * below and makes the --wrap flags the program is linked with
 * (Makefile.am): a wrapper missing from it has no __real_X to call and
 * does not link.  A call that is not wrapped, because the library
 * references another symbol for it (e.g. __shmctl64 with _TIME_BITS=64, or
 * __lxstat for lstat before glibc 2.33), shows up as "injection not
 * reached" and fails the case.
 *
 * Method.  For each public operation (create, create with a mode lacking
 * owner write, open, open read-only, open-or-create, anonymous, POPULATE,
 * HUGEPAGES, close, unlink, stat) the program runs it once with counting
 * only, to learn the sequence of wrapped calls it makes, then once per
 * position in that sequence with that call failing with a plausible errno,
 * and once per call the library promises to retry on EINTR (shm_open,
 * posix_fallocate, ftruncate, pwrite, madvise populate) with that call
 * interrupted three times.  Targeted cases follow, for the creation
 * protocol this build has (config.h's USHM_ATOMIC_PUBLISH: the segment
 * built unnamed with O_TMPFILE and linked into place, or the fallback's
 * shm_open(O_EXCL)): its odd answers (no O_TMPFILE on the mount, the
 * unprivileged linkat route, a name taken meanwhile), the messages that
 * name a limit, a size-0 object of another program (never taken over: it
 * is waited for, a bounded time), the retry loops run to their end, races
 * (a hook does "another process's" action just before a call), huge page
 * detection.  The atomic protocol remembers per process which linkat()
 * route works and whether O_TMPFILE does, so the cases about those run
 * first, each in a child forked before anything was created.
 *
 * Each case checks the return value; on failure that *shm is NULL, that
 * ushm_last_error() is fresh and names the failed call and the segment, and
 * that nothing is left: no /dev/shm entry, no SysV segment made by this
 * process, no descriptor, no shared mapping; on success that what was made
 * has exactly the size and mode asked; always that the signal mask is
 * unchanged.  A failure of a call that is only a hint or a clean-up (close,
 * munmap of the unnamed segment that lost the race, madvise MADV_HUGEPAGE,
 * sysconf, getrlimit, lstat before an unlink, reading /proc) must not
 * change the outcome.
 *
 * One line per case:
 *   INJECT|<backend>|<scenario>|<injection>|<got>|<leftovers>|<PASS/FAIL>
 * then "N passed, M failed"; exit status 0 or 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/statvfs.h>

#include "fault-common.h"

#ifdef __GLIBC__
typedef __off_t sf_off_t;     /* what the plain names take */
typedef __off64_t sf_off64_t; /* what the ...64 names take */
#define SF_LFS64 1
#else
typedef off_t sf_off_t;
#endif

#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000 /* Linux's; only to describe a linkat() call */
#endif
#ifndef USHM_ATOMIC_PUBLISH
#define USHM_ATOMIC_PUBLISH 0 /* config.h: the fallback creation protocol */
#endif

/* Under the macOS personality (tests/personality/run.sh macos). */
#define IS_MACOS() \
    (fc_personality() != NULL && strcmp(fc_personality(), "macos") == 0)
#ifndef SHM_HUGETLB
#define SHM_HUGETLB 0
#endif

/* ------------------------------------------------------------------ */
/* The wrapped functions and the injection plan.                        */

/* F_SHM_OPEN, ... and their names, from tests/syscall-list.h. */
enum fn {
#define SF_CALL(id, name, type, params) F_##id,
#define SF_CALL64(id, name, name64, type, params, params64) F_##id,
#include "syscall-list.h"
#undef SF_CALL
#undef SF_CALL64
    F_N
};

static const char *const fn_name[F_N] = {
#define SF_CALL(id, name, type, params) #name,
#define SF_CALL64(id, name, name64, type, params, params64) #name,
#include "syscall-list.h"
#undef SF_CALL
#undef SF_CALL64
};

/* The wrappers' and the real functions' declarations; the ...64 twins
 * where the C library has them (glibc).  Every name is pasted, never
 * expanded, as a C library may define a call's name as a macro. */
#define SF_CALL(id, name, type, params) \
    type __wrap_##name params; type __real_##name params;
#ifdef SF_LFS64
#define SF_CALL64(id, name, name64, type, params, params64) \
    type __wrap_##name params; type __real_##name params; \
    type __wrap_##name64 params64; type __real_##name64 params64;
#else
#define SF_CALL64(id, name, name64, type, params, params64) \
    type __wrap_##name params; type __real_##name params;
#endif
#include "syscall-list.h"
#undef SF_CALL
#undef SF_CALL64

enum act {
    ACT_FAIL,  /* the call fails with err, the real one is not made */
    ACT_HOOK,  /* hook() runs first, then the real call */
    ACT_FAKE,  /* fopen: a file with text; mmap: without MAP_HUGETLB;
                * geteuid: another uid; getrlimit: a limit of 4096 bytes */
    ACT_COUNT, /* nothing: only checks that the call is made */
};

struct inj {
    int fn;
    long mask, value;     /* only calls with (detail & mask) == value */
    const char *path;     /* and, when set, a path containing this */
    int nth, count;       /* matching calls nth .. nth+count-1; count -1: all */
    int err;
    int act;
    void (*hook)(void);
    const char *text;     /* ACT_FAKE fopen: the file's contents */
    int seen, hits;
};

struct call {
    int fn;
    long detail;
    char path[48];
};

#define MAX_INJ 4
#define MAX_SEQ 512

static struct inj plan[MAX_INJ];
static int nplan;
static volatile int armed;          /* count and inject only while set */
static struct call seq[MAX_SEQ];
static int nseq;

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
#ifdef O_TMPFILE
#define SF_TMPFILE(flags) (((flags) & O_TMPFILE) == O_TMPFILE)
#else
#define SF_TMPFILE(flags) 0
#endif

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
static void *leaked_addr;
static size_t leaked_len;

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

/* ------------------------------------------------------------------ */
/* Names, and removing everything at the end.                           */

#define MAX_NAMES 1024

static pid_t main_pid;
static int posix;                        /* the backend under test */
static size_t page, seg_size, exist_size;
static char prefix[24];                  /* "sf<pid>_": our /dev/shm entries */
static char names[MAX_NAMES][USHM_NAME_MAX + 1];
static int nnames;

static const char *new_name(void)
{
    char *n = names[nnames < MAX_NAMES ? nnames : MAX_NAMES - 1];

    snprintf(n, USHM_NAME_MAX + 1, "/%s%d", prefix, nnames);
    if (nnames < MAX_NAMES)
        nnames++;
    return n;
}

/* Remove a name on both backends' terms, with the real calls. */
static void remove_name(const char *name)
{
    int id;

    if (posix) {
        __real_shm_unlink(name);
        return;
    }
    id = __real_shmget((key_t)fc_sysv_key(name), 0, 0);
    if (id != -1)
        __real_shmctl(id, IPC_RMID, NULL);
}

/* SysV segments this process created (cpid), with their ids.  seglist's
 * calls pass through the wrappers untouched: it runs only while unarmed. */
struct sv_row { int id; long key; unsigned long size, nattch; };

struct sv_rows { struct sv_row *rows; int max, n; };

static int sysv_row(const struct seglist_sysv *s, void *arg)
{
    struct sv_rows *r = arg;

    if (s->cpid != (long long)main_pid)
        return 0;
    if (r->n < r->max) {
        r->rows[r->n].id = s->shmid;
        r->rows[r->n].key = (long)s->key;
        r->rows[r->n].size = (unsigned long)s->size;
        r->rows[r->n].nattch = (unsigned long)s->nattch;
    }
    r->n++;
    return 0;
}

static int sysv_rows(struct sv_row *rows, int max)
{
    struct sv_rows r = { rows, max, 0 };

    seglist_sysv_each(sysv_row, &r, NULL, 0);
    return r.n < max ? r.n : max;
}

/* Anonymous SysV segments left by a failed IPC_RMID: ours, unattached. */
static void remove_private_segments(void)
{
    struct sv_row rows[64];
    int n = sysv_rows(rows, 64);

    for (int i = 0; i < n; i++)
        if (rows[i].key == 0 && rows[i].nattch == 0)
            __real_shmctl(rows[i].id, IPC_RMID, NULL);
}

static void sweep_all(void)
{
    char list[4096], *save, *tok;
    struct sv_row rows[64];
    int n;

    if (getpid() != main_pid)
        return;
    armed = 0;
    for (int i = 0; i < nnames; i++)
        remove_name(names[i]);
    fc_count_devshm(prefix, list, sizeof list);
    for (tok = strtok_r(list, " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
        char path[64];

        snprintf(path, sizeof path, "/%s", tok);
        __real_shm_unlink(path);
    }
    n = sysv_rows(rows, 64);
    for (int i = 0; i < n; i++)
        __real_shmctl(rows[i].id, IPC_RMID, NULL);
}

static void on_signal(int sig)
{
    sweep_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ------------------------------------------------------------------ */
/* What the process and the system hold.                                */

#define MAX_ENT 16

struct entry { char name[48]; long long size; };

struct snap {
    int fds, maps;
    int ndev;
    struct entry dev[MAX_ENT];
    int nsv;
    struct sv_row sv[MAX_ENT];
    sigset_t mask;
};

/* Our /dev/shm entries (the prefix's) and their sizes, -1 if gone. */
static int snap_dev(const struct seglist_posix *e, void *arg)
{
    struct snap *s = arg;

    if (strncmp(e->name, prefix, strlen(prefix)) != 0 || s->ndev == MAX_ENT)
        return 0;
    snprintf(s->dev[s->ndev].name, sizeof s->dev[0].name, "/%s", e->name);
    s->dev[s->ndev].size = e->err == 0 ? (long long)e->size : -1;
    s->ndev++;
    return 0;
}

static void snap_sets(struct snap *s)
{
    s->ndev = 0;
    seglist_posix_each(snap_dev, s, NULL, 0);
    s->nsv = sysv_rows(s->sv, MAX_ENT);
}

static void snap_take(struct snap *s)
{
    s->fds = fc_count_fds();
    s->maps = fc_count_maps();
    snap_sets(s);
    pthread_sigmask(SIG_BLOCK, NULL, &s->mask);
}

static const struct entry *find_dev(const struct snap *s, const char *name)
{
    for (int i = 0; i < s->ndev; i++)
        if (strcmp(s->dev[i].name, name) == 0)
            return &s->dev[i];
    return NULL;
}

static const struct sv_row *find_sv(const struct snap *s, int id)
{
    for (int i = 0; i < s->nsv; i++)
        if (s->sv[i].id == id)
            return &s->sv[i];
    return NULL;
}

static int same_mask(const sigset_t *a, const sigset_t *b)
{
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(a, sig) != sigismember(b, sig))
            return 0;
    return 1;
}

/* Append to a ';'-separated text field. */
static void addf(char *buf, size_t len, const char *fmt, ...) FC_PRINTF(3, 4);
static void addf(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    if (used + 3 >= len)
        return;
    if (used > 0) {
        strcpy(buf + used, "; ");
        used += 2;
    }
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Scenarios and cases.                                                 */

enum op { OP_OPEN, OP_CLOSE, OP_UNLINK, OP_STAT };
enum setup { S_NONE, S_EXISTING, S_HALF, S_OPEN, S_OPEN_ANON };

struct scen {
    const char *label;
    int op, setup, anon;
    int sized;            /* 1: pass seg_size, 0: pass 0 */
    int flags;
    mode_t mode;
    int posix_only;
};

/* What a case must give. */
#define ALLOW_ZERO_LEFT 0x1 /* a size-0 POSIX name may stay: its removal failed */
#define ALLOW_SYSV_LEFT 0x2 /* a SysV segment may stay: its IPC_RMID failed */
#define ALLOW_MAP_LEFT  0x4 /* a mapping may stay: its munmap/shmdt failed */
#define KNOWN_NO_LABEL  0x8 /* a known library gap: last_error lacks the
                             * segment (noted on the line, not failed) */

struct expect {
    int rc;               /* 0 or -errno */
    int alt_rc;           /* also accepted when nonzero */
    int created;          /* on success: -1 for either */
    const char *kw;       /* on failure: in ushm_last_error() */
    int allow;
    const char *note;     /* for the line */
};

struct outcome {
    int rc, created;
    int nseq;
    struct call seq[MAX_SEQ];
};

/* The case in progress, for the hooks. */
static struct {
    char name[USHM_NAME_MAX + 1];
    struct snap *before;
    int gone;             /* a hook removed the name */
} cur;

static char sentinel[512];

/* A known last_error, so that a failure that writes none is seen. */
static void seed_last_error(void)
{
    ushm_unlink("");
    snprintf(sentinel, sizeof sentinel, "%s", ushm_last_error());
}

static const char *errname(int e)
{
    return fc_errno_name(e < 0 ? -e : e);
}

static const char *op_name(int op)
{
    switch (op) {
    case OP_OPEN: return "ushm_open";
    case OP_CLOSE: return "ushm_close";
    case OP_UNLINK: return "ushm_unlink";
    default: return "ushm_stat";
    }
}

static int setup_case(const struct scen *s, ushm_t **h, void **addr,
                      size_t *len, char *why, size_t whylen)
{
    ushm_t *tmp = NULL;
    int rc, fd;

    *h = NULL;
    cur.name[0] = '\0';
    cur.gone = 0;
    if (!s->anon)
        snprintf(cur.name, sizeof cur.name, "%s", new_name());
    switch (s->setup) {
    case S_EXISTING:
    case S_OPEN:
        if (posix) {
            /* Made the plain way, so that no creation by the library
             * settles its choices before a case (run_case_forked). */
            /* (macOS's shm_open keeps the mode; its fchmod is EINVAL.) */
            fd = shm_open(cur.name, O_RDWR | O_CREAT | O_EXCL, 0640);
            if (fd == -1 || ftruncate(fd, (off_t)exist_size) == -1 ||
                (!IS_MACOS() && fchmod(fd, 0640) == -1)) {
                snprintf(why, whylen, "setup shm_open: %s", strerror(errno));
                if (fd != -1)
                    close(fd);
                return -1;
            }
            close(fd);
        } else {
            rc = ushm_open(&tmp, cur.name, exist_size,
                           USHM_CREATE | USHM_EXCL, 0640);
            if (rc < 0) {
                snprintf(why, whylen, "setup ushm_open: %s",
                         ushm_last_error());
                return -1;
            }
            ushm_close(tmp);
        }
        if (s->setup == S_EXISTING)
            break;
        rc = ushm_open(h, cur.name, 0, 0, 0);
        if (rc < 0) {
            snprintf(why, whylen, "setup ushm_open: %s", ushm_last_error());
            return -1;
        }
        break;
    case S_OPEN_ANON:
        rc = ushm_open(h, NULL, seg_size, USHM_CREATE, 0640);
        if (rc < 0) {
            snprintf(why, whylen, "setup ushm_open: %s", ushm_last_error());
            return -1;
        }
        break;
    case S_HALF:
        /* What a creator that died before giving it a size leaves. */
        fd = shm_open(cur.name, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd == -1) {
            snprintf(why, whylen, "setup shm_open: %s", strerror(errno));
            return -1;
        }
        close(fd);
        break;
    default:
        break;
    }
    if (*h != NULL) {
        *addr = ushm_addr(*h);
        *len = ushm_size(*h);
    }
    return 0;
}

static void teardown_case(void)
{
    if (cur.name[0] != '\0')
        remove_name(cur.name);
    if (!posix)
        remove_private_segments();
}

static void describe_call(const struct call *c, char *buf, size_t len)
{
    const char *d = "";
    char tmp[64];

    switch (c->fn) {
    case F_SHM_OPEN:
        d = (c->detail & O_EXCL) ? "O_EXCL"
            : (c->detail & O_ACCMODE) == O_RDONLY ? "O_RDONLY" : "O_RDWR";
        break;
    case F_OPEN:
        d = SF_TMPFILE(c->detail) ? "O_TMPFILE" : c->path;
        break;
    case F_LINKAT:
        d = (c->detail & AT_EMPTY_PATH) ? "AT_EMPTY_PATH" : "/proc/self/fd";
        break;
    case F_MMAP:
        d = (MAP_HUGETLB && (c->detail & MAP_HUGETLB)) ? "MAP_HUGETLB"
            : (c->detail & MAP_ANONYMOUS) ? "MAP_ANONYMOUS" : "";
        break;
    case F_MADVISE:
        if (c->detail == MADV_HUGEPAGE)
            d = "MADV_HUGEPAGE";
#ifdef MADV_POPULATE_WRITE
        else if (c->detail == MADV_POPULATE_WRITE)
            d = "MADV_POPULATE_WRITE";
#endif
#ifdef MADV_POPULATE_READ
        else if (c->detail == MADV_POPULATE_READ)
            d = "MADV_POPULATE_READ";
#endif
        break;
    case F_SHMGET:
        d = (c->detail & IPC_EXCL) ? "IPC_EXCL"
            : (c->detail & IPC_CREAT) ? "IPC_CREAT" : "lookup";
        break;
    case F_SHMCTL:
        d = c->detail == IPC_STAT ? "IPC_STAT" : c->detail == IPC_SET ? "IPC_SET"
            : c->detail == IPC_RMID ? "IPC_RMID" : "SHM_INFO";
        break;
    case F_FOPEN:
        d = c->path;
        break;
    case F_GETRLIMIT:
        d = c->detail == RLIMIT_NOFILE ? "RLIMIT_NOFILE"
            : c->detail == RLIMIT_FSIZE ? "RLIMIT_FSIZE" : "RLIMIT_AS";
        break;
    default:
        break;
    }
    if (d[0] != '\0')
        snprintf(tmp, sizeof tmp, "%s(%s)", fn_name[c->fn], d);
    else
        snprintf(tmp, sizeof tmp, "%s", fn_name[c->fn]);
    snprintf(buf, len, "%s", tmp);
}

static int is_populate(long advice)
{
#ifdef MADV_POPULATE_WRITE
    if (advice == MADV_POPULATE_WRITE)
        return 1;
#endif
#ifdef MADV_POPULATE_READ
    if (advice == MADV_POPULATE_READ)
        return 1;
#endif
    (void)advice;
    return 0;
}

/*
 * Run scenario s with the injections inj[0..ninj): set it up, call the
 * operation, check the outcome against want (NULL: the counting run, which
 * only records what happens) and print the line.
 */
static int run_case(const struct scen *s, const struct inj *inj, int ninj,
                    const struct expect *want, const char *desc,
                    struct outcome *out)
{
    struct snap before, after;
    ushm_t *h = NULL, *made = NULL;
    struct ushm_stat st;
    void *addr = NULL;
    size_t len = 0, size = s->sized ? seg_size : 0;
    char why[600] = "", got[700] = "", left[600] = "", msg[512];
    int rc = 0, maps_during, fds_after, ok = 1, created = -1, leak = 0;
    size_t got_size = 0;

    if (want != NULL && getenv("SF_ONLY") != NULL &&
        strstr(desc, getenv("SF_ONLY")) == NULL)
        return 0; /* SF_ONLY=text: only the cases whose line has it */
    if (setup_case(s, &h, &addr, &len, why, sizeof why) < 0) {
        fc_line("INJECT", 0, 4, s->label, desc, why, "-");
        teardown_case();
        return -1;
    }
    cur.before = &before;
    snap_take(&before);
    seed_last_error();

    if (ninj > 0)
        memcpy(plan, inj, sizeof *inj * (size_t)ninj);
    nplan = ninj;
    for (int i = 0; i < nplan; i++)
        plan[i].seen = plan[i].hits = 0;
    nseq = 0;
    leaked_addr = NULL;
    armed = 1;
    switch (s->op) {
    case OP_OPEN:
        made = (ushm_t *)&made; /* must become NULL or a handle */
        rc = ushm_open(&made, s->anon ? NULL : cur.name, size, s->flags,
                       s->mode);
        break;
    case OP_CLOSE:
        rc = ushm_close(h);
        break;
    case OP_UNLINK:
        rc = ushm_unlink(cur.name);
        break;
    case OP_STAT:
        rc = ushm_stat(cur.name, &st);
        break;
    }
    armed = 0;
    snprintf(msg, sizeof msg, "%s", ushm_last_error());
    if (leaked_addr != NULL && s->op != OP_CLOSE) {
        /* A clean-up munmap that was failed on purpose: remove what it
         * left, so that the counts below see the rest. */
        __real_munmap(leaked_addr, leaked_len);
        leak = 1;
    }
    leaked_addr = NULL;
    fds_after = fc_count_fds();
    maps_during = fc_count_maps();
    if (s->op == OP_OPEN && rc == 0) {
        created = ushm_created(made);
        got_size = ushm_size(made);
    }
    if (out != NULL) {
        out->rc = rc;
        out->created = created;
        out->nseq = nseq;
        memcpy(out->seq, seq, sizeof seq[0] * (size_t)nseq);
    }

    if (rc == 0 && s->op == OP_OPEN)
        snprintf(got, sizeof got, "%s 0 created=%d", op_name(s->op), created);
    else
        snprintf(got, sizeof got, "%s %s%s", op_name(s->op), rc < 0 ? "-" : "",
                 rc < 0 ? errname(rc) : "0");

    for (int i = 0; i < nplan; i++)
        if (plan[i].hits == 0) {
            ok = 0;
            addf(got, sizeof got, "injection %d (%s) not reached", i + 1,
                 fn_name[plan[i].fn]);
        }
    if (fds_after != before.fds) {
        ok = 0;
        addf(left, sizeof left, "%+d fd", fds_after - before.fds);
    }
    if (leak) {
        if (want != NULL && !(want->allow & ALLOW_MAP_LEFT))
            ok = 0;
        addf(left, sizeof left, "a mapping stayed (its munmap was the failed "
             "call; the test removed it)");
    }

    if (want != NULL && rc != want->rc &&
        !(want->alt_rc != 0 && rc == want->alt_rc)) {
        ok = 0;
        addf(got, sizeof got, "want %s%s", want->rc == 0 ? "" : "-",
             want->rc == 0 ? "success" : errname(want->rc));
    }

    if (rc == 0) {
        switch (s->op) {
        case OP_OPEN: {
            /* An existing segment keeps its size; anything made here, or
             * completed by a hook, has seg_size. */
            size_t want_size = s->setup == S_EXISTING && !created
                               ? exist_size : seg_size;

            if (made == NULL || ushm_addr(made) == NULL) {
                ok = 0;
                addf(got, sizeof got, "no handle");
                break;
            }
            if (want != NULL && want->created >= 0 && created != want->created) {
                ok = 0;
                addf(got, sizeof got, "want created=%d", want->created);
            }
            /* A later handle sees whole pages on macOS. */
            if (created != 1)
                want_size = fc_size_seen(want_size);
            if (got_size != want_size) {
                ok = 0;
                addf(got, sizeof got, "size %zu, want %zu", got_size, want_size);
            }
            if (created == 1 && !s->anon) {
                /* What was made is whole, with exactly the mode asked. */
                mode_t want_mode = s->mode != 0 ? s->mode : 0600;
                int src = ushm_stat(cur.name, &st);

                if (src == 0 && (st.mode != want_mode || st.size != fc_size_seen(seg_size))) {
                    ok = 0;
                    addf(got, sizeof got, "made with mode 0%o and %zu bytes, "
                         "want 0%o and %zu", (unsigned)st.mode, st.size,
                         (unsigned)want_mode, seg_size);
                } else if (src != 0 && !(src == -ENOENT && cur.gone)) {
                    ok = 0;
                    addf(got, sizeof got, "ushm_stat of what was made: %s",
                         errname(src));
                }
            }
            if (maps_during != before.maps + 1) {
                ok = 0;
                addf(left, sizeof left, "%+d mappings while open",
                     maps_during - before.maps);
            }
            if (!(s->flags & USHM_RDONLY) &&
                fc_touch_all(ushm_addr(made), got_size, created, why,
                             sizeof why) < 0) {
                ok = 0;
                addf(got, sizeof got, "%s", why);
            }
            if (ushm_close(made) != 0) {
                ok = 0;
                addf(got, sizeof got, "ushm_close: %s", ushm_last_error());
            }
            made = NULL;
            if (fc_count_maps() != before.maps) {
                ok = 0;
                addf(left, sizeof left, "%+d mappings after close",
                     fc_count_maps() - before.maps);
            }
            break;
        }
        case OP_CLOSE:
            if (maps_during != before.maps - 1) {
                ok = 0;
                addf(left, sizeof left, "%+d mappings after close",
                     maps_during - (before.maps - 1));
            }
            break;
        case OP_UNLINK:
            if (ushm_stat(cur.name, &st) != -ENOENT) {
                ok = 0;
                addf(got, sizeof got, "the name is still there");
            }
            break;
        case OP_STAT:
            if (st.size != fc_size_seen(exist_size) || st.mode != 0640) {
                ok = 0;
                addf(got, sizeof got, "stat size %zu mode 0%o", st.size,
                     (unsigned)st.mode);
            }
            break;
        }
    } else {
        /* A failure: clean, named, and nothing left. */
        const char *label = s->anon ? "anonymous" : cur.name;

        if (s->op == OP_OPEN && made != NULL) {
            ok = 0;
            addf(got, sizeof got, "*shm not NULL");
            made = NULL;
        }
        if (strcmp(msg, sentinel) == 0 || msg[0] == '\0') {
            ok = 0;
            addf(got, sizeof got, "last_error not written");
        } else if (want != NULL && want->kw != NULL && strstr(msg, want->kw) == NULL) {
            ok = 0;
            addf(got, sizeof got, "last_error lacks '%s'", want->kw);
        } else if (strstr(msg, label) == NULL) {
            /* Known library gaps: "open(/dev/zero): ...", and the -ENOTSUP
             * of a build without SHM_HUGETLB/MAP_HUGETLB. */
            if (!((want != NULL && (want->allow & KNOWN_NO_LABEL)) ||
                  (rc == -ENOTSUP && strstr(msg, "built without") != NULL)))
                ok = 0;
            addf(got, sizeof got, "last_error lacks the segment '%s'%s", label,
                 ok ? " (KNOWN library gap)" : "");
        }
        if (maps_during != before.maps) {
            if (want != NULL && (want->allow & ALLOW_MAP_LEFT) &&
                maps_during == before.maps + (s->op == OP_CLOSE ? 0 : 1)) {
                addf(left, sizeof left, "mapping stays (its removal was the "
                     "failed call)");
            } else {
                ok = 0;
                addf(left, sizeof left, "%+d mappings", maps_during - before.maps);
            }
        }
        snap_sets(&after);
        for (int i = 0; i < after.ndev; i++) {
            const struct entry *b = find_dev(&before, after.dev[i].name);

            if (b != NULL && b->size == after.dev[i].size)
                continue;
            if (b == NULL && after.dev[i].size == 0 && want != NULL &&
                (want->allow & ALLOW_ZERO_LEFT)) {
                addf(left, sizeof left, "size-0 %s stays (its shm_unlink was "
                     "the failed call; API: counts as missing)",
                     after.dev[i].name);
                continue;
            }
            ok = 0;
            if (b == NULL)
                addf(left, sizeof left, "/dev/shm%s (%lld bytes)",
                     after.dev[i].name, after.dev[i].size);
            else
                addf(left, sizeof left, "/dev/shm%s went from %lld to %lld bytes",
                     after.dev[i].name, b->size, after.dev[i].size);
        }
        for (int i = 0; i < before.ndev; i++)
            if (before.dev[i].size != 0 && find_dev(&after, before.dev[i].name) == NULL) {
                ok = 0;
                addf(left, sizeof left, "existing %s was removed",
                     before.dev[i].name);
            }
        for (int i = 0; i < after.nsv; i++) {
            const struct sv_row *b = find_sv(&before, after.sv[i].id);

            if (b != NULL)
                continue;
            if (want != NULL && (want->allow & ALLOW_SYSV_LEFT)) {
                addf(left, sizeof left, "SysV id %d stays (its IPC_RMID was "
                     "the failed call)", after.sv[i].id);
                continue;
            }
            ok = 0;
            addf(left, sizeof left, "SysV id %d key 0x%08lx (%lu bytes)",
                 after.sv[i].id, (unsigned long)after.sv[i].key,
                 after.sv[i].size);
        }
        for (int i = 0; i < before.nsv; i++)
            if (find_sv(&after, before.sv[i].id) == NULL) {
                ok = 0;
                addf(left, sizeof left, "existing SysV id %d was removed",
                     before.sv[i].id);
            }
        if (s->op == OP_CLOSE && maps_during == before.maps) {
            /* The unmapping failed, so the test does it. */
            if (posix)
                __real_munmap(addr, len);
            else
                __real_shmdt(addr);
        }
    }
    {
        sigset_t now;

        pthread_sigmask(SIG_BLOCK, NULL, &now);
        if (!same_mask(&now, &before.mask)) {
            ok = 0;
            addf(left, sizeof left, "signal mask changed");
            pthread_sigmask(SIG_SETMASK, &before.mask, NULL);
        }
    }
    if (want != NULL && want->note != NULL)
        addf(got, sizeof got, "%s", want->note);
    if (left[0] == '\0')
        snprintf(left, sizeof left, "none");
    if (want == NULL) {
        /* The counting run: print the sequence. */
        char list[600] = "none (counting:";

        for (int i = 0; i < nseq; i++) {
            char c[80];

            describe_call(&seq[i], c, sizeof c);
            if (strlen(list) + strlen(c) + 3 < sizeof list) {
                strcat(list, " ");
                strcat(list, c);
            }
        }
        strcat(list, ")");
        fc_line("INJECT", ok, 4, s->label, list, got, left);
    } else {
        fc_line("INJECT", ok, 4, s->label, desc, got, left);
    }
    if (!ok) {
        char list[600] = "";

        for (int i = 0; i < nseq; i++) {
            char c[80];

            describe_call(&seq[i], c, sizeof c);
            if (strlen(list) + strlen(c) + 3 < sizeof list) {
                strcat(list, " ");
                strcat(list, c);
            }
        }
        printf("#   last_error: %s\n#   calls:%s\n", msg, list);
    }
    if (h != NULL && s->op != OP_CLOSE)
        ushm_close(h);
    teardown_case();
    return ok ? 0 : -1;
}

#if USHM_ATOMIC_PUBLISH
/*
 * run_case() in a child process, for the cases whose outcome the library
 * remembers for the rest of the process (which linkat() route works, that
 * O_TMPFILE does not): they must start from a process that has not created
 * anything yet, and leave the parent's choice alone.  POSIX only: the
 * child's SysV segments would not be recognised as this program's.
 */
static void run_case_forked(const struct scen *s, const struct inj *inj,
                            int ninj, const struct expect *want,
                            const char *desc)
{
    const char *name;
    int status;
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid == -1) {
        fc_line("INJECT", 0, 4, s->label, desc, strerror(errno), "-");
        return;
    }
    if (pid == 0) {
        int rc = run_case(s, inj, ninj, want, desc, NULL);

        fflush(stdout);
        _exit(rc == 0 ? 0 : 1);
    }
    name = new_name(); /* the one the child took */
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
        ;
    remove_name(name);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        fc_passed++;
    } else {
        fc_failed++;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
            printf("# %s: %s: the child ended with status 0x%x\n", s->label,
                   desc, status);
    }
}
#endif

/* ------------------------------------------------------------------ */
/* The systematic sweep.                                                */

static int sweep_errno(int fn, long detail)
{
    switch (fn) {
    case F_SHM_OPEN: return EMFILE;
    case F_SHM_UNLINK: return EACCES;
    case F_FSTAT: return EIO;
    case F_OPEN: return EMFILE;
    case F_LINKAT: return EIO;
    case F_LSTAT: return EIO;
    case F_ACCESS: return ENOENT;
    case F_PWRITE: return EIO;
    case F_FCHMOD: return EIO;
    case F_MMAP: return ENOMEM;
    case F_MUNMAP: return EINVAL;
    case F_MADVISE: return detail == MADV_HUGEPAGE ? EINVAL : ENOMEM;
    case F_FALLOCATE: return EIO;
    case F_FTRUNCATE: return EIO;
    case F_STATVFS: case F_FSTATVFS: return EIO;
    case F_CLOSE: return EIO;
    case F_SYSCONF: return EINVAL;
    case F_GETRLIMIT: return EINVAL;
    case F_FOPEN: return ENOENT;
    case F_MALLOC: return ENOMEM;
    case F_SHMGET: return (detail & IPC_CREAT) ? ENOMEM : EACCES;
    case F_SHMAT: return ENOMEM;
    case F_SHMDT: return EINVAL;
    case F_SHMCTL: return detail == IPC_STAT ? EACCES
                          : detail == IPC_SET || detail == IPC_RMID ? EPERM
                          : EINVAL;
    default: return 0;
    }
}

/* The call that, failing, only loses a hint or a clean-up. */
static int harmless(const struct call *c)
{
    switch (c->fn) {
    case F_CLOSE: case F_SYSCONF: case F_GETRLIMIT: case F_FOPEN:
    case F_STATVFS: case F_FSTATVFS:
        return 1;
    case F_LSTAT: /* ushm_unlink's look at what holds the name */
        return 1;
    case F_MADVISE:
        return c->detail == MADV_HUGEPAGE;
    case F_SHMCTL:
        return c->detail != IPC_STAT && c->detail != IPC_SET &&
               c->detail != IPC_RMID;
    default:
        return 0;
    }
}

static const char *keyword(int fn)
{
    return fn == F_MALLOC ? "out of memory" : fn_name[fn];
}

/* What failing call i of the counting run base with err must give. */
static void sweep_expect(const struct scen *s, const struct outcome *base,
                         int i, int err, struct expect *w)
{
    const struct call *c = &base->seq[i];

    memset(w, 0, sizeof *w);
    w->created = base->rc == 0 ? base->created : -1;
    w->rc = base->rc;
    if (err == EINTR)
        return; /* retried: as if nothing happened */
    if (c->fn == F_FOPEN) {
        int first_meminfo = 1;

        for (int j = 0; j < i; j++)
            if (base->seq[j].fn == F_FOPEN && strstr(base->seq[j].path, "meminfo"))
                first_meminfo = 0;
        if (posix && s->anon && (s->flags & USHM_HUGEPAGES) && first_meminfo &&
            strstr(c->path, "meminfo")) {
            /* No huge page size known: ENOTSUP instead of trying. */
            w->rc = -ENOTSUP;
            w->kw = "huge page size";
            w->created = -1;
        } else if (base->rc == 0 && (strstr(c->path, "mounts") ||
                                     strstr(c->path, "shmem_enabled"))) {
            w->alt_rc = -ENOTSUP; /* THP no longer seen as on */
        }
        return;
    }
    if (s->op == OP_OPEN && (c->fn == F_SHM_UNLINK ||
                             (base->rc != 0 && (c->fn == F_FSTAT ||
                                                c->fn == F_LSTAT)))) {
        /* Undoing a failed creation (the fallback removes the name it made
         * once fstat and lstat say it is still its own): the failure stays
         * the first one, and the size-0 name may stay. */
        w->allow = ALLOW_ZERO_LEFT;
        return;
    }
    if (c->fn == F_OPEN && strcmp(c->path, "/dev/zero") == 0)
        w->allow |= KNOWN_NO_LABEL; /* "open(/dev/zero): ..." (posix.c) */
    if (harmless(c))
        return;
    if (s->op == OP_OPEN && (c->fn == F_MUNMAP || c->fn == F_SHMDT)) {
        w->allow = ALLOW_MAP_LEFT;
        return;
    }
    w->rc = -err;
    w->kw = keyword(c->fn);
    w->created = -1;
    if (c->fn == F_SHMCTL && c->detail == IPC_RMID && s->op == OP_OPEN)
        w->allow = ALLOW_SYSV_LEFT;
    if (s->op == OP_CLOSE)
        w->allow = ALLOW_MAP_LEFT;
}

static int retried_on_eintr(const struct call *c)
{
    switch (c->fn) {
    case F_SHM_OPEN: case F_FALLOCATE: case F_FTRUNCATE: case F_PWRITE:
        return 1;
    case F_MADVISE:
        return is_populate(c->detail);
    default:
        return 0;
    }
}

static int baseline_ok(const struct scen *s, const struct outcome *o)
{
    if (o->rc == 0)
        return 1;
    /* Huge pages may be missing here: a clean refusal is a baseline too. */
    return (s->flags & USHM_HUGEPAGES) &&
           (o->rc == -ENOTSUP || o->rc == -ENOMEM || o->rc == -EPERM ||
            o->rc == -EINVAL || o->rc == -ENOSPC);
}

static struct outcome base;

static void sweep_scenario(const struct scen *s)
{
    if (s->posix_only && !posix)
        return;
    if (run_case(s, NULL, 0, NULL, "none", &base) < 0 || !baseline_ok(s, &base)) {
        printf("# %s: the counting run did not succeed (%s): no sweep\n",
               s->label, ushm_strerror(base.rc));
        fc_failed++;
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < base.nseq; i++) {
            const struct call *c = &base.seq[i];
            struct inj inj = { 0 };
            struct expect w;
            char desc[160], what[80];
            int nth = 0, err;

            if (c->fn == F_GETEUID)
                continue; /* cannot fail */
            if (pass == 1 && !retried_on_eintr(c))
                continue;
            for (int j = 0; j <= i; j++)
                if (base.seq[j].fn == c->fn)
                    nth++;
            err = pass == 0 ? sweep_errno(c->fn, c->detail) : EINTR;
            inj.fn = c->fn;
            inj.nth = nth;
            inj.count = pass == 0 ? 1 : 3;
            inj.err = err;
            inj.act = ACT_FAIL;
            sweep_expect(s, &base, i, err, &w);
            describe_call(c, what, sizeof what);
            snprintf(desc, sizeof desc, "%s #%d -> %s%s", what, nth,
                     errname(err), pass == 1 ? " x3" : "");
            run_case(s, &inj, 1, &w, desc, NULL);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Targeted cases.                                                      */

static struct inj I(int fn, int nth, int count, int err)
{
    struct inj i = { 0 };

    i.fn = fn;
    i.nth = nth;
    i.count = count;
    i.err = err;
    i.act = ACT_FAIL;
    return i;
}

static struct inj I_match(int fn, long mask, long value, int count, int err)
{
    struct inj i = I(fn, 1, count, err);

    i.mask = mask;
    i.value = value;
    return i;
}

static struct inj I_hook(int fn, int nth, void (*hook)(void))
{
    struct inj i = I(fn, nth, 1, 0);

    i.act = ACT_HOOK;
    i.hook = hook;
    return i;
}

static struct inj I_fopen(const char *path, const char *text, int err)
{
    struct inj i = I(F_FOPEN, 1, -1, err);

    i.path = path;
    if (text != NULL) {
        i.act = ACT_FAKE;
        i.text = text;
    }
    return i;
}

static struct inj I_count(int fn, long mask, long value)
{
    struct inj i = I_match(fn, mask, value, -1, 0);

    i.act = ACT_COUNT;
    return i;
}

static struct expect OK(int created)
{
    struct expect e = { 0 };

    e.created = created;
    return e;
}

static struct expect ERR(int err, const char *kw)
{
    struct expect e = { 0 };

    e.rc = -err;
    e.kw = kw;
    e.created = -1;
    return e;
}

/* Hooks: what another process does just before the library's call. */
static void hook_unlink(void)
{
    remove_name(cur.name);
    cur.gone = 1;
    snap_sets(cur.before);
}

/* Another program gives the empty object its size (shm_open + ftruncate,
 * the usual way), or the fallback's creator finishes. */
static void hook_complete(void)
{
    int fd = __real_shm_open(cur.name, O_RDWR, 0);

    if (fd != -1) {
        __real_ftruncate(fd, (sf_off_t)seg_size);
        __real_close(fd);
    }
    snap_sets(cur.before);
}

/* The name is removed, and another process makes a whole new segment. */
static void hook_replace(void)
{
    int fd;

    __real_shm_unlink(cur.name);
    fd = __real_shm_open(cur.name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd != -1) {
        __real_ftruncate(fd, (sf_off_t)seg_size);
        __real_close(fd);
    }
    snap_sets(cur.before);
}

#if USHM_ATOMIC_PUBLISH
/* Another program has just made the name with shm_open() and not yet
 * given it a size. */
static void hook_make_empty(void)
{
    int fd = __real_shm_open(cur.name, O_RDWR | O_CREAT | O_EXCL, 0600);

    if (fd != -1)
        __real_close(fd);
    snap_sets(cur.before);
}
#endif

#define RUN(s, e, desc, ...) do { \
        const struct inj injs_[] = { __VA_ARGS__ }; \
        const struct expect e_ = e; \
        run_case(&(s), injs_, (int)(sizeof injs_ / sizeof injs_[0]), &e_, \
                 desc, NULL); \
    } while (0)
/* Only where objects are files on a tmpfs under /dev/shm (Linux): cases
 * that inject into statvfs, lstat or /proc's word on its huge pages.
 * Under a system personality they say why they are skipped. */
#define RUN_FILES(s, e, desc, ...) do { \
        if (fc_objects_are_files()) \
            RUN(s, e, desc, __VA_ARGS__); \
        else \
            printf("# SKIP %s: objects are no files under /dev/shm on %s\n", \
                   desc, fc_personality()); \
    } while (0)
/* Cases of what macOS never does to an object (fchmod it, write zeros
 * into it): skipped under its personality, saying so. */
#define RUN_NOT_MACOS(why, s, e, desc, ...) do { \
        if (IS_MACOS()) \
            printf("# SKIP %s: macOS %s\n", desc, why); \
        else \
            RUN(s, e, desc, __VA_ARGS__); \
    } while (0)
/* What an ENOSPC message names: the room left where it can be measured
 * (a tmpfs under /dev/shm), else only the call. */
#define ROOM(kw, call) (fc_objects_are_files() ? (kw) : (call))
#define RUN0(s, e, desc) do { \
        const struct expect e_ = e; \
        run_case(&(s), NULL, 0, &e_, desc, NULL); \
    } while (0)
#define RUN_FORKED(s, e, desc, ...) do { \
        const struct inj injs_[] = { __VA_ARGS__ }; \
        const struct expect e_ = e; \
        run_case_forked(&(s), injs_, (int)(sizeof injs_ / sizeof injs_[0]), \
                        &e_, desc); \
    } while (0)

static const struct scen sc_create = {
    "create named", OP_OPEN, S_NONE, 0, 1, USHM_CREATE | USHM_EXCL, 0640, 0 };
static const struct scen sc_create_0400 = {
    "create named 0400", OP_OPEN, S_NONE, 0, 1, USHM_CREATE | USHM_EXCL,
    0400, 0 };
static const struct scen sc_create_noexcl = {
    "create named (no EXCL)", OP_OPEN, S_NONE, 0, 1, USHM_CREATE, 0640, 0 };
static const struct scen sc_open = {
    "open existing", OP_OPEN, S_EXISTING, 0, 0, 0, 0, 0 };
static const struct scen sc_open_ro = {
    "open existing RDONLY", OP_OPEN, S_EXISTING, 0, 0, USHM_RDONLY, 0, 0 };
static const struct scen sc_open_or_create = {
    "open-or-create existing", OP_OPEN, S_EXISTING, 0, 1, USHM_CREATE, 0640, 0 };
static const struct scen sc_half = {
    "open-or-create size-0 object", OP_OPEN, S_HALF, 0, 1, USHM_CREATE, 0640,
    1 };
static const struct scen sc_half_excl = {
    "create EXCL over size-0 object", OP_OPEN, S_HALF, 0, 1,
    USHM_CREATE | USHM_EXCL, 0640, 1 };
static const struct scen sc_half_open = {
    "open size-0 object", OP_OPEN, S_HALF, 0, 0, 0, 0, 1 };
static const struct scen sc_half_stat = {
    "stat size-0 object", OP_STAT, S_HALF, 0, 0, 0, 0, 1 };
static const struct scen sc_anon = {
    "anonymous", OP_OPEN, S_NONE, 1, 1, USHM_CREATE, 0640, 0 };
static const struct scen sc_populate = {
    "create POPULATE", OP_OPEN, S_NONE, 0, 1,
    USHM_CREATE | USHM_EXCL | USHM_POPULATE, 0640, 0 };
static const struct scen sc_anon_populate = {
    "anonymous POPULATE", OP_OPEN, S_NONE, 1, 1,
    USHM_CREATE | USHM_POPULATE, 0640, 0 };
static const struct scen sc_ro_populate = {
    "open RDONLY POPULATE", OP_OPEN, S_EXISTING, 0, 0,
    USHM_RDONLY | USHM_POPULATE, 0, 0 };
static const struct scen sc_huge = {
    "create HUGEPAGES", OP_OPEN, S_NONE, 0, 1,
    USHM_CREATE | USHM_EXCL | USHM_HUGEPAGES, 0640, 0 };
static const struct scen sc_anon_huge = {
    "anonymous HUGEPAGES", OP_OPEN, S_NONE, 1, 1,
    USHM_CREATE | USHM_HUGEPAGES, 0640, 0 };
static const struct scen sc_close = {
    "close", OP_CLOSE, S_OPEN, 0, 0, 0, 0, 0 };
static const struct scen sc_close_anon = {
    "close anonymous", OP_CLOSE, S_OPEN_ANON, 1, 0, 0, 0, 0 };
static const struct scen sc_unlink = {
    "unlink", OP_UNLINK, S_EXISTING, 0, 0, 0, 0, 0 };
static const struct scen sc_stat = {
    "stat", OP_STAT, S_EXISTING, 0, 0, 0, 0, 0 };

/* The size-0 cases wait for a size (a second each when none comes), so
 * they are targeted below rather than swept. */
static const struct scen *const sweeps[] = {
    &sc_create, &sc_create_0400, &sc_open, &sc_open_ro, &sc_open_or_create,
    &sc_anon, &sc_populate, &sc_anon_populate, &sc_ro_populate, &sc_huge,
    &sc_anon_huge, &sc_close, &sc_close_anon, &sc_unlink, &sc_stat,
};

static struct inj I_fake_euid(void)
{
    struct inj i = I(F_GETEUID, 1, -1, 0);

    i.act = ACT_FAKE;
    return i;
}

#if USHM_ATOMIC_PUBLISH
/* Did the last creation link with AT_EMPTY_PATH (the privileged route)? */
static int route_empty_path;

/*
 * The atomic protocol's choices that stick for the rest of a process: the
 * first creation finds out which linkat() route the kernel allows, and an
 * O_TMPFILE that the mount refuses sends the process to the fallback.  Each
 * case runs in a child forked before this program has created anything.
 */
static void targeted_fresh_process(void)
{
    static const int no_tmpfile[] = { EOPNOTSUPP, EISDIR, EINVAL };
    static const char *const no_tmpfile_name[] = { "EOPNOTSUPP", "EISDIR",
                                                   "EINVAL" };

    for (size_t i = 0; i < sizeof no_tmpfile / sizeof no_tmpfile[0]; i++) {
        char desc[120];

        snprintf(desc, sizeof desc, "open(O_TMPFILE) -> %s (the fallback: "
                 "shm_open(O_EXCL))", no_tmpfile_name[i]);
        RUN_FORKED(sc_create, OK(1), desc,
                   I_match(F_OPEN, O_TMPFILE, O_TMPFILE, 1, no_tmpfile[i]),
                   I_count(F_SHM_OPEN, O_EXCL, O_EXCL));
    }
    RUN_FORKED(sc_create, OK(1),
               "linkat(AT_EMPTY_PATH) -> ENOENT (unprivileged): "
               "linkat(/proc/self/fd) links it",
               I_match(F_LINKAT, AT_EMPTY_PATH, AT_EMPTY_PATH, 1, ENOENT),
               I_count(F_LINKAT, AT_EMPTY_PATH, 0));
    RUN_FORKED(sc_create_noexcl, OK(1),
               "linkat(AT_EMPTY_PATH) -> ENOENT, linkat(/proc/self/fd) -> "
               "EEXIST, name missing when joined (retried: made)",
               I_match(F_LINKAT, AT_EMPTY_PATH, AT_EMPTY_PATH, 1, ENOENT),
               I_match(F_LINKAT, AT_EMPTY_PATH, 0, 1, EEXIST));
    RUN_FORKED(sc_create, ERR(EIO, "linkat"),
               "linkat(AT_EMPTY_PATH) -> ENOENT, linkat(/proc/self/fd) -> EIO",
               I_match(F_LINKAT, AT_EMPTY_PATH, AT_EMPTY_PATH, 1, ENOENT),
               I_match(F_LINKAT, AT_EMPTY_PATH, 0, 1, EIO));
    RUN_FORKED(sc_create, ERR(ENOENT, "linkat"),
               "linkat -> ENOENT on both routes, /proc/self/fd there",
               I(F_LINKAT, 1, 2, ENOENT), I_count(F_ACCESS, 0, 0));
    RUN_FORKED(sc_create, OK(1),
               "linkat -> ENOENT on both routes, access(/proc/self/fd) -> "
               "ENOENT (no /proc: the fallback)",
               I(F_LINKAT, 1, 2, ENOENT), I(F_ACCESS, 1, 1, ENOENT),
               I_count(F_SHM_OPEN, O_EXCL, O_EXCL));
}

/* Create once, counting, to learn which linkat() route this process uses. */
static void settle_link_route(void)
{
    ushm_t *h = NULL;
    const char *name = new_name();

    nplan = 0;
    nseq = 0;
    armed = 1;
    ushm_open(&h, name, seg_size, USHM_CREATE | USHM_EXCL, 0600);
    armed = 0;
    ushm_close(h);
    remove_name(name);
    for (int i = 0; i < nseq; i++)
        if (seq[i].fn == F_LINKAT)
            route_empty_path = (seq[i].detail & AT_EMPTY_PATH) != 0;
    printf("# linkat route: %s\n", route_empty_path ? "AT_EMPTY_PATH"
           : "/proc/self/fd");
}

static void targeted_atomic(void)
{
    /* The unnamed object: open(O_TMPFILE) and its limits. */
    RUN(sc_create, ERR(ENOSPC, "free inodes"), "open(O_TMPFILE) -> ENOSPC",
        I(F_OPEN, 1, -1, ENOSPC));
    RUN(sc_create, ERR(ENOSPC, NULL), "open(O_TMPFILE) -> ENOSPC, statvfs -> EIO",
        I(F_OPEN, 1, -1, ENOSPC), I(F_STATVFS, 1, -1, EIO));
    RUN(sc_create, ERR(EMFILE, "O_TMPFILE"), "open(O_TMPFILE) -> EMFILE",
        I(F_OPEN, 1, 1, EMFILE));
    RUN(sc_create_noexcl, ERR(ENFILE, "O_TMPFILE"), "open(O_TMPFILE) -> ENFILE",
        I(F_OPEN, 1, 1, ENFILE));
    RUN(sc_create, ERR(EACCES, "O_TMPFILE"), "open(O_TMPFILE) -> EACCES",
        I(F_OPEN, 1, 1, EACCES));

    /* Linking it into place. */
    RUN(sc_create, ERR(ENOSPC, "bytes free"), "linkat -> ENOSPC",
        I(F_LINKAT, 1, -1, ENOSPC));
    RUN(sc_create, ERR(EEXIST, NULL), "linkat -> EEXIST (another's name)",
        I(F_LINKAT, 1, 1, EEXIST));
    RUN(sc_create_noexcl, OK(1),
        "linkat -> EEXIST once, name missing when joined (retried: made)",
        I(F_LINKAT, 1, 1, EEXIST));
    RUN(sc_create_noexcl, ERR(EAGAIN, "made again"),
        "linkat -> EEXIST, shm_open(O_RDWR) -> ENOENT, always",
        I(F_LINKAT, 1, -1, EEXIST), I(F_SHM_OPEN, 1, -1, ENOENT));

    /* Races: another process takes the name while the segment is built. */
    RUN(sc_create_noexcl, OK(0),
        "hook: another process makes it whole before linkat #1 (joins)",
        I_hook(F_LINKAT, 1, hook_replace));
    RUN(sc_create, ERR(EEXIST, NULL),
        "hook: another process makes it whole before linkat #1",
        I_hook(F_LINKAT, 1, hook_replace));
    RUN(sc_create_noexcl, ERR(EAGAIN, "empty object"),
        "hook: another program's shm_open makes it (size 0) before linkat #1, "
        "never sized (waits 1 s; left alone)",
        I_hook(F_LINKAT, 1, hook_make_empty));
    RUN(sc_create_noexcl, OK(0),
        "hook: another program's shm_open makes it (size 0) before linkat #1, "
        "sized before fstat #2 (joins)",
        I_hook(F_LINKAT, 1, hook_make_empty), I_hook(F_FSTAT, 2, hook_complete));
}
#else
static struct expect ERR_ALLOW(int err, const char *kw, int allow)
{
    struct expect e = ERR(err, kw);

    e.allow = allow;
    return e;
}

static void targeted_fallback(void)
{
    /* The name made with O_EXCL, and its limits. */
    RUN(sc_create, ERR(ENOSPC, ROOM("free inodes", "shm_open")), "shm_open(O_EXCL) -> ENOSPC",
        I(F_SHM_OPEN, 1, -1, ENOSPC));
    RUN_FILES(sc_create, ERR(ENOSPC, "shm_open"),
        "shm_open(O_EXCL) -> ENOSPC, statvfs -> EIO",
        I(F_SHM_OPEN, 1, -1, ENOSPC), I(F_STATVFS, 1, -1, EIO));
    RUN(sc_create, ERR(ENFILE, "shm_open"), "shm_open(O_EXCL) -> ENFILE",
        I(F_SHM_OPEN, 1, 1, ENFILE));
    RUN(sc_create_noexcl, ERR(EAGAIN, "made again"),
        "shm_open(O_EXCL) -> EEXIST, shm_open(O_RDWR) -> ENOENT, always",
        I_match(F_SHM_OPEN, O_EXCL, O_EXCL, -1, EEXIST),
        I_match(F_SHM_OPEN, O_EXCL, 0, -1, ENOENT));

    /* A failed creation removes its name, and only while it is its own. */
#if HAVE_POSIX_FALLOCATE
    /* Short of room it stays (statvfs cannot say the room is back, which
     * would send it to join its own empty leftover). */
    if (fc_objects_are_files())
        RUN(sc_create_noexcl, ERR_ALLOW(ENOSPC, "bytes free", ALLOW_ZERO_LEFT),
            "posix_fallocate -> ENOSPC, shm_unlink -> EACCES, statvfs -> EIO",
            I(F_FALLOCATE, 1, -1, ENOSPC), I(F_SHM_UNLINK, 1, 1, EACCES),
            I(F_STATVFS, 1, -1, EIO));
    else
        RUN(sc_create_noexcl, ERR_ALLOW(ENOSPC, "posix_fallocate", ALLOW_ZERO_LEFT),
            "posix_fallocate -> ENOSPC, shm_unlink -> EACCES",
            I(F_FALLOCATE, 1, -1, ENOSPC), I(F_SHM_UNLINK, 1, 1, EACCES));
    /* Another's whole segment holds the name once there was no room:
     * USHM_EXCL's answer is then -EEXIST (API 0.3: creators racing for
     * little room join, and -ENOSPC is for a segment that truly does not
     * fit). */
    RUN(sc_create, ERR(EEXIST, NULL),
        "hook: name replaced by another's before posix_fallocate #1, "
        "posix_fallocate -> ENOSPC (the other's must stay)",
        I_hook(F_FALLOCATE, 1, hook_replace), I(F_FALLOCATE, 1, -1, ENOSPC));
#endif
    /* The object itself says whether the name is still its own (fstat of
     * it, then of what the name opens), wherever objects are kept. */
    RUN_NOT_MACOS("gives the mode to shm_open, never fchmod",
        sc_create_noexcl, ERR_ALLOW(EIO, "fchmod", ALLOW_ZERO_LEFT),
        "fchmod -> EIO, fstat -> EIO (cannot tell it is its own: kept)",
        I(F_FCHMOD, 1, 1, EIO), I(F_FSTAT, 1, 1, EIO));
    RUN_NOT_MACOS("gives the mode to shm_open, never fchmod",
        sc_create, ERR(EIO, "fchmod"),
        "hook: name replaced by another's before fchmod #1, fchmod -> EIO "
        "(the other's must stay)",
        I_hook(F_FCHMOD, 1, hook_replace), I(F_FCHMOD, 1, 1, EIO));
    RUN_NOT_MACOS("gives the mode to shm_open, never fchmod",
        sc_create, OK(1), "hook: name removed before fchmod #1 (made it: goes on)",
        I_hook(F_FCHMOD, 1, hook_unlink));
}
#endif

static void targeted_posix(void)
{
#if HAVE_POSIX_FALLOCATE
    /* posix_fallocate: the memory is reserved, or the creation fails. */
    /* A file system without fallocate: a zero written into every page. */
    RUN(sc_create, OK(1),
        "posix_fallocate -> EOPNOTSUPP (ftruncate and a zero per page instead)",
        I(F_FALLOCATE, 1, 1, EOPNOTSUPP));
    RUN(sc_create, ERR(ENOSPC, ROOM("bytes free", "pwrite")),
        "posix_fallocate -> EOPNOTSUPP, pwrite -> ENOSPC",
        I(F_FALLOCATE, 1, -1, EOPNOTSUPP), I(F_PWRITE, 1, -1, ENOSPC));
    RUN(sc_create, ERR(EINVAL, "posix_fallocate"), "posix_fallocate -> EFBIG",
        I(F_FALLOCATE, 1, 1, EFBIG));
    RUN(sc_create, ERR(ENOSPC, ROOM("bytes free", "posix_fallocate")), "posix_fallocate -> ENOSPC",
        I(F_FALLOCATE, 1, -1, ENOSPC));
    RUN(sc_create_noexcl, ERR(ENOSPC, ROOM("bytes free", "posix_fallocate")),
        "posix_fallocate -> ENOSPC (no EXCL)", I(F_FALLOCATE, 1, -1, ENOSPC));
    RUN_FILES(sc_create, ERR(ENOSPC, "posix_fallocate"),
        "posix_fallocate -> ENOSPC, fstatvfs -> EIO",
        I(F_FALLOCATE, 1, -1, ENOSPC), I(F_FSTATVFS, 1, -1, EIO));
    RUN(sc_create, ERR(ENOMEM, "posix_fallocate"), "posix_fallocate -> ENOMEM",
        I(F_FALLOCATE, 1, 1, ENOMEM));
    RUN(sc_create, OK(1), "posix_fallocate -> EINTR x1",
        I(F_FALLOCATE, 1, 1, EINTR));
#else
    /* Without posix_fallocate: ftruncate, then a zero into every page. */
    RUN_NOT_MACOS("reserves no memory at creation", sc_create, ERR(ENOSPC, ROOM("bytes free", "pwrite")), "pwrite #2 -> ENOSPC",
        I(F_PWRITE, 2, -1, ENOSPC));
    RUN_NOT_MACOS("reserves no memory at creation", sc_create, ERR(EINVAL, "pwrite"), "pwrite #1 -> EFBIG",
        I(F_PWRITE, 1, 1, EFBIG));
    RUN_NOT_MACOS("reserves no memory at creation", sc_create, ERR(EIO, "pwrite"), "pwrite #3 -> EIO",
        I(F_PWRITE, 3, 1, EIO));
    RUN_NOT_MACOS("reserves no memory at creation", sc_create, OK(1), "pwrite #2 -> EINTR x2",
        I(F_PWRITE, 2, 2, EINTR));
#endif
    /* RLIMIT_FSIZE below the size: refused before anything is made. */
    RUN(sc_create, ERR(EINVAL, "RLIMIT_FSIZE"),
        "getrlimit(RLIMIT_FSIZE) -> 4096 bytes (no SIGXFSZ, nothing made)",
        (struct inj){ .fn = F_GETRLIMIT, .mask = -1, .value = RLIMIT_FSIZE,
                      .nth = 1, .count = -1, .act = ACT_FAKE });

    /* Joining: the answers that mean a race. */
    RUN(sc_open_or_create, OK(0),
        "shm_open(O_RDWR) -> ENOENT once (removed meanwhile: retried)",
        I_match(F_SHM_OPEN, O_EXCL, 0, 1, ENOENT));
    RUN(sc_stat, OK(-1), "shm_open(O_RDONLY) -> EINTR x5",
        I(F_SHM_OPEN, 1, 5, EINTR));
    RUN(sc_open_or_create, ERR(EPERM, "belongs to uid"),
        "geteuid -> another uid (existing object of another user)",
        I_fake_euid());

    /* A size-0 object that libushm did not make: never taken over. */
    RUN0(sc_half, ERR(EAGAIN, "empty object"),
         "no injection: never sized (waits 1 s; left alone at size 0)");
    RUN(sc_half, OK(0), "hook: another program sizes it before fstat #2 (joins)",
        I_hook(F_FSTAT, 2, hook_complete), I_count(F_SHM_OPEN, O_EXCL, 0));
    RUN(sc_half, OK(0), "hook: another program sizes it before fstat #4 (joins)",
        I_hook(F_FSTAT, 4, hook_complete));
    RUN(sc_half, OK(1), "hook: removed before fstat #2 (retried: made)",
        I_hook(F_FSTAT, 2, hook_unlink));
    RUN(sc_half, ERR(EIO, "fstat"), "fstat #2 -> EIO (while waiting)",
        I(F_FSTAT, 2, 1, EIO));
    RUN(sc_half, ERR(EPERM, "belongs to uid"),
        "geteuid -> another uid, hook: sized before fstat #2 (another "
        "user's object: not joined)",
        I_hook(F_FSTAT, 2, hook_complete), I_fake_euid());
    RUN0(sc_half_excl, ERR(EEXIST, NULL), "no injection");
    RUN0(sc_half_open, ERR(ENOENT, "empty"), "no injection");
    RUN0(sc_half_stat, ERR(ENOENT, "empty"), "no injection");

    /* Huge pages: transparent huge pages on /dev/shm, as /proc tells. */
#if HAVE_DECL_MADV_HUGEPAGE
    RUN_FILES(sc_huge, OK(1), "fopen(shmem_enabled) -> \"[force]\"",
        I_fopen("/proc/self/mounts", "tmpfs /dev/shm tmpfs rw 0 0\n", 0),
        I_fopen("shmem_enabled", "always within_size advise never deny [force]\n", 0),
        I_count(F_MADVISE, -1, MADV_HUGEPAGE));
    RUN_FILES(sc_huge, OK(1), "fopen(shmem_enabled) -> \"[force]\", madvise(MADV_HUGEPAGE) -> EINVAL",
        I_fopen("/proc/self/mounts", "tmpfs /dev/shm tmpfs rw 0 0\n", 0),
        I_fopen("shmem_enabled", "always within_size advise never deny [force]\n", 0),
        I_match(F_MADVISE, -1, MADV_HUGEPAGE, 1, EINVAL));
#else
    RUN_FILES(sc_huge, OK(1), "fopen(shmem_enabled) -> \"[force]\" (no MADV_HUGEPAGE)",
        I_fopen("/proc/self/mounts", "tmpfs /dev/shm tmpfs rw 0 0\n", 0),
        I_fopen("shmem_enabled", "always within_size advise never deny [force]\n", 0));
#endif
    RUN_FILES(sc_huge, OK(1), "fopen(mounts) -> \"huge=within_size\", fopen(shmem_enabled) -> ENOENT",
        I_fopen("/proc/self/mounts",
                "proc /proc proc rw 0 0\ntmpfs /dev/shm tmpfs rw,huge=within_size 0 0\n", 0),
        I_fopen("shmem_enabled", NULL, ENOENT));
    RUN_FILES(sc_huge, ERR(ENOTSUP, "huge"),
        "fopen(mounts) -> \"huge=always\", fopen(shmem_enabled) -> \"[deny]\"",
        I_fopen("/proc/self/mounts", "tmpfs /dev/shm tmpfs rw,huge=always 0 0\n", 0),
        I_fopen("shmem_enabled", "always within_size advise never [deny] force\n", 0));
#if HAVE_DECL_MAP_HUGETLB && HAVE_DECL_MAP_ANONYMOUS
    RUN(sc_anon_huge, OK(1), "mmap(MAP_HUGETLB) -> plain pages (as if reserved)",
        (struct inj){ .fn = F_MMAP, .mask = MAP_HUGETLB, .value = MAP_HUGETLB,
                      .nth = 1, .count = 1, .act = ACT_FAKE });
    {
        struct inj hint = I_fopen("/proc/meminfo", NULL, ENOENT);

        hint.nth = 2; /* the first one gives the huge page size */
        RUN(sc_anon_huge, ERR(ENOMEM, "mmap"),
            "mmap(MAP_HUGETLB) -> ENOMEM, fopen(meminfo) #2.. -> ENOENT",
            I_match(F_MMAP, MAP_HUGETLB, MAP_HUGETLB, 1, ENOMEM), hint);
    }
#endif
    RUN(sc_anon, ERR(ENOMEM, "mmap"), "mmap(MAP_ANONYMOUS) -> ENOMEM, getrlimit -> EINVAL",
        I(F_MMAP, 1, 1, ENOMEM), I(F_GETRLIMIT, 1, 1, EINVAL));
}

static void targeted_sysv(void)
{
    /* shmget: which limit a creation hit. */
#if HAVE_DECL_SHM_INFO
    RUN(sc_create, ERR(ENOSPC, "kernel.shmmni"),
        "shmget(IPC_EXCL) -> ENOSPC, shmctl(SHM_INFO) -> EINVAL",
        I_match(F_SHMGET, IPC_EXCL, IPC_EXCL, 1, ENOSPC),
        I_match(F_SHMCTL, -1, SHM_INFO, 1, EINVAL));
#else
    RUN(sc_create, ERR(ENOSPC, "kernel.shmmni"),
        "shmget(IPC_EXCL) -> ENOSPC (built without SHM_INFO)",
        I_match(F_SHMGET, IPC_EXCL, IPC_EXCL, 1, ENOSPC));
#endif
    RUN(sc_create, ERR(ENOSPC, "shmget"),
        "shmget(IPC_EXCL) -> ENOSPC, fopen(/proc/sys) -> ENOENT",
        I_match(F_SHMGET, IPC_EXCL, IPC_EXCL, 1, ENOSPC),
        I_fopen("/proc/sys/kernel", NULL, ENOENT));
    RUN(sc_create, ERR(EINVAL, "shmget"), "shmget(IPC_EXCL) -> EINVAL (under shmmax)",
        I_match(F_SHMGET, IPC_EXCL, IPC_EXCL, 1, EINVAL));
    RUN(sc_create, ERR(EACCES, "shmget"), "shmget(IPC_EXCL) -> EACCES",
        I_match(F_SHMGET, IPC_EXCL, IPC_EXCL, 1, EACCES));
    RUN(sc_anon, ERR(ENOMEM, "shmget"), "shmget(IPC_PRIVATE) -> ENOMEM",
        I(F_SHMGET, 1, 1, ENOMEM));

    /* shmat/shmctl answers that mean "removed meanwhile", real and faked. */
    RUN(sc_create, OK(1), "hook: segment removed before shmat #1 (retried)",
        I_hook(F_SHMAT, 1, hook_unlink));
    RUN(sc_create, ERR(EINVAL, "shmat"), "shmat #1 -> EINVAL (segment still there)",
        I(F_SHMAT, 1, 1, EINVAL));
    /* Only a mode without owner rw is made 0600 and set by IPC_SET. */
    RUN(sc_create_0400, OK(1),
        "hook: segment removed before shmctl(IPC_STAT) #1 -> EIDRM (retried)",
        I_hook(F_SHMCTL, 1, hook_unlink),
        I_match(F_SHMCTL, -1, IPC_STAT, 1, EIDRM));
    RUN(sc_create_0400, OK(1),
        "hook: segment removed before shmctl(IPC_SET) (made it: goes on)",
        (struct inj){ .fn = F_SHMCTL, .mask = -1, .value = IPC_SET, .nth = 1,
                      .count = 1, .act = ACT_HOOK, .hook = hook_unlink });
    RUN(sc_open, ERR(ENOENT, "shmget"),
        "hook: segment removed before shmctl(IPC_STAT) #1",
        I_hook(F_SHMCTL, 1, hook_unlink));
    RUN(sc_open_or_create, OK(1),
        "hook: segment removed before shmctl(IPC_STAT) #1 (made again)",
        I_hook(F_SHMCTL, 1, hook_unlink));
    RUN(sc_open, ERR(ENOENT, "shmget"), "hook: segment removed before shmat #1",
        I_hook(F_SHMAT, 1, hook_unlink));
    RUN(sc_open, OK(0), "shmat #1 -> EIDRM once (retried)",
        I(F_SHMAT, 1, 1, EIDRM));
    RUN(sc_open, OK(0), "shmctl(IPC_STAT) #1 -> EINVAL once (retried)",
        I_match(F_SHMCTL, -1, IPC_STAT, 1, EINVAL));
    RUN(sc_create_noexcl, ERR(EAGAIN, "made again"),
        "shmget(IPC_EXCL) -> EEXIST, shmget(lookup) -> ENOENT, always",
        I_match(F_SHMGET, IPC_EXCL, IPC_EXCL, -1, EEXIST),
        I_match(F_SHMGET, IPC_EXCL, 0, -1, ENOENT));
    RUN(sc_unlink, ERR(ENOENT, "shmctl"), "shmctl(IPC_RMID) -> EIDRM",
        I_match(F_SHMCTL, -1, IPC_RMID, 1, EIDRM));
    RUN(sc_stat, ERR(ENOENT, "shmctl"), "shmctl(IPC_STAT) -> EINVAL",
        I_match(F_SHMCTL, -1, IPC_STAT, 1, EINVAL));
    RUN(sc_open_or_create, ERR(EPERM, "belongs to uid"),
        "geteuid -> another uid (existing segment of another user)",
        I_fake_euid());
}

static void targeted_common(void)
{
    /* USHM_POPULATE: a kernel without MADV_POPULATE_* answers EINVAL, and
     * the pages are touched one by one instead; EFAULT (a page could not
     * be had) is -ENOSPC naming /dev/shm's free space, or -ENOMEM. */
#if HAVE_DECL_MADV_POPULATE_WRITE && HAVE_DECL_MADV_POPULATE_READ
    RUN(sc_populate, OK(1), "madvise(MADV_POPULATE_WRITE) -> EINVAL (page walk)",
        I_match(F_MADVISE, -1, MADV_POPULATE_WRITE, 1, EINVAL));
    RUN(sc_populate, OK(1),
        "madvise(MADV_POPULATE_WRITE) -> EINVAL, sysconf -> EINVAL (page walk)",
        I_match(F_MADVISE, -1, MADV_POPULATE_WRITE, 1, EINVAL),
        I(F_SYSCONF, 1, -1, EINVAL));
    RUN(sc_ro_populate, OK(0), "madvise(MADV_POPULATE_READ) -> EINVAL (page walk)",
        I_match(F_MADVISE, -1, MADV_POPULATE_READ, 1, EINVAL));
    if (posix) {
        RUN(sc_populate, ERR(ENOSPC, "bytes free"),
            "madvise(MADV_POPULATE_WRITE) -> EFAULT (the name is removed)",
            I(F_MADVISE, 1, 1, EFAULT));
        RUN(sc_populate, ERR(ENOMEM, "could not allocate"),
            "madvise(MADV_POPULATE_WRITE) -> EFAULT, statvfs -> EIO",
            I(F_MADVISE, 1, 1, EFAULT), I(F_STATVFS, 1, 1, EIO));
        RUN(sc_ro_populate, ERR(ENOSPC, "bytes free"),
            "madvise(MADV_POPULATE_READ) -> EFAULT (the segment stays)",
            I(F_MADVISE, 1, 1, EFAULT));
    } else {
        RUN(sc_populate, ERR(ENOMEM, "could not allocate"),
            "madvise(MADV_POPULATE_WRITE) -> EFAULT (the segment is removed)",
            I(F_MADVISE, 1, 1, EFAULT));
        RUN(sc_ro_populate, ERR(ENOMEM, "could not allocate"),
            "madvise(MADV_POPULATE_READ) -> EFAULT (the segment stays)",
            I(F_MADVISE, 1, 1, EFAULT));
    }
    RUN(sc_anon_populate, ERR(ENOMEM, "could not allocate"),
        "madvise(MADV_POPULATE_WRITE) -> EFAULT",
        I(F_MADVISE, 1, 1, EFAULT));
#endif
    RUN(sc_anon, ERR(ENOMEM, "out of memory"), "malloc -> ENOMEM",
        I(F_MALLOC, 1, 1, ENOMEM));
}

int main(void)
{
    struct sigaction sa;
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM, SIGSEGV,
                                SIGBUS, SIGABRT };

    fc_check_backend("syscall-faults");
    main_pid = getpid();
    posix = fc_is_posix();
    snprintf(prefix, sizeof prefix, "sf%ld_", (long)main_pid);
    page = (size_t)sysconf(_SC_PAGESIZE);
    seg_size = 3 * page + 100;      /* not a whole number of pages */
    exist_size = 5 * page + 7;
    /* shm_open() applies the umask; the library must fchmod() to the mode. */
    umask(077);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    atexit(sweep_all);
    alarm(300);

    printf("# syscall-faults: backend %s, pid %ld, segments of %zu bytes, "
           "POSIX creation protocol: %s\n", ushm_backend(), (long)main_pid,
           seg_size, USHM_ATOMIC_PUBLISH ? "atomic (O_TMPFILE + linkat)"
           : "fallback (shm_open O_EXCL)");
#if USHM_ATOMIC_PUBLISH
    if (posix) {
        /* Before this process creates anything. */
        targeted_fresh_process();
        settle_link_route();
    }
#endif
    for (size_t i = 0; i < sizeof sweeps / sizeof sweeps[0]; i++) {
        sweep_scenario(sweeps[i]);
    }
    if (posix) {
#if USHM_ATOMIC_PUBLISH
        targeted_atomic();
#else
        targeted_fallback();
#endif
        targeted_posix();
    } else {
        targeted_sysv();
    }
    targeted_common();

    sweep_all();
    {
        char list[256];

        if (fc_count_devshm(prefix, list, sizeof list) != 0) {
            printf("# left in /dev/shm: %s\n", list);
            fc_failed++;
        }
        if (sysv_rows((struct sv_row[4]){ { 0 } }, 4) != 0) {
            printf("# SysV segments of this process left\n");
            fc_failed++;
        }
    }
    return fc_finish();
}
