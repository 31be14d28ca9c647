/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the robustness programs (tests/faults.c, tests/crash.c,
 * tests/stress.c): errno names, counting what a process or the system holds
 * (descriptors, mappings, /dev/shm entries, SysV segments), touching every
 * byte of a segment in a child, private namespaces, and the result lines.
 * The conformance suite (tests/conformance/common.h) includes it too.
 *
 * Each program prints one machine-readable line per case; fields never
 * contain '|' (line_field() replaces it), so a script can split them:
 *   FAULT|<backend>|<case>|<how induced>|<expected>|<got>|<leftovers>|<PASS/FAIL>
 *   CRASH|<backend>|<case>|<how induced>|<figures>|<leftovers>|<PASS/FAIL>
 *   STRESS|<backend>|<case>|<how induced>|<figures>|<leftovers>|<PASS/FAIL>
 * Lines starting with '#' are for people, but "# SKIP <case>: <why>" is a
 * case that could not run here, which make check counts as a skip
 * (tests/case-driver.sh).  The last line is "N passed, M failed"; the exit
 * status is 0, 1, or 77 (nothing could run).
 */
#ifndef FAULT_COMMON_H
#define FAULT_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <fcntl.h>
#include <sched.h> /* unshare() */
#include <sys/mount.h>
#endif

#include <ushm.h>

#include "../tools/seglist.h" /* the system's segment lists */

#include "gcov-exit.h" /* children count in a coverage build */

/* The Makefile says which backend this program links: "posix" or "sysv". */
#ifndef USHM_TEST_BACKEND
#define USHM_TEST_BACKEND NULL
#endif

#if defined(__GNUC__)
#define FC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FC_PRINTF(f, a)
#endif

#define MiB ((size_t)1 << 20)
#define KiB ((size_t)1 << 10)

/* One count per program, however many of its files include this: a weak
 * definition in each, which the linker merges into one (GCC and Clang). */
__attribute__((weak)) unsigned fc_passed, fc_failed;

static inline const char *fc_errno_name(int e)
{
    static char buf[32];

    if (e < 0)
        e = -e;
    switch (e) {
    case 0: return "success";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
#ifdef ENODATA
    case ENODATA: return "ENODATA";
#endif
    case ERANGE: return "ERANGE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case EIDRM: return "EIDRM";
    case EOVERFLOW: return "EOVERFLOW";
    case ENOTSUP: return "ENOTSUP";
#if EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP: return "EOPNOTSUPP";
#endif
    default: snprintf(buf, sizeof buf, "errno %d", e); return buf;
    }
}

static inline uint64_t fc_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: a small generator each process seeds for itself. */
static inline uint64_t fc_rand(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ull;
}

/* The SysV key of a name, from the library (names-property.c tests the
 * documented hash against a copy of its own); 0 for a bad name. */
static inline uint32_t fc_sysv_key(const char *canon)
{
    key_t key;

    return ushm_key(canon, &key) == 0 ? (uint32_t)key : 0;
}

static inline int fc_is_posix(void) { return strcmp(ushm_backend(), "posix") == 0; }

/*
 * The system this run makes Linux behave as (tests/personality/run.sh says
 * USHM_TEST_PERSONALITY=freebsd or macos), or NULL on the real system.  A
 * case that needs what only Linux has (a tmpfs on /dev/shm to fill or list,
 * files planted at an object's name) skips there, saying so.
 */
static inline const char *fc_personality(void)
{
    const char *p = getenv("USHM_TEST_PERSONALITY");

    return p != NULL && *p != '\0' ? p : NULL;
}

/* The system a personality plays, as its name is written ("FreeBSD",
 * "macOS"), for the reasons of skips; "Linux" without one. */
static inline const char *fc_system(void)
{
    const char *p = fc_personality();

    if (p == NULL)
        return "Linux";
    if (strcmp(p, "freebsd") == 0)
        return "FreeBSD";
    if (strcmp(p, "macos") == 0)
        return "macOS";
    return p;
}

/* Under the macOS personality. */
static inline int fc_is_macos(void)
{
    const char *p = fc_personality();

    return p != NULL && strcmp(p, "macos") == 0;
}

/* Whether POSIX objects are files under /dev/shm here (Linux's way). */
static inline int fc_objects_are_files(void)
{
    return fc_personality() == NULL;
}

/*
 * The size of a POSIX segment as a later handle or ushm_stat() sees it:
 * exact, except on macOS, whose fstat() tells only whole pages.
 */
static inline size_t fc_size_seen(size_t n)
{
    const char *p = fc_personality();
    long page = sysconf(_SC_PAGESIZE);

    if (p == NULL || strcmp(p, "macos") != 0 || !fc_is_posix() || page <= 0)
        return n;
    return (n + (size_t)page - 1) / (size_t)page * (size_t)page;
}

/*
 * What holds a POSIX name, looked at without libushm: lstat() of the file
 * where objects are files under /dev/shm; elsewhere fstat() of what
 * shm_open() opens, taken to be an object (macOS's fstat says no type).
 * 0, or -1 when nothing (that can be opened) holds it.
 */
static inline int fc_posix_look(const char *canon, struct stat *sb)
{
    char path[sizeof "/dev/shm" + 256];
    int fd, rc;

    if (fc_objects_are_files()) {
        snprintf(path, sizeof path, "/dev/shm%s", canon);
        return lstat(path, sb);
    }
    fd = shm_open(canon, O_RDONLY, 0);
    if (fd == -1)
        return -1;
    rc = fstat(fd, sb);
    close(fd);
    if (rc == 0)
        sb->st_mode = S_IFREG | (sb->st_mode & 07777);
    return rc;
}

/* Copy src into a result field, '|' and newlines replaced. */
static inline void fc_field(char *dst, size_t len, const char *src)
{
    size_t i;

    for (i = 0; i + 1 < len && src[i] != '\0'; i++)
        dst[i] = (src[i] == '|' || src[i] == '\n') ? '/' : src[i];
    dst[i] = '\0';
}

/* Print one result line: tag|backend|fields...|PASS/FAIL, counting it. */
static inline void fc_line(const char *tag, int ok, int nfields, ...)
{
    va_list ap;
    char buf[1024];

    printf("%s|%s", tag, ushm_backend());
    va_start(ap, nfields);
    for (int i = 0; i < nfields; i++) {
        fc_field(buf, sizeof buf, va_arg(ap, const char *));
        printf("|%s", buf);
    }
    va_end(ap);
    printf("|%s\n", ok ? "PASS" : "FAIL");
    fflush(stdout);
    if (ok)
        fc_passed++;
    else
        fc_failed++;
}

static inline int fc_finish(void)
{
    printf("%u passed, %u failed\n", fc_passed, fc_failed);
    fflush(stdout);
    return fc_failed ? 1 : 0;
}

/* Checks that the program runs the backend it was built for. */
static inline void fc_check_backend(const char *prog)
{
    if (USHM_TEST_BACKEND != NULL &&
        strcmp(ushm_backend(), USHM_TEST_BACKEND) != 0) {
        printf("# %s: built for backend %s but linked with %s\n", prog,
               USHM_TEST_BACKEND, ushm_backend());
        printf("0 passed, 1 failed\n");
        exit(1);
    }
}

/* ------------------------------------------------------------------ */
/* Counting what exists.                                               */

/* Open descriptors of this process (the directory's own one excluded). */
static inline int fc_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

/* Shared mappings in /proc/self/maps: every mapping the library makes is
 * shared, and counting only those keeps a sanitizer's private ones out. */
static inline int fc_count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "re");
    char line[512], perms[8];
    int n = 0;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "%*s %7s", perms) == 1 && perms[3] == 's')
            n++;
    fclose(f);
    return n;
}

/* Entries of /dev/shm whose name starts with prefix (all when NULL or ""),
 * their names appended to list (space-separated) when list is given. */
struct fc_devshm_count {
    const char *prefix;
    char *list;
    size_t len;
    int n;
};

static inline int fc_devshm_entry(const struct seglist_posix *e, void *arg)
{
    struct fc_devshm_count *c = arg;

    if (c->prefix != NULL && strncmp(e->name, c->prefix, strlen(c->prefix)) != 0)
        return 0;
    c->n++;
    if (c->list != NULL && strlen(c->list) + strlen(e->name) + 2 < c->len) {
        if (c->list[0] != '\0')
            strcat(c->list, " ");
        strcat(c->list, e->name);
    }
    return 0;
}

static inline int fc_count_devshm(const char *prefix, char *list, size_t len)
{
    struct fc_devshm_count c = { prefix, list, len, 0 };

    if (list != NULL && len > 0)
        list[0] = '\0';
    seglist_posix_each(fc_devshm_entry, &c, NULL, 0);
    return c.n;
}

/*
 * Rows of /proc/sysvipc/shm that are ours: with match == NULL every row
 * (the program's own IPC namespace); otherwise rows for which
 * match(key, cpid, arg) is true.
 */
struct fc_sysv_count {
    int (*match)(long key, long cpid, void *arg);
    void *arg;
    int n;
};

static inline int fc_sysv_row(const struct seglist_sysv *s, void *arg)
{
    struct fc_sysv_count *c = arg;

    if (c->match == NULL || c->match((long)s->key, (long)s->cpid, c->arg))
        c->n++;
    return 0;
}

static inline int fc_count_sysv(int (*match)(long key, long cpid, void *arg),
                         void *arg)
{
    struct fc_sysv_count c = { match, arg, 0 };

    seglist_sysv_each(fc_sysv_row, &c, NULL, 0);
    return c.n;
}

/* ------------------------------------------------------------------ */
/* Touching a segment.                                                  */

/*
 * Reads and writes every byte of [addr, addr + len) in this process: 0, 2
 * when want_zero and a byte was not 0, 3 when a write did not read back.
 * A segment shorter than its mapping raises SIGBUS here: call it in a child.
 */
static inline int fc_touch_here(void *addr, size_t len, int want_zero)
{
    /* Word by word (the segment is page-aligned), then the tail. */
    volatile uint64_t *w = addr;
    volatile unsigned char *p = addr;
    size_t nw = len / 8;
    uint64_t pat = 0x5a5aa5a5deadbeefull ^ (uint64_t)(uintptr_t)addr;

    for (size_t i = 0; i < nw; i++) {
        uint64_t v = w[i];
        if (want_zero && v != 0)
            return 2;
        w[i] = pat + i;
    }
    for (size_t i = nw * 8; i < len; i++) {
        if (want_zero && p[i] != 0)
            return 2;
        p[i] = (unsigned char)i;
    }
    for (size_t i = 0; i < nw; i++)
        if (w[i] != pat + i)
            return 3;
    for (size_t i = nw * 8; i < len; i++)
        if (p[i] != (unsigned char)i)
            return 3;
    return 0;
}

/* How a child that touched a segment ended, in words; NULL if it exited 0. */
static inline const char *fc_touch_status(int status, char *why, size_t len)
{
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return NULL;
    if (WIFSIGNALED(status))
        snprintf(why, len, "touching child killed by signal %d (%s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    else if (WEXITSTATUS(status) == 2)
        snprintf(why, len, "a byte of the new segment was not zero");
    else if (WEXITSTATUS(status) == 3)
        snprintf(why, len, "a write did not read back");
    else
        snprintf(why, len, "touching child exited %d", WEXITSTATUS(status));
    return why;
}

/*
 * fc_touch_here() in a child process, so that a SIGBUS or SIGSEGV is seen
 * as the child's death, not ours.  0 when the child exited 0, else -1 with
 * a description in why.
 */
static inline int fc_touch_all(void *addr, size_t len, int want_zero,
                               char *why, size_t whylen)
{
    pid_t pid;
    int status;

    fflush(stdout);
    pid = fork();
    if (pid == -1) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0)
        _exit(fc_touch_here(addr, len, want_zero));
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
        ;
    return fc_touch_status(status, why, whylen) == NULL ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Private namespaces.                                                  */

/* Writes text to path (a /proc file); 0 or -1 with errno. */
static inline int fc_write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    size_t n = strlen(text);
    ssize_t w;

    if (fd == -1)
        return -1;
    w = write(fd, text, n);
    if (w != (ssize_t)n) {
        int e = w == -1 ? errno : EIO;
        close(fd);
        errno = e;
        return -1;
    }
    return close(fd);
}

/*
 * New IPC and mount namespaces for this process, where nothing it mounts
 * propagates back to the host (/ is made MS_REC | MS_PRIVATE).  As root
 * that is unshare(CLONE_NEWIPC | CLONE_NEWNS); otherwise, when userns is
 * set, a user namespace of its own maps its uid and gid to root there and
 * *in_userns is set.  Returns 0; 77 when the system gives no such
 * namespaces to this process (no privilege, none allowed: skip); -1 when a
 * step failed otherwise.  why says what was done or what failed.
 */
static inline int fc_enter_namespaces(int userns, int *in_userns, char *why,
                                      size_t len)
{
#if defined(__linux__) && defined(CLONE_NEWNS) && defined(CLONE_NEWIPC)
    uid_t uid = geteuid();
    gid_t gid = getegid();
    char map[64];
    int e;

    *in_userns = 0;
    if (unshare(CLONE_NEWIPC | CLONE_NEWNS) == -1) {
        e = errno;
        if (e != EPERM && e != EINVAL) {
            snprintf(why, len, "unshare(CLONE_NEWIPC | CLONE_NEWNS): %s", strerror(e));
            return -1;
        }
        /* ENOSPC here means user.max_user_namespaces is 0: none allowed. */
        if (!userns || unshare(CLONE_NEWUSER | CLONE_NEWIPC | CLONE_NEWNS) == -1) {
            if (!userns || errno == EPERM || errno == EINVAL || errno == ENOSPC) {
                snprintf(why, len, "cannot make IPC and mount namespaces: unshare: "
                         "%s (alone), %s (with a user namespace)", strerror(e),
                         userns ? strerror(errno) : "not tried");
                return 77;
            }
            snprintf(why, len, "unshare(CLONE_NEWUSER | CLONE_NEWIPC | CLONE_NEWNS): %s",
                     strerror(errno));
            return -1;
        }
        fc_write_file("/proc/self/setgroups", "deny");
        snprintf(map, sizeof map, "0 %ld 1", (long)uid);
        if (fc_write_file("/proc/self/uid_map", map) == -1) {
            snprintf(why, len, "writing /proc/self/uid_map: %s", strerror(errno));
            return -1;
        }
        snprintf(map, sizeof map, "0 %ld 1", (long)gid);
        if (fc_write_file("/proc/self/gid_map", map) == -1) {
            snprintf(why, len, "writing /proc/self/gid_map: %s", strerror(errno));
            return -1;
        }
        *in_userns = 1;
    }
    /* Nothing we mount may propagate back to the host. */
    /* (The type is ignored; valgrind wants a string there.) */
    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == -1) {
        snprintf(why, len, "mount(/, MS_REC | MS_PRIVATE): %s", strerror(errno));
        return -1;
    }
    snprintf(why, len, "new IPC and mount namespaces (%s)",
             *in_userns ? "unprivileged, in a user namespace" : "as root");
    return 0;
#else
    (void)userns;
    *in_userns = 0;
    snprintf(why, len, "no IPC and mount namespaces on this system");
    return 77;
#endif
}

/*
 * A fresh tmpfs on /dev/shm (in namespaces from fc_enter_namespaces()),
 * mounted with opts, e.g. "mode=1777,size=64m".  0, or -1 with why.
 */
static inline int fc_mount_devshm(const char *opts, char *why, size_t len)
{
#if defined(__linux__) && defined(CLONE_NEWNS)
    if (mount("ushm-tests", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, opts) == -1) {
        snprintf(why, len, "mount -t tmpfs -o %s on /dev/shm: %s", opts, strerror(errno));
        return -1;
    }
    return 0;
#else
    snprintf(why, len, "cannot mount a tmpfs on /dev/shm (%s) here", opts);
    return -1;
#endif
}

/*
 * Capability probes, so that a test is skipped only where it cannot run:
 * an emulator such as qemu-user (which runs the 32-bit build where the
 * kernel cannot) neither enforces RLIMIT_AS on its guest nor emulates
 * MAP_HUGETLB.
 */

/* Does a lowered RLIMIT_AS stop a 1 GiB mapping?  Asked in a child. */
static inline int fc_rlimit_as_enforced(void)
{
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        struct rlimit rl;
        unsigned long long vm = 0;
        char line[256];
        FILE *f = fopen("/proc/self/status", "re");
        void *p;

        while (f != NULL && fgets(line, sizeof line, f) != NULL)
            if (sscanf(line, "VmSize: %llu kB", &vm) == 1)
                break;
        if (f != NULL)
            fclose(f);
        getrlimit(RLIMIT_AS, &rl);
        rl.rlim_cur = (rlim_t)(vm * 1024 + ((size_t)64 << 20));
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(2);
        p = mmap(NULL, (size_t)1 << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        _exit(p == MAP_FAILED ? 0 : 1);
    }
    if (pid < 0)
        return 1;
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Does the system know MAP_HUGETLB (a mapping, or ENOMEM for an empty pool)? */
static inline int fc_hugetlb_supported(size_t huge_page)
{
#ifdef MAP_HUGETLB
    void *p = mmap(NULL, huge_page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

    if (p != MAP_FAILED) {
        munmap(p, huge_page);
        return 1;
    }
    return errno == ENOMEM;
#else
    (void)huge_page;
    return 0;
#endif
}

/*
 * Whether this build and this /dev/shm publish POSIX segments whole
 * (config.h's USHM_ATOMIC_PUBLISH, and O_TMPFILE works on the mount): then
 * no creator, killed or not, ever shows a size-0 object.
 */
static inline int fc_posix_atomic(void)
{
    int atomic = 0;

#if defined(USHM_ATOMIC_PUBLISH) && defined(O_TMPFILE)
    if (fc_is_posix()) {
        int fd = open("/dev/shm", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

        atomic = fd >= 0;
        if (fd >= 0)
            close(fd);
    }
#endif
    return atomic;
}

#endif /* FAULT_COMMON_H */
