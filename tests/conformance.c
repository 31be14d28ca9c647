/*
 * Conformance suite for libushm, written against include/ushm.h and the
 * contract in ushm(3) only.  The same source is built once per backend
 * (tests/conformance-posix, tests/conformance-sysv); the few places where the
 * backends legitimately differ ask ushm_backend().
 *
 * Every name a test uses comes from new_name(): "/u<main pid>x<maker pid>_<n>",
 * where n is an index into a name log shared by every process of the run.  An
 * unchecked teardown on each test case unlinks every logged name and counts
 * the ones that still existed; main() sweeps again at the end and also looks
 * for leftovers in /dev/shm (our prefix) and /proc/sysvipc/shm (our pids).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#ifdef __linux__
#include <sys/sysmacros.h> /* major(), minor() */
#endif
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ushm.h>

#include "fault-common.h" /* capability probes */

#if defined(HAVE_CONFIG_H) && !defined(PACKAGE_VERSION)
#error "config.h did not define PACKAGE_VERSION"
#endif

/* The Makefile says which backend this program links: "posix" or "sysv". */
#ifndef USHM_TEST_BACKEND
#define USHM_TEST_BACKEND NULL
#endif

#define NAMEBUF 80
#define LOG_MAX 16384
#define NONE ((size_t)-1)
#define MiB ((size_t)1 << 20)

/* ------------------------------------------------------------------ */
/* The name log: shared by every process forked from main().           */

struct log_entry {
    int ready;
    pid_t pid;
    char name[NAMEBUF + 8];
    char who[48];
};

struct name_log {
    unsigned long next;
    int overflow;
    long nr_hugepages_saved;  /* -1, or vm.nr_hugepages to put back */
    struct log_entry e[LOG_MAX];
};

static struct name_log *name_log;
static char prefix[24];          /* "u<main pid>x" */
static mode_t saved_umask;
static unsigned long swept_upto; /* main process only */
static unsigned leaks;           /* main process only */
static int dummy_byte;
#define DUMMY ((ushm_t *)(void *)&dummy_byte)

static unsigned long log_reserve(void)
{
    unsigned long n = __atomic_fetch_add(&name_log->next, 1, __ATOMIC_SEQ_CST);

    if (n >= LOG_MAX)
        __atomic_store_n(&name_log->overflow, 1, __ATOMIC_SEQ_CST);
    return n;
}

static void log_fill(unsigned long n, const char *name, const char *who)
{
    struct log_entry *e;

    if (n >= LOG_MAX)
        return;
    e = &name_log->e[n];
    e->pid = getpid();
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->who, sizeof e->who, "%s", who);
    __atomic_store_n(&e->ready, 1, __ATOMIC_RELEASE);
}

/*
 * A fresh name "/<prefix><pid>_<n><suffix>", logged for the sweep.  With
 * body_len, the part after the slash is padded with 'z' to exactly that
 * length (the caller checks it could be).
 */
static char *new_name_(char *buf, size_t len, const char *suffix,
                       size_t body_len, const char *who)
{
    unsigned long n = log_reserve();
    size_t k;

    snprintf(buf, len, "/%s%ld_%lu%s", prefix, (long)getpid(), n, suffix);
    k = strlen(buf);
    while (body_len && k < body_len + 1 && k + 1 < len)
        buf[k++] = 'z';
    buf[k] = '\0';
    log_fill(n, buf, who);
    return buf;
}

#define NEW_NAME(buf) new_name_((buf), sizeof(buf), "", 0, __func__)
#define NEW_NAME_SUFFIX(buf, s) new_name_((buf), sizeof(buf), (s), 0, __func__)
#define NEW_NAME_BODY(buf, n) new_name_((buf), sizeof(buf), "", (n), __func__)
/* Log a name derived from a logged one (e.g. "/.<body>") so it is swept too. */
#define LOG_NAME(name) log_fill(log_reserve(), (name), __func__)
/* Log this process's pid: /proc/sysvipc/shm rows with this cpid are ours. */
#define NOTE_PID() log_fill(log_reserve(), "", __func__)

/* ------------------------------------------------------------------ */
/* Small helpers.                                                        */

static int is_sysv(void) { return strcmp(ushm_backend(), "sysv") == 0; }
static int is_posix(void) { return strcmp(ushm_backend(), "posix") == 0; }

static const char *last_err(void)
{
    const char *m = ushm_last_error();
    return m ? m : "(ushm_last_error() returned NULL)";
}

static const char *rcstr(int rc)
{
    return rc == 0 ? "success" : strerror(rc < 0 ? -rc : rc);
}

#define ASSERT_RC(expr, want)                                                  \
    do {                                                                       \
        int rc_ = (expr);                                                      \
        int want_ = (want);                                                    \
        ck_assert_msg(rc_ == want_, "%s = %d (%s), want %d (%s); last error: %s", \
                      #expr, rc_, rcstr(rc_), want_, rcstr(want_), last_err()); \
    } while (0)

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static unsigned char pattern_byte(size_t i, unsigned seed)
{
    return (unsigned char)((i * 31u + seed * 7u) ^ (i >> 9) ^ 0x5a);
}

static void fill_pattern(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = pattern_byte(i, seed);
}

static size_t pattern_mismatch(const void *p, size_t n, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != pattern_byte(i, seed))
            return i;
    return NONE;
}

static size_t first_nonzero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return i;
    return NONE;
}

static int is_aligned(const void *p)
{
    return p != NULL && (uintptr_t)p % page_size() == 0;
}

/* /dev/shm/<name without slash>, or "" when there is no /dev/shm. */
static const char *devshm_path(const char *canon, char *buf, size_t len)
{
    struct stat sb;

    if (stat("/dev/shm", &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        buf[0] = '\0';
        return buf;
    }
    snprintf(buf, len, "/dev/shm%s", canon);
    return buf;
}

/* ------------------------------------------------------------------ */
/* Counting what exists: descriptors, /dev/shm entries, SysV segments.  */

/* Open descriptors of this process (and how many lack FD_CLOEXEC); -1 if unknown. */
static int count_fds(int *inheritable)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0, inh = 0, self;

    if (!d)
        return -1;
    self = dirfd(d);
    while ((de = readdir(d)) != NULL) {
        int fd, fl;
        if (de->d_name[0] == '.')
            continue;
        fd = atoi(de->d_name);
        if (fd == self)
            continue;
        n++;
        fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC))
            inh++;
    }
    closedir(d);
    if (inheritable)
        *inheritable = inh;
    return n;
}

static int devshm_count_prefix(void)
{
    DIR *d = opendir("/dev/shm");
    struct dirent *de;
    size_t pl = strlen(prefix);
    int n = 0;

    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, prefix, pl) == 0)
            n++;
    closedir(d);
    return n;
}

/* Calls fn for every row of /proc/sysvipc/shm; -1 if the file is missing. */
static int sysv_each(void (*fn)(long key, long shmid, long cpid, void *arg), void *arg)
{
    FILE *f = fopen("/proc/sysvipc/shm", "r");
    char line[1024];
    int ckey = -1, cid = -1, ccpid = -1, need;

    if (!f)
        return -1;
    if (fgets(line, sizeof line, f)) {
        char *save = NULL, *tok = strtok_r(line, " \t\n", &save);
        for (int i = 0; tok; i++, tok = strtok_r(NULL, " \t\n", &save)) {
            if (strcmp(tok, "key") == 0)
                ckey = i;
            else if (strcmp(tok, "shmid") == 0)
                cid = i;
            else if (strcmp(tok, "cpid") == 0)
                ccpid = i;
        }
    }
    if (ckey < 0 || cid < 0 || ccpid < 0) {
        fclose(f);
        return -1;
    }
    need = ckey > cid ? ckey : cid;
    need = need > ccpid ? need : ccpid;
    while (fgets(line, sizeof line, f)) {
        char *fields[64], *save = NULL, *tok = strtok_r(line, " \t\n", &save);
        int nf = 0;
        while (tok && nf < 64) {
            fields[nf++] = tok;
            tok = strtok_r(NULL, " \t\n", &save);
        }
        if (nf > need)
            fn(strtol(fields[ckey], NULL, 10), strtol(fields[cid], NULL, 10),
               strtol(fields[ccpid], NULL, 10), arg);
    }
    fclose(f);
    return 0;
}

struct cpid_count { pid_t pid; int n; };

static void count_cpid_row(long key, long shmid, long cpid, void *arg)
{
    struct cpid_count *c = arg;
    (void)key;
    (void)shmid;
    if (cpid == (long)c->pid)
        c->n++;
}

/* SysV segments (named or not, removed or not) created by pid. */
static int sysv_count_cpid(pid_t pid)
{
    struct cpid_count c = { pid, 0 };
    sysv_each(count_cpid_row, &c);
    return c.n;
}

/* What a failed call must not change. */
struct probe {
    int fds;
    int devshm;
    int sysv;
};

static void probe_take(struct probe *p)
{
    p->fds = count_fds(NULL);
    p->devshm = devshm_count_prefix();
    p->sysv = sysv_count_cpid(getpid());
}

static int probe_differs(const struct probe *a, const struct probe *b, char *why, size_t len)
{
    if (a->fds != b->fds) {
        snprintf(why, len, "open descriptors %d -> %d", a->fds, b->fds);
        return 1;
    }
    if (a->devshm != b->devshm) {
        snprintf(why, len, "our /dev/shm entries %d -> %d", a->devshm, b->devshm);
        return 1;
    }
    if (a->sysv != b->sysv) {
        snprintf(why, len, "our SysV segments %d -> %d", a->sysv, b->sysv);
        return 1;
    }
    return 0;
}

/*
 * The file behind the mapping at addr, from /proc/self/maps (device and
 * inode; 0 when the mapping has no file or maps cannot be read).  Exact even
 * while other programs create /dev/shm entries at the same time.
 */
struct backing {
    unsigned maj, min;
    unsigned long ino;
    char path[256];
};

static void mapping_backing(const void *addr, struct backing *b)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];

    memset(b, 0, sizeof *b);
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, ino;
        unsigned maj, min;
        int used = 0;

        if (sscanf(line, "%lx-%lx %*s %*s %x:%x %lu %n", &lo, &hi, &maj, &min, &ino, &used) < 5)
            continue;
        if ((uintptr_t)addr < lo || (uintptr_t)addr >= hi)
            continue;
        b->maj = maj;
        b->min = min;
        b->ino = ino;
        if (used > 0)
            snprintf(b->path, sizeof b->path, "%.*s", (int)strcspn(line + used, "\n"), line + used);
        break;
    }
    fclose(f);
}

/* Names in /dev/shm of the file b (a name left behind for an anonymous segment). */
static int devshm_names_of(const struct backing *b, char *out, size_t len)
{
    DIR *d;
    struct dirent *de;
    char path[512];
    int n = 0;

    out[0] = '\0';
    if (b->ino == 0 || !(d = opendir("/dev/shm")))
        return 0;
    while ((de = readdir(d)) != NULL) {
        struct stat sb;
        snprintf(path, sizeof path, "/dev/shm/%s", de->d_name);
        if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_ino != b->ino ||
            major(sb.st_dev) != b->maj || minor(sb.st_dev) != b->min)
            continue;
        snprintf(out + strlen(out), len - strlen(out), " %s", path);
        n++;
    }
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------ */
/* Expected failures: exact error, *shm NULL, a message, nothing left.  */

/*
 * ushm_open() must fail with want, set *shm to NULL, leave a non-empty
 * ushm_last_error() (containing canon when given, and a "(" naming the
 * system call when syscall is set), and change no descriptor, no /dev/shm
 * entry of ours and no SysV segment of ours.
 */
static void expect_open_fail(int line, const char *name, size_t size, int flags,
                             mode_t mode, int want, const char *canon, int syscall)
{
    struct probe before, after;
    ushm_t *shm = DUMMY;
    const char *msg;
    char why[128];
    int rc;

    if (name == NULL)
        NOTE_PID();
    probe_take(&before);
    rc = ushm_open(&shm, name, size, flags, mode);
    msg = ushm_last_error();
    if (rc == 0 && shm && shm != DUMMY)
        ushm_close(shm);
    ck_assert_msg(rc == want,
                  "line %d: ushm_open(\"%s\", %zu, %#x, %#o) = %d (%s), want %d (%s); last error: %s",
                  line, name ? name : "NULL", size, (unsigned)flags, (unsigned)mode,
                  rc, rcstr(rc), want, rcstr(want), last_err());
    ck_assert_msg(shm == NULL, "line %d: ushm_open failed with %d but left *shm = %p",
                  line, rc, (void *)shm);
    ck_assert_msg(msg != NULL && msg[0] != '\0',
                  "line %d: ushm_last_error() is NULL or empty after a failure", line);
    if (canon)
        ck_assert_msg(strstr(msg, canon) != NULL,
                      "line %d: ushm_last_error() \"%s\" does not name the segment %s",
                      line, msg, canon);
    if (syscall)
        ck_assert_msg(strchr(msg, '(') != NULL,
                      "line %d: ushm_last_error() \"%s\" does not name the system call",
                      line, msg);
    probe_take(&after);
    ck_assert_msg(!probe_differs(&before, &after, why, sizeof why),
                  "line %d: failed ushm_open(\"%s\") left something behind: %s",
                  line, name ? name : "NULL", why);
}

#define EXPECT_OPEN_FAIL(name, size, flags, mode, want, canon, syscall) \
    expect_open_fail(__LINE__, (name), (size), (flags), (mode), (want), (canon), (syscall))

/* ushm_stat / ushm_unlink must fail with want and explain it. */
static void expect_fail_msg(int line, const char *what, int rc, int want, const char *canon)
{
    const char *msg = ushm_last_error();

    ck_assert_msg(rc == want, "line %d: %s = %d (%s), want %d (%s); last error: %s",
                  line, what, rc, rcstr(rc), want, rcstr(want), last_err());
    ck_assert_msg(msg != NULL && msg[0] != '\0',
                  "line %d: %s: ushm_last_error() NULL or empty", line, what);
    if (canon)
        ck_assert_msg(strstr(msg, canon) != NULL,
                      "line %d: %s: ushm_last_error() \"%s\" does not name %s",
                      line, what, msg, canon);
}

#define EXPECT_STAT_FAIL(name, want, canon)                                     \
    do {                                                                         \
        struct ushm_stat st_;                                                    \
        expect_fail_msg(__LINE__, "ushm_stat(" #name ")", ushm_stat((name), &st_), \
                        (want), (canon));                                        \
    } while (0)
#define EXPECT_UNLINK_FAIL(name, want, canon) \
    expect_fail_msg(__LINE__, "ushm_unlink(" #name ")", ushm_unlink(name), (want), (canon))

static ushm_t *open_ok(int line, const char *name, size_t size, int flags, mode_t mode)
{
    ushm_t *shm = DUMMY;
    int rc;

    if (name == NULL)
        NOTE_PID(); /* an anonymous SysV segment would carry this cpid */
    rc = ushm_open(&shm, name, size, flags, mode);

    ck_assert_msg(rc == 0, "line %d: ushm_open(\"%s\", %zu, %#x, %#o) = %d (%s); last error: %s",
                  line, name ? name : "NULL", size, (unsigned)flags, (unsigned)mode,
                  rc, rcstr(rc), last_err());
    ck_assert_msg(shm != NULL && shm != DUMMY, "line %d: ushm_open succeeded without a handle", line);
    ck_assert_msg(is_aligned(ushm_addr(shm)), "line %d: address %p is not page-aligned",
                  line, ushm_addr(shm));
    return shm;
}

/*
 * Handles opened through OPEN_OK are remembered until CLOSE_OK, so that the
 * unchecked teardown can close what a failed test left open (with CK_FORK=no
 * the test ran in this very process).  Main thread only.
 */
#define MAX_TRACKED 64
static ushm_t *tracked[MAX_TRACKED];

static ushm_t *track(ushm_t *h)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i] == NULL) {
            tracked[i] = h;
            break;
        }
    return h;
}

static int close_tracked(ushm_t *h)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i] == h && h != NULL)
            tracked[i] = NULL;
    return ushm_close(h);
}

static void close_leftover_handles(void)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i] != NULL) {
            ushm_close(tracked[i]);
            tracked[i] = NULL;
        }
}

#define OPEN_OK(name, size, flags, mode) track(open_ok(__LINE__, (name), (size), (flags), (mode)))
#define CLOSE_OK(h) ASSERT_RC(close_tracked(h), 0)

static long nattach_of(const char *name)
{
    struct ushm_stat st;
    int rc = ushm_stat(name, &st);

    ck_assert_msg(rc == 0, "ushm_stat(%s) = %d (%s): %s", name, rc, rcstr(rc), last_err());
    return st.nattach;
}

/* nattach: exactly n on SysV, -1 on POSIX. */
#define ASSERT_NATTACH(name, n)                                                  \
    do {                                                                          \
        long got_ = nattach_of(name);                                             \
        long want_ = is_sysv() ? (long)(n) : -1L;                                 \
        ck_assert_msg(got_ == want_, "nattach of %s is %ld, want %ld (%s backend)", \
                      (name), got_, want_, ushm_backend());                       \
    } while (0)

/* ------------------------------------------------------------------ */
/* Child processes: report through a pipe and the exit status.          */

typedef int (*child_fn)(void *arg, char *msg, size_t len);

#define CHILD_EXPECT(cond, ...)                      \
    do {                                             \
        if (!(cond)) {                               \
            snprintf(msg, len, __VA_ARGS__);         \
            return __LINE__ % 200 + 1;               \
        }                                            \
    } while (0)

static int drop_to_nobody(char *msg, size_t len)
{
    struct passwd *pw = getpwnam("nobody");
    uid_t uid = pw ? pw->pw_uid : 65534;
    gid_t gid = pw ? pw->pw_gid : 65534;

    if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0 ||
        geteuid() != uid || getegid() != gid) {
        snprintf(msg, len, "could not become nobody (%ld:%ld): %s",
                 (long)uid, (long)gid, strerror(errno));
        return 1;
    }
    return 0;
}

static uid_t nobody_uid(void)
{
    struct passwd *pw = getpwnam("nobody");
    return pw ? pw->pw_uid : 65534;
}

/* Runs fn in a forked child (as nobody when drop is set); returns its exit status. */
static int run_child(child_fn fn, void *arg, int drop, char *msg, size_t len)
{
    int p[2], status;
    size_t got = 0;
    ssize_t r;
    pid_t pid;

    msg[0] = '\0';
    ck_assert_msg(pipe(p) == 0, "pipe: %s", strerror(errno));
    pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        char buf[1024] = "";
        int rc;
        close(p[0]);
        NOTE_PID();
        if (drop && drop_to_nobody(buf, sizeof buf) != 0)
            rc = 250;
        else
            rc = fn(arg, buf, sizeof buf);
        if (write(p[1], buf, strlen(buf)) < 0)
            rc = 251;
        _exit(rc);
    }
    close(p[1]);
    while (got + 1 < len && (r = read(p[0], msg + got, len - 1 - got)) > 0)
        got += (size_t)r;
    msg[got] = '\0';
    close(p[0]);
    ck_assert_msg(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    snprintf(msg + strlen(msg), len - strlen(msg), " [killed by signal %d]", WTERMSIG(status));
    return 256 + WTERMSIG(status);
}

#define RUN_CHILD(fn, arg, drop)                                                   \
    do {                                                                            \
        char cmsg_[1024];                                                           \
        int cst_ = run_child((fn), (arg), (drop), cmsg_, sizeof cmsg_);             \
        ck_assert_msg(cst_ == 0, "child %s%s failed (status %d): %s", #fn,           \
                      (drop) ? " (as nobody)" : "", cst_, cmsg_);                   \
    } while (0)

static int skip_unless_root(const char *what)
{
    if (geteuid() == 0)
        return 0;
    printf("SKIP %s (%s backend): needs root to act as another user\n", what, ushm_backend());
    fflush(stdout);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Names                                                                 */

START_TEST(test_names_slash_optional)
{
    char name[NAMEBUF];
    const char *bare = NEW_NAME(name) + 1;
    struct ushm_stat s1, s2;
    ushm_t *a, *b;

    a = OPEN_OK(bare, 4096, USHM_CREATE | USHM_EXCL, 0600);
    ck_assert_int_eq(ushm_created(a), 1);
    ck_assert_pstr_eq(ushm_name(a), name);
    memset(ushm_addr(a), 0x5a, 4096);

    b = OPEN_OK(name, 0, 0, 0);
    ck_assert_int_eq(ushm_created(b), 0);
    ck_assert_pstr_eq(ushm_name(b), name);
    ck_assert_uint_eq(ushm_size(b), 4096);
    ck_assert_uint_eq(((unsigned char *)ushm_addr(b))[4095], 0x5a);

    EXPECT_OPEN_FAIL(name, 4096, USHM_CREATE | USHM_EXCL, 0600, -EEXIST, name, 1);
    EXPECT_OPEN_FAIL(bare, 4096, USHM_CREATE | USHM_EXCL, 0600, -EEXIST, name, 1);
    ASSERT_RC(ushm_stat(bare, &s1), 0);
    ASSERT_RC(ushm_stat(name, &s2), 0);
    ck_assert_uint_eq(s1.size, 4096);
    ck_assert_uint_eq(s2.size, 4096);

    CLOSE_OK(a);
    CLOSE_OK(b);
    ASSERT_RC(ushm_unlink(bare), 0);
    EXPECT_OPEN_FAIL(name, 0, 0, 0, -ENOENT, name, 1);
    EXPECT_UNLINK_FAIL(name, -ENOENT, name);
}
END_TEST

START_TEST(test_names_invalid)
{
    static const char *fixed[] = { "", "/", ".", "..", "/.", "/..", "//", "./", "/./.." };
    static const char *shapes[] = {
        "//%s", "/%s/b", "%s/b", "/%s/", "%s/", "/%s x", "/%s ", " /%s",
        "/%s\n", "/%s\t", "/%s*", "/%s?", "/%s:", "/%s\\", "/%s%%",
        "/%s\xc3\xa9", "/%s\xff", "/\x80%s",
    };
    char u[NAMEBUF], bad[NAMEBUF];
    const char *body = NEW_NAME(u) + 1;
    struct ushm_stat st;

    for (size_t i = 0; i < sizeof fixed / sizeof *fixed + sizeof shapes / sizeof *shapes; i++) {
        if (i < sizeof fixed / sizeof *fixed)
            snprintf(bad, sizeof bad, "%s", fixed[i]);
        else
            snprintf(bad, sizeof bad, shapes[i - sizeof fixed / sizeof *fixed], body);
        EXPECT_OPEN_FAIL(bad, 4096, USHM_CREATE, 0600, -EINVAL, NULL, 0);
        EXPECT_OPEN_FAIL(bad, 4096, USHM_CREATE | USHM_EXCL, 0600, -EINVAL, NULL, 0);
        EXPECT_OPEN_FAIL(bad, 0, 0, 0, -EINVAL, NULL, 0);
        EXPECT_OPEN_FAIL(bad, 0, USHM_RDONLY, 0, -EINVAL, NULL, 0);
        ck_assert_msg(ushm_stat(bad, &st) == -EINVAL, "ushm_stat(\"%s\") = %d, want -EINVAL",
                      bad, ushm_stat(bad, &st));
        ck_assert_msg(last_err()[0] != '\0', "no message after ushm_stat(\"%s\")", bad);
        ck_assert_msg(ushm_unlink(bad) == -EINVAL, "ushm_unlink(\"%s\") = %d, want -EINVAL",
                      bad, ushm_unlink(bad));
        ck_assert_msg(last_err()[0] != '\0', "no message after ushm_unlink(\"%s\")", bad);
    }
    /* None of those made the valid name they were built from. */
    EXPECT_STAT_FAIL(u, -ENOENT, u);
}
END_TEST

START_TEST(test_names_length)
{
    char n30[NAMEBUF], n31[NAMEBUF], n60[NAMEBUF];
    ushm_t *h;

    NEW_NAME_BODY(n30, 30);
    NEW_NAME_BODY(n31, 31);
    NEW_NAME_BODY(n60, 60);
    ck_assert_uint_eq(strlen(n30), USHM_NAME_MAX);
    ck_assert_uint_eq(strlen(n31), USHM_NAME_MAX + 1);
    ck_assert_int_eq(USHM_NAME_MAX, 31);

    /* 30 characters after the slash: the longest valid name, both forms. */
    h = OPEN_OK(n30, 100, USHM_CREATE | USHM_EXCL, 0600);
    ck_assert_int_eq(ushm_created(h), 1);
    ck_assert_pstr_eq(ushm_name(h), n30);
    CLOSE_OK(h);
    h = OPEN_OK(n30 + 1, 0, 0, 0);
    ck_assert_int_eq(ushm_created(h), 0);
    ck_assert_pstr_eq(ushm_name(h), n30);
    ck_assert_uint_eq(ushm_size(h), 100);
    CLOSE_OK(h);
    {
        struct ushm_stat st;
        ASSERT_RC(ushm_stat(n30 + 1, &st), 0);
        ck_assert_uint_eq(st.size, 100);
    }
    ASSERT_RC(ushm_unlink(n30 + 1), 0);

    /* 31 characters: too long, with or without the slash, for every call. */
    for (int i = 0; i < 2; i++) {
        const char *n = i ? n31 + 1 : n31;
        EXPECT_OPEN_FAIL(n, 100, USHM_CREATE, 0600, -ENAMETOOLONG, NULL, 0);
        EXPECT_OPEN_FAIL(n, 100, USHM_CREATE | USHM_EXCL, 0600, -ENAMETOOLONG, NULL, 0);
        EXPECT_OPEN_FAIL(n, 0, 0, 0, -ENAMETOOLONG, NULL, 0);
        EXPECT_STAT_FAIL(n, -ENAMETOOLONG, NULL);
        EXPECT_UNLINK_FAIL(n, -ENAMETOOLONG, NULL);
        n = i ? n60 + 1 : n60;
        EXPECT_OPEN_FAIL(n, 100, USHM_CREATE, 0600, -ENAMETOOLONG, NULL, 0);
        EXPECT_STAT_FAIL(n, -ENAMETOOLONG, NULL);
        EXPECT_UNLINK_FAIL(n, -ENAMETOOLONG, NULL);
    }
}
END_TEST

START_TEST(test_names_dots)
{
    static const char *shapes[] = { "/.%s", "..%s", "/%s.", "/%s..", "/%s-_Z9", "/-%s", "/_%s" };
    char u[NAMEBUF], n[NAMEBUF], canon[NAMEBUF + 1], got[NAMEBUF] = "";
    const char *body = NEW_NAME(u) + 1;
    struct ushm_stat st;
    ushm_t *h;
    int rc, created = -1, urc = -1;

    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        snprintf(n, sizeof n, shapes[i], body);
        snprintf(canon, sizeof canon, "%s%s", n[0] == '/' ? "" : "/", n);
        LOG_NAME(canon);
        h = OPEN_OK(n, 10, USHM_CREATE | USHM_EXCL, 0600);
        ck_assert_int_eq(ushm_created(h), 1);
        ck_assert_pstr_eq(ushm_name(h), canon);
        CLOSE_OK(h);
        ASSERT_RC(ushm_stat(canon, &st), 0);
        ck_assert_uint_eq(st.size, 10);
        ASSERT_RC(ushm_unlink(n), 0);
    }

    /* "..." itself is valid.  It cannot carry our prefix, so another run may
     * hold it: accept -EEXIST, but never -EINVAL, and clean up before asserting. */
    rc = ushm_stat("...", &st);
    ck_assert_msg(rc == 0 || rc == -ENOENT, "ushm_stat(\"...\") = %d (%s)", rc, rcstr(rc));
    h = DUMMY;
    rc = ushm_open(&h, "...", 16, USHM_CREATE | USHM_EXCL, 0600);
    if (rc == 0) {
        snprintf(got, sizeof got, "%s", ushm_name(h) ? ushm_name(h) : "(null)");
        created = ushm_created(h);
        ushm_close(h);
        urc = ushm_unlink("/...");
    }
    ck_assert_msg(rc == 0 || rc == -EEXIST, "ushm_open(\"...\", CREATE|EXCL) = %d (%s): %s",
                  rc, rcstr(rc), last_err());
    if (rc == 0) {
        ck_assert_str_eq(got, "/...");
        ck_assert_int_eq(created, 1);
        ck_assert_int_eq(urc, 0);
    } else {
        printf("NOTE test_names_dots: \"/...\" already exists (another run?); only its stat checked\n");
        ASSERT_RC(ushm_stat("...", &st), 0);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bad arguments                                                         */

START_TEST(test_args_null_shm)
{
    char name[NAMEBUF];
    const char *msg;

    NEW_NAME(name);
    ASSERT_RC(ushm_open(NULL, name, 4096, USHM_CREATE, 0600), -EINVAL);
    msg = ushm_last_error();
    ck_assert_msg(msg && msg[0], "no message after ushm_open(NULL, ...)");
    ASSERT_RC(ushm_open(NULL, NULL, 4096, USHM_CREATE, 0600), -EINVAL);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    CLOSE_OK(NULL);
}
END_TEST

START_TEST(test_args_flags_mode)
{
    static const int bad_flags[] = { 0x20, 0x40, 0x80, 0x100, 0x1000, 0x4000000, (int)0x80000000u, -1 };
    static const mode_t bad_modes[] = { 01000, 02000, 04000, 04755, 02700, 01777, 07777, 010000, 0100600 };
    char name[NAMEBUF], other[NAMEBUF];
    ushm_t *h;

    NEW_NAME(name);
    NEW_NAME(other);
    for (size_t i = 0; i < sizeof bad_flags / sizeof *bad_flags; i++) {
        EXPECT_OPEN_FAIL(name, 4096, USHM_CREATE | bad_flags[i], 0600, -EINVAL, NULL, 0);
        EXPECT_OPEN_FAIL(name, 4096, USHM_CREATE | USHM_EXCL | bad_flags[i], 0600, -EINVAL, NULL, 0);
        EXPECT_OPEN_FAIL(NULL, 4096, USHM_CREATE | bad_flags[i], 0600, -EINVAL, NULL, 0);
    }
    for (size_t i = 0; i < sizeof bad_modes / sizeof *bad_modes; i++) {
        EXPECT_OPEN_FAIL(name, 4096, USHM_CREATE, bad_modes[i], -EINVAL, NULL, 0);
        EXPECT_OPEN_FAIL(name, 4096, USHM_CREATE | USHM_EXCL, bad_modes[i], -EINVAL, NULL, 0);
        EXPECT_OPEN_FAIL(NULL, 4096, USHM_CREATE, bad_modes[i], -EINVAL, NULL, 0);
    }
    /* USHM_EXCL means nothing without USHM_CREATE: refused, not ignored. */
    EXPECT_OPEN_FAIL(name, 4096, USHM_EXCL, 0600, -EINVAL, NULL, 0);
    ASSERT_RC(ushm_stat(name, NULL), -EINVAL);
    EXPECT_STAT_FAIL(name, -ENOENT, name);

    /* The same bad bits on an existing segment: still -EINVAL, still there. */
    h = OPEN_OK(other, 4096, USHM_CREATE | USHM_EXCL, 0600);
    EXPECT_OPEN_FAIL(other, 0, 0x100, 0, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(other, 0, USHM_CREATE | (int)0x80000000u, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(other, 0, USHM_CREATE, 04755, -EINVAL, NULL, 0);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(other), 0);
}
END_TEST

START_TEST(test_args_rdonly_create)
{
    char name[NAMEBUF], other[NAMEBUF];
    ushm_t *h;

    NEW_NAME(name);
    NEW_NAME(other);
    EXPECT_OPEN_FAIL(name, 4096, USHM_RDONLY | USHM_CREATE, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(name, 4096, USHM_RDONLY | USHM_CREATE | USHM_EXCL, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(NULL, 4096, USHM_RDONLY | USHM_CREATE, 0600, -EINVAL, NULL, 0);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    h = OPEN_OK(other, 4096, USHM_CREATE, 0600);
    EXPECT_OPEN_FAIL(other, 4096, USHM_RDONLY | USHM_CREATE, 0600, -EINVAL, NULL, 0);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(other), 0);
}
END_TEST

START_TEST(test_args_anonymous)
{
    EXPECT_OPEN_FAIL(NULL, 4096, 0, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(NULL, 4096, USHM_POPULATE, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(NULL, 4096, USHM_RDONLY, 0, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(NULL, 0, USHM_CREATE, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(NULL, 0, USHM_CREATE | USHM_EXCL, 0600, -EINVAL, NULL, 0);
}
END_TEST

START_TEST(test_args_stat_unlink)
{
    struct ushm_stat st;

    ASSERT_RC(ushm_stat(NULL, &st), -EINVAL);
    ck_assert_msg(last_err()[0] != '\0', "no message after ushm_stat(NULL)");
    ASSERT_RC(ushm_stat("", &st), -EINVAL);
    ASSERT_RC(ushm_stat("/a/b", &st), -EINVAL);
    ASSERT_RC(ushm_stat("/a b", &st), -EINVAL);
    ASSERT_RC(ushm_unlink(NULL), -EINVAL);
    ck_assert_msg(last_err()[0] != '\0', "no message after ushm_unlink(NULL)");
    ASSERT_RC(ushm_unlink("/"), -EINVAL);
    ASSERT_RC(ushm_unlink("/a/b"), -EINVAL);
    ASSERT_RC(ushm_unlink(".."), -EINVAL);
    CLOSE_OK(NULL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* ushm_open: missing, creating, reopening                               */

START_TEST(test_open_missing)
{
    char name[NAMEBUF];

    NEW_NAME(name);
    EXPECT_OPEN_FAIL(name, 0, 0, 0, -ENOENT, name, 1);
    EXPECT_OPEN_FAIL(name, 4096, 0, 0, -ENOENT, name, 1);
    EXPECT_OPEN_FAIL(name + 1, 4096, USHM_RDONLY, 0, -ENOENT, name, 1);
    EXPECT_OPEN_FAIL(name, 4096, USHM_POPULATE, 0, -ENOENT, name, 1);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    EXPECT_UNLINK_FAIL(name, -ENOENT, name);
}
END_TEST

START_TEST(test_open_size0_missing)
{
    char name[NAMEBUF], path[NAMEBUF + 16];
    struct stat sb;

    NEW_NAME(name);
    EXPECT_OPEN_FAIL(name, 0, USHM_CREATE, 0600, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(name, 0, USHM_CREATE | USHM_EXCL, 0600, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(name, 0, USHM_CREATE | USHM_POPULATE, 0600, -EINVAL, name, 0);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    EXPECT_OPEN_FAIL(name, 0, 0, 0, -ENOENT, name, 1);
    devshm_path(name, path, sizeof path);
    if (is_posix() && path[0])
        ck_assert_msg(stat(path, &sb) != 0 && errno == ENOENT, "%s exists", path);
}
END_TEST

static const size_t open_sizes[] = { 1, 100, 4095, 4096, 4097, 12345, 3 * 65536 + 3 };

START_TEST(test_open_sizes)
{
    const size_t size = open_sizes[_i];
    const size_t asks[] = { 0, 1, size / 2, size };
    char name[NAMEBUF];
    struct ushm_stat st;
    ushm_t *a, *b;
    unsigned char *pa, *pb;
    size_t bad;

    NEW_NAME(name);
    /* USHM_CREATE without USHM_EXCL on a missing name creates it. */
    a = OPEN_OK(name, size, USHM_CREATE, 0600);
    ck_assert_int_eq(ushm_created(a), 1);
    ck_assert_uint_eq(ushm_size(a), size);
    ck_assert_pstr_eq(ushm_name(a), name);
    pa = ushm_addr(a);
    bad = first_nonzero(pa, size);
    ck_assert_msg(bad == NONE, "byte %zu of a new %zu-byte segment is %#x", bad, size, pa[bad]);
    ASSERT_RC(ushm_stat(name, &st), 0);
    ck_assert_uint_eq(st.size, size);
    fill_pattern(pa, size, (unsigned)size);

    for (size_t k = 0; k < sizeof asks / sizeof *asks; k++) {
        static const int how[] = { 0, USHM_CREATE, USHM_RDONLY, USHM_POPULATE, USHM_CREATE | USHM_POPULATE };
        for (size_t f = 0; f < sizeof how / sizeof *how; f++) {
            b = OPEN_OK(name, asks[k], how[f], 0600);
            ck_assert_msg(ushm_created(b) == 0, "reopen (size %zu, flags %#x) says created",
                          asks[k], (unsigned)how[f]);
            ck_assert_msg(ushm_size(b) == size, "reopen (size %zu, flags %#x): size %zu, want %zu",
                          asks[k], (unsigned)how[f], ushm_size(b), size);
            ck_assert_pstr_eq(ushm_name(b), name);
            bad = pattern_mismatch(ushm_addr(b), size, (unsigned)size);
            ck_assert_msg(bad == NONE, "reopen (flags %#x): byte %zu differs", (unsigned)how[f], bad);
            CLOSE_OK(b);
        }
    }

    /* Asking for more than exists: -EINVAL, with or without CREATE. */
    EXPECT_OPEN_FAIL(name, size + 1, 0, 0, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(name, size + 1, USHM_CREATE, 0600, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(name, size + page_size(), USHM_RDONLY, 0, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(name, size, USHM_CREATE | USHM_EXCL, 0600, -EEXIST, name, 1);
    EXPECT_OPEN_FAIL(name, 1, USHM_CREATE | USHM_EXCL, 0600, -EEXIST, name, 1);

    /* Two handles, one segment: a write through one is seen through the other. */
    b = OPEN_OK(name, 0, 0, 0);
    pb = ushm_addr(b);
    pb[size - 1] = (unsigned char)~pattern_byte(size - 1, (unsigned)size);
    pa[0] = (unsigned char)~pattern_byte(0, (unsigned)size);
    ck_assert_uint_eq(pa[size - 1], (unsigned char)~pattern_byte(size - 1, (unsigned)size));
    ck_assert_uint_eq(pb[0], (unsigned char)~pattern_byte(0, (unsigned)size));

    CLOSE_OK(a);
    CLOSE_OK(b);
    ASSERT_RC(ushm_stat(name, &st), 0);
    ck_assert_uint_eq(st.size, size);
    ASSERT_RC(ushm_unlink(name), 0);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Permission bits                                                      */

static const struct {
    mode_t umask, mode, want;
} mode_cases[] = {
    { 022, 0666, 0666 }, { 022, 0644, 0644 }, { 022, 0640, 0640 }, { 022, 0600, 0600 },
    { 022, 0400, 0400 }, { 022, 0777, 0777 }, { 022, 0, 0600 },    { 022, 0660, 0660 },
    { 077, 0666, 0666 }, { 077, 0644, 0644 }, { 077, 0640, 0640 }, { 077, 0600, 0600 },
    { 077, 0400, 0400 }, { 077, 0, 0600 },    { 077, 0604, 0604 }, { 0777, 0666, 0666 },
    { 0777, 0, 0600 },   { 0, 0640, 0640 },
};

START_TEST(test_mode_exact)
{
    const mode_t um = mode_cases[_i].umask, mode = mode_cases[_i].mode, want = mode_cases[_i].want;
    char name[NAMEBUF], path[NAMEBUF + 16];
    struct ushm_stat st;
    struct stat sb;
    ushm_t *h = DUMMY;
    mode_t old;
    int rc;

    NEW_NAME(name);
    old = umask(um);
    rc = ushm_open(&h, name, 5000, USHM_CREATE | USHM_EXCL, mode);
    umask(old);
    ck_assert_msg(rc == 0, "umask %03o, mode %04o: ushm_open = %d (%s): %s",
                  (unsigned)um, (unsigned)mode, rc, rcstr(rc), last_err());
    ck_assert_int_eq(ushm_created(h), 1);
    /* The creator maps it read-write whatever the mode. */
    ((volatile unsigned char *)ushm_addr(h))[4999] = 0x77;
    ck_assert_uint_eq(((unsigned char *)ushm_addr(h))[4999], 0x77);

    ASSERT_RC(ushm_stat(name, &st), 0);
    ck_assert_msg(st.mode == want, "umask %03o, mode %04o: ushm_stat mode %04o, want %04o",
                  (unsigned)um, (unsigned)mode, (unsigned)st.mode, (unsigned)want);
    ck_assert_uint_eq(st.size, 5000);
    ck_assert_uint_eq(st.uid, geteuid());
    ck_assert_uint_eq(st.gid, getegid());

    devshm_path(name, path, sizeof path);
    if (is_posix() && path[0]) {
        ck_assert_msg(stat(path, &sb) == 0, "stat(%s): %s", path, strerror(errno));
        ck_assert_msg((sb.st_mode & 07777) == want, "%s has mode %04o, want %04o", path,
                      (unsigned)(sb.st_mode & 07777), (unsigned)want);
        ck_assert_uint_eq(sb.st_uid, geteuid());
    }

    /* A user without write permission on its own segment cannot map it RW. */
    if (geteuid() != 0 && !(want & 0200)) {
        EXPECT_OPEN_FAIL(name, 0, 0, 0, -EACCES, name, 1);
        if (want & 0400) {
            ushm_t *r = OPEN_OK(name, 0, USHM_RDONLY, 0);
            ck_assert_uint_eq(((unsigned char *)ushm_addr(r))[4999], 0x77);
            CLOSE_OK(r);
        }
    }
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Read-only mappings                                                   */

START_TEST(test_rdonly_read)
{
    char name[NAMEBUF];
    ushm_t *w, *r;
    unsigned char *pw;
    const unsigned char *pr;

    NEW_NAME(name);
    w = OPEN_OK(name, 9999, USHM_CREATE | USHM_EXCL, 0644);
    pw = ushm_addr(w);
    fill_pattern(pw, 9999, 3);
    r = OPEN_OK(name, 0, USHM_RDONLY, 0);
    ck_assert_int_eq(ushm_created(r), 0);
    ck_assert_uint_eq(ushm_size(r), 9999);
    pr = ushm_addr(r);
    ck_assert_msg(pattern_mismatch(pr, 9999, 3) == NONE, "read-only view differs");
    pw[9998] = (unsigned char)~pw[9998];
    ck_assert_uint_eq(pr[9998], pw[9998]);
    CLOSE_OK(r);
    r = OPEN_OK(name, 9999, USHM_RDONLY | USHM_POPULATE, 0);
    ck_assert_uint_eq(ushm_size(r), 9999);
    ck_assert_uint_eq(((const unsigned char *)ushm_addr(r))[9998], pw[9998]);
    CLOSE_OK(r);
    CLOSE_OK(w);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/* Made in the main process: the faulting test cannot clean up after itself. */
static char rdonly_name[NAMEBUF];
static ushm_t *rdonly_keep;
static int rdonly_setup_rc = -1;
static const size_t rdonly_size = 3 * 4096 + 5;

static void rdonly_setup(void)
{
    NEW_NAME(rdonly_name);
    rdonly_setup_rc = ushm_open(&rdonly_keep, rdonly_name, rdonly_size,
                                USHM_CREATE | USHM_EXCL, 0644);
    if (rdonly_setup_rc == 0)
        memset(ushm_addr(rdonly_keep), 0x42, rdonly_size);
}

static void sweep_teardown(void);

static void rdonly_teardown(void)
{
    if (rdonly_setup_rc == 0) {
        ushm_close(rdonly_keep);
        ushm_unlink(rdonly_name);
    }
    rdonly_keep = NULL;
    sweep_teardown();
}

START_TEST(test_rdonly_write_faults)
{
    const size_t offs[] = { 0, 4096, rdonly_size - 1 };
    volatile unsigned char *p;
    ushm_t *h;

    ck_assert_msg(rdonly_setup_rc == 0, "fixture: ushm_open(%s) = %d", rdonly_name, rdonly_setup_rc);
    h = OPEN_OK(rdonly_name, 0, USHM_RDONLY, 0);
    ck_assert_uint_eq(ushm_size(h), rdonly_size);
    p = ushm_addr(h);
    ck_assert_uint_eq(p[offs[_i]], 0x42);
    p[offs[_i]] = 1; /* must raise SIGSEGV */
    ck_abort_msg("writing byte %zu of a USHM_RDONLY mapping of %s did not fault", offs[_i], rdonly_name);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Access as another user (root only) and the owner check               */

struct perm_names {
    char n600[NAMEBUF], n644[NAMEBUF], n666[NAMEBUF];
};

static int child_permissions(void *arg, char *msg, size_t len)
{
    struct perm_names *a = arg;
    struct ushm_stat st;
    ushm_t *h;
    int rc;

    /* 0600, root's: no access at all, whatever is asked. */
    static const int tries[] = { 0, USHM_RDONLY, USHM_CREATE };
    for (size_t i = 0; i < sizeof tries / sizeof *tries; i++) {
        h = DUMMY;
        rc = ushm_open(&h, a->n600, 4096, tries[i], 0600);
        CHILD_EXPECT(rc == -EACCES && h == NULL, "ushm_open(%s, flags %#x) as nobody = %d (%s), "
                     "handle %p; want -EACCES and NULL", a->n600, (unsigned)tries[i], rc, rcstr(rc), (void *)h);
        CHILD_EXPECT(strstr(last_err(), a->n600) != NULL, "last error \"%s\" does not name %s",
                     last_err(), a->n600);
    }
    rc = ushm_stat(a->n600, &st);
    CHILD_EXPECT(rc == -EACCES, "ushm_stat(%s) as nobody = %d (%s), want -EACCES", a->n600, rc, rcstr(rc));

    /* 0644, root's: read-only access only. */
    h = DUMMY;
    rc = ushm_open(&h, a->n644, 0, USHM_RDONLY, 0);
    CHILD_EXPECT(rc == 0, "ushm_open(%s, RDONLY) as nobody = %d (%s): %s", a->n644, rc, rcstr(rc), last_err());
    CHILD_EXPECT(ushm_created(h) == 0 && ushm_size(h) == 4096 &&
                 ((unsigned char *)ushm_addr(h))[4095] == 0x44, "read-only view of %s is wrong", a->n644);
    ushm_close(h);
    h = DUMMY;
    rc = ushm_open(&h, a->n644, 0, 0, 0);
    CHILD_EXPECT(rc == -EACCES && h == NULL, "ushm_open(%s, RW) as nobody = %d (%s), want -EACCES",
                 a->n644, rc, rcstr(rc));
    h = DUMMY;
    rc = ushm_open(&h, a->n644, 4096, USHM_CREATE, 0600);
    CHILD_EXPECT(rc == -EACCES && h == NULL, "ushm_open(%s, CREATE) as nobody = %d (%s), want -EACCES "
                 "(checked before the owner check)", a->n644, rc, rcstr(rc));
    rc = ushm_stat(a->n644, &st);
    CHILD_EXPECT(rc == 0, "ushm_stat(%s) as nobody = %d (%s)", a->n644, rc, rcstr(rc));
    CHILD_EXPECT(st.mode == 0644 && st.uid == 0 && st.size == 4096,
                 "ushm_stat(%s): mode %04o uid %ld size %zu", a->n644, (unsigned)st.mode, (long)st.uid, st.size);

    /* 0666, root's: joinable, but CREATE must not adopt it. */
    h = DUMMY;
    rc = ushm_open(&h, a->n666, 4096, USHM_CREATE, 0600);
    CHILD_EXPECT(rc == -EPERM && h == NULL, "ushm_open(%s, CREATE) on root's 0666 segment as nobody = %d (%s), "
                 "want -EPERM", a->n666, rc, rcstr(rc));
    CHILD_EXPECT(strstr(last_err(), a->n666) != NULL, "last error \"%s\" does not name %s", last_err(), a->n666);
    h = DUMMY;
    rc = ushm_open(&h, a->n666, 4096, USHM_CREATE | USHM_EXCL, 0600);
    CHILD_EXPECT(rc == -EEXIST && h == NULL, "ushm_open(%s, CREATE|EXCL) as nobody = %d (%s), want -EEXIST",
                 a->n666, rc, rcstr(rc));
    h = DUMMY;
    rc = ushm_open(&h, a->n666, 0, 0, 0);
    CHILD_EXPECT(rc == 0, "ushm_open(%s) as nobody = %d (%s): %s", a->n666, rc, rcstr(rc), last_err());
    CHILD_EXPECT(ushm_created(h) == 0, "joining %s says created", a->n666);
    ((unsigned char *)ushm_addr(h))[0] = 0x99;
    ushm_close(h);
    return 0;
}

START_TEST(test_perm_other_user)
{
    static struct perm_names names;
    struct perm_names *n = &names;
    ushm_t *h600, *h644, *h666;
    struct ushm_stat st;
    char cmsg[1024];
    int cst, src;
    unsigned char mark;

    if (skip_unless_root("test_perm_other_user"))
        return;
    NEW_NAME(n->n600);
    NEW_NAME(n->n644);
    NEW_NAME(n->n666);
    h600 = OPEN_OK(n->n600, 4096, USHM_CREATE | USHM_EXCL, 0600);
    h644 = OPEN_OK(n->n644, 4096, USHM_CREATE | USHM_EXCL, 0644);
    h666 = OPEN_OK(n->n666, 4096, USHM_CREATE | USHM_EXCL, 0666);
    ((unsigned char *)ushm_addr(h644))[4095] = 0x44;

    cst = run_child(child_permissions, n, 1, cmsg, sizeof cmsg);
    mark = ((unsigned char *)ushm_addr(h666))[0];
    src = ushm_stat(n->n666, &st);
    /* Clean up first: the verdict comes after. */
    CLOSE_OK(h600);
    CLOSE_OK(h644);
    CLOSE_OK(h666);
    ASSERT_RC(ushm_unlink(n->n600), 0);
    ASSERT_RC(ushm_unlink(n->n644), 0);
    ASSERT_RC(ushm_unlink(n->n666), 0);
    ck_assert_msg(cst == 0, "child (as nobody) failed (status %d): %s", cst, cmsg);
    ck_assert_uint_eq(mark, 0x99);
    ck_assert_int_eq(src, 0);
    ck_assert_uint_eq(st.uid, 0);
    ck_assert_uint_eq(st.mode, 0666);
}
END_TEST

/* As a normal user: one's own 0400 segment cannot be mapped read-write. */
START_TEST(test_perm_own_readonly)
{
    char name[NAMEBUF];
    ushm_t *h, *r;

    NEW_NAME(name);
    h = OPEN_OK(name, 4096, USHM_CREATE | USHM_EXCL, 0400);
    ((unsigned char *)ushm_addr(h))[1] = 0x31;
    if (geteuid() != 0) {
        EXPECT_OPEN_FAIL(name, 0, 0, 0, -EACCES, name, 1);
        EXPECT_OPEN_FAIL(name, 0, USHM_CREATE, 0400, -EACCES, name, 1);
    } else {
        printf("NOTE test_perm_own_readonly: root bypasses permission bits; "
               "the -EACCES side runs as nobody in test_perm_other_user\n");
    }
    r = OPEN_OK(name, 0, USHM_RDONLY, 0);
    ck_assert_uint_eq(((unsigned char *)ushm_addr(r))[1], 0x31);
    CLOSE_OK(r);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

static int child_squat(void *arg, char *msg, size_t len)
{
    const char *name = arg;
    ushm_t *h = DUMMY;
    int rc = ushm_open(&h, name, 8192, USHM_CREATE | USHM_EXCL, 0666);

    CHILD_EXPECT(rc == 0, "nobody: ushm_open(%s, CREATE|EXCL, 0666) = %d (%s): %s", name, rc, rcstr(rc), last_err());
    ((unsigned char *)ushm_addr(h))[8191] = 0x5c;
    CHILD_EXPECT(ushm_close(h) == 0, "nobody: ushm_close failed");
    return 0;
}

START_TEST(test_owner_check)
{
    char name[NAMEBUF];
    struct ushm_stat st;
    ushm_t *h;

    if (skip_unless_root("test_owner_check"))
        return;
    NEW_NAME(name);
    RUN_CHILD(child_squat, name, 1);
    ASSERT_RC(ushm_stat(name, &st), 0);
    ck_assert_uint_eq(st.uid, nobody_uid());
    ck_assert_uint_eq(st.mode, 0666);

    /* A creator must not be handed a squatter's segment. */
    EXPECT_OPEN_FAIL(name, 8192, USHM_CREATE, 0600, -EPERM, name, 0);
    EXPECT_OPEN_FAIL(name, 0, USHM_CREATE, 0600, -EPERM, name, 0);
    EXPECT_OPEN_FAIL(name, 8192, USHM_CREATE | USHM_EXCL, 0600, -EEXIST, name, 1);
    ASSERT_RC(ushm_stat(name, &st), 0);
    ck_assert_uint_eq(st.uid, nobody_uid());
    ck_assert_uint_eq(st.mode, 0666);
    ck_assert_uint_eq(st.size, 8192);
    if (is_sysv())
        ck_assert_int_eq(st.nattach, 0);

    /* Joining on purpose works. */
    h = OPEN_OK(name, 0, 0, 0);
    ck_assert_int_eq(ushm_created(h), 0);
    ck_assert_uint_eq(ushm_size(h), 8192);
    ck_assert_uint_eq(((unsigned char *)ushm_addr(h))[8191], 0x5c);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(name), 0);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Unlink                                                               */

START_TEST(test_unlink_keeps_mapping)
{
    char name[NAMEBUF], path[NAMEBUF + 16];
    ushm_t *old, *fresh;
    unsigned char *po, *pn;
    struct stat sb;
    size_t bad;

    NEW_NAME(name);
    old = OPEN_OK(name, 20000, USHM_CREATE | USHM_EXCL, 0600);
    po = ushm_addr(old);
    fill_pattern(po, 20000, 11);
    ASSERT_RC(ushm_unlink(name), 0);

    devshm_path(name, path, sizeof path);
    if (is_posix() && path[0])
        ck_assert_msg(stat(path, &sb) != 0 && errno == ENOENT, "%s still exists after unlink", path);
    ck_assert_msg(pattern_mismatch(po, 20000, 11) == NONE, "contents changed by unlink");
    po[19999] = 0xee;
    ck_assert_uint_eq(po[19999], 0xee);
    po[19999] = pattern_byte(19999, 11);

    EXPECT_OPEN_FAIL(name, 0, 0, 0, -ENOENT, name, 1);
    EXPECT_OPEN_FAIL(name, 0, USHM_RDONLY, 0, -ENOENT, name, 1);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    EXPECT_UNLINK_FAIL(name, -ENOENT, name);

    fresh = OPEN_OK(name, 20000, USHM_CREATE | USHM_EXCL, 0600);
    ck_assert_int_eq(ushm_created(fresh), 1);
    pn = ushm_addr(fresh);
    ck_assert_ptr_ne(pn, po);
    bad = first_nonzero(pn, 20000);
    ck_assert_msg(bad == NONE, "re-created segment: byte %zu is %#x", bad, pn[bad]);
    memset(pn, 0xab, 20000);
    ck_assert_msg(pattern_mismatch(po, 20000, 11) == NONE, "writing the new segment changed the old one");
    ASSERT_NATTACH(name, 1);
    CLOSE_OK(old);
    ck_assert_uint_eq(pn[0], 0xab);
    ASSERT_NATTACH(name, 1);
    CLOSE_OK(fresh);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Close                                                                */

START_TEST(test_close_two_handles)
{
    char name[NAMEBUF];
    ushm_t *a, *b, *c;
    volatile unsigned char *pb;

    NEW_NAME(name);
    a = OPEN_OK(name, 4097, USHM_CREATE | USHM_EXCL, 0600);
    ASSERT_NATTACH(name, 1);
    b = OPEN_OK(name, 0, 0, 0);
    ASSERT_NATTACH(name, 2);
    ((unsigned char *)ushm_addr(a))[4096] = 0x17;
    pb = ushm_addr(b);
    ck_assert_uint_eq(pb[4096], 0x17);

    CLOSE_OK(a);
    ASSERT_NATTACH(name, 1);
    ck_assert_uint_eq(pb[4096], 0x17);
    pb[0] = 0x71;
    ck_assert_uint_eq(pb[0], 0x71);
    ck_assert_uint_eq(ushm_size(b), 4097);
    ck_assert_pstr_eq(ushm_name(b), name);

    c = OPEN_OK(name, 0, 0, 0);
    ck_assert_uint_eq(((unsigned char *)ushm_addr(c))[0], 0x71);
    CLOSE_OK(b);
    CLOSE_OK(c);
    ASSERT_NATTACH(name, 0);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Fork                                                                 */

struct fork_arg {
    const char *name;
    ushm_t *inherited;
};

static int child_attach_by_name(void *arg, char *msg, size_t len)
{
    struct fork_arg *f = arg;
    ushm_t *h = DUMMY;
    int rc = ushm_open(&h, f->name, 0, 0, 0);

    CHILD_EXPECT(rc == 0, "child: ushm_open(%s) = %d (%s): %s", f->name, rc, rcstr(rc), last_err());
    CHILD_EXPECT(ushm_created(h) == 0 && ushm_size(h) == 6000, "child: created %d size %zu",
                 ushm_created(h), ushm_size(h));
    CHILD_EXPECT(((unsigned char *)ushm_addr(h))[10] == 0x10, "child: parent's byte missing");
    ((unsigned char *)ushm_addr(h))[5999] = 0xc7;
    CHILD_EXPECT(ushm_close(h) == 0, "child: ushm_close failed");
    /* The inherited handle is closed independently too. */
    CHILD_EXPECT(ushm_close(f->inherited) == 0, "child: closing the inherited handle failed");
    return 0;
}

START_TEST(test_fork_attach_by_name)
{
    char name[NAMEBUF];
    struct fork_arg f;
    unsigned char *p;
    ushm_t *h;

    NEW_NAME(name);
    h = OPEN_OK(name, 6000, USHM_CREATE | USHM_EXCL, 0600);
    p = ushm_addr(h);
    p[10] = 0x10;
    f.name = name;
    f.inherited = h;
    RUN_CHILD(child_attach_by_name, &f, 0);
    ck_assert_uint_eq(p[5999], 0xc7);
    p[0] = 0x01;
    ck_assert_uint_eq(p[0], 0x01);
    ASSERT_NATTACH(name, 1);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/*
 * The child keeps the parent's mapping at the same address, writes through
 * it, then closes its copy while the parent keeps using its own: two pipes
 * order the steps, the child is still alive when the parent checks.
 */
START_TEST(test_fork_same_address)
{
    char name[NAMEBUF];
    int up[2], down[2], status;
    volatile unsigned char *p;
    char c;
    pid_t pid;
    ushm_t *h;

    NEW_NAME(name);
    h = OPEN_OK(name, 3 * 4096, USHM_CREATE | USHM_EXCL, 0600);
    p = ushm_addr(h);
    p[1] = 0xaa;
    ck_assert_int_eq(pipe(up), 0);
    ck_assert_int_eq(pipe(down), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int ok = 1;
        close(up[0]);
        close(down[1]);
        NOTE_PID();
        ok &= ushm_addr(h) == (void *)p && ushm_size(h) == 3 * 4096;
        ok &= p[1] == 0xaa;
        p[2] = 0xbb;                                   /* step 1: write */
        ok &= write(up[1], "1", 1) == 1;
        ok &= read(down[0], &c, 1) == 1;               /* parent checked */
        ok &= ushm_close(h) == 0;                      /* step 2: close our copy */
        ok &= write(up[1], "2", 1) == 1;
        ok &= read(down[0], &c, 1) == 1;               /* parent done */
        _exit(ok ? 0 : 1);
    }
    close(up[1]);
    close(down[0]);
    ck_assert_int_eq(read(up[0], &c, 1), 1);
    ck_assert_uint_eq(p[2], 0xbb);
    ASSERT_NATTACH(name, 2);
    ck_assert_int_eq(write(down[1], "a", 1), 1);
    ck_assert_int_eq(read(up[0], &c, 1), 1);
    ck_assert_int_eq(c, '2');
    /* The child has closed its copy: ours is intact and usable. */
    ASSERT_NATTACH(name, 1);
    ck_assert_uint_eq(p[1], 0xaa);
    ck_assert_uint_eq(p[2], 0xbb);
    p[3 * 4096 - 1] = 0xcc;
    ck_assert_uint_eq(p[3 * 4096 - 1], 0xcc);
    ck_assert_int_eq(write(down[1], "b", 1), 1);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
    close(up[0]);
    close(down[1]);
    ck_assert_uint_eq(p[2], 0xbb);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Anonymous segments                                                   */

static int child_anon_write(void *arg, char *msg, size_t len)
{
    ushm_t *h = arg;
    unsigned char *p = ushm_addr(h);

    CHILD_EXPECT(p[0] == 0x0a && p[4999] == 0x0b, "child: parent's writes not visible");
    p[1] = 0x1c;
    p[4998] = 0x1d;
    CHILD_EXPECT(ushm_close(h) == 0, "child: ushm_close failed");
    return 0;
}

START_TEST(test_anon_shared_with_child)
{
    int sysv_before = sysv_count_cpid(getpid()), fds_before = count_fds(NULL);
    struct backing b;
    char extra[512];
    unsigned char *p;
    ushm_t *h;
    size_t bad;

    h = OPEN_OK(NULL, 5000, USHM_CREATE, 0600);
    ck_assert_ptr_null(ushm_name(h));
    ck_assert_int_eq(ushm_created(h), 1);
    ck_assert_uint_eq(ushm_size(h), 5000);
    p = ushm_addr(h);
    bad = first_nonzero(p, 5000);
    ck_assert_msg(bad == NONE, "anonymous segment: byte %zu is %#x", bad, p[bad]);
    mapping_backing(p, &b);
    ck_assert_msg(devshm_names_of(&b, extra, sizeof extra) == 0,
                  "an anonymous segment (%s) has a name in /dev/shm:%s", b.path, extra);

    p[0] = 0x0a;
    p[4999] = 0x0b;
    RUN_CHILD(child_anon_write, h, 0);
    ck_assert_uint_eq(p[1], 0x1c);
    ck_assert_uint_eq(p[4998], 0x1d);
    CLOSE_OK(h);

    ck_assert_msg(devshm_names_of(&b, extra, sizeof extra) == 0,
                  "closing an anonymous segment left in /dev/shm:%s", extra);
    ck_assert_int_eq(sysv_count_cpid(getpid()), sysv_before);
    ck_assert_int_eq(count_fds(NULL), fds_before);
}
END_TEST

/* Two at once are distinct; the mode of an anonymous segment never keeps its
 * creator from mapping it read-write (0400, or 0 meaning 0600). */
START_TEST(test_anon_independent)
{
    int sysv_before = sysv_count_cpid(getpid());
    ushm_t *a = OPEN_OK(NULL, 4096, USHM_CREATE, 0400);
    ushm_t *b = OPEN_OK(NULL, 4096, USHM_CREATE | USHM_POPULATE, 0);
    unsigned char *pa = ushm_addr(a), *pb = ushm_addr(b);

    ck_assert_ptr_ne(pa, pb);
    memset(pa, 0x3a, 4096);
    ck_assert_msg(first_nonzero(pb, 4096) == NONE, "two anonymous segments share memory");
    pb[4095] = 0x3b;
    ck_assert_uint_eq(pa[4095], 0x3a);
    ck_assert_int_eq(ushm_created(a), 1);
    ck_assert_int_eq(ushm_created(b), 1);
    ck_assert_ptr_null(ushm_name(b));
    CLOSE_OK(a);
    CLOSE_OK(b);
    ck_assert_msg(sysv_count_cpid(getpid()) == sysv_before,
                  "closed anonymous segments are still in /proc/sysvipc/shm");
}
END_TEST

/*
 * A child makes an anonymous segment and dies without closing it (SIGKILL:
 * abrupt, and no exit handler of a leak checker sees the handle); nothing of
 * it may outlive the child.
 */
START_TEST(test_anon_freed_on_exit)
{
    struct { int rc; struct backing b; } r = { 1, { 0, 0, 0, "" } };
    char extra[512];
    int p[2], status;
    ssize_t got;
    pid_t pid;

    ck_assert_int_eq(pipe(p), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ushm_t *h = NULL;
        close(p[0]);
        NOTE_PID();
        r.rc = ushm_open(&h, NULL, 3 * 4096 + 1, USHM_CREATE, 0600);
        if (r.rc == 0) {
            ((volatile unsigned char *)ushm_addr(h))[3 * 4096] = 1;
            mapping_backing(ushm_addr(h), &r.b);
        }
        if (write(p[1], &r, sizeof r) != sizeof r)
            _exit(1);
        kill(getpid(), SIGKILL);
        _exit(2);
    }
    close(p[1]);
    got = read(p[0], &r, sizeof r);
    close(p[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(got == sizeof r && r.rc == 0, "child: anonymous ushm_open = %d (%s)", r.rc, rcstr(r.rc));
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %#x", status);
    ck_assert_msg(sysv_count_cpid(pid) == 0, "an anonymous SysV segment of pid %ld outlived it", (long)pid);
    ck_assert_msg(devshm_names_of(&r.b, extra, sizeof extra) == 0,
                  "an anonymous segment (%s) outlived its process in /dev/shm:%s", r.b.path, extra);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Racing creators                                                      */

#define RACE_PROCS 8
#define RACE_ROUNDS 50
#define RACE_SIZE (2 * 4096 + 123)

struct race {
    pthread_barrier_t barrier;
    char names[RACE_ROUNDS][NAMEBUF];
    int rc[RACE_ROUNDS][RACE_PROCS];
    int created[RACE_ROUNDS][RACE_PROCS];
    size_t size[RACE_ROUNDS][RACE_PROCS];
    int mismatches[RACE_ROUNDS][RACE_PROCS];
    int unlink_rc[RACE_ROUNDS];
};

static uint32_t race_tag(int round, int who) { return 0x52000000u | (uint32_t)(round << 8) | (uint32_t)(who + 1); }

/* Every worker passes every barrier whatever happens, so none can hang the others. */
static void race_worker(struct race *r, int me)
{
    NOTE_PID();
    for (int k = 0; k < RACE_ROUNDS; k++) {
        ushm_t *h = NULL;
        int rc;

        pthread_barrier_wait(&r->barrier);
        rc = ushm_open(&h, r->names[k], RACE_SIZE, USHM_CREATE, 0600);
        r->rc[k][me] = rc;
        if (rc == 0) {
            r->created[k][me] = ushm_created(h);
            r->size[k][me] = ushm_size(h);
            if (ushm_size(h) >= RACE_SIZE)
                __atomic_store_n((uint32_t *)ushm_addr(h) + me, race_tag(k, me), __ATOMIC_SEQ_CST);
        }
        pthread_barrier_wait(&r->barrier);
        if (rc == 0 && ushm_size(h) >= RACE_SIZE) {
            const uint32_t *w = ushm_addr(h);
            const unsigned char *b = ushm_addr(h);
            for (int j = 0; j < RACE_PROCS; j++)
                r->mismatches[k][me] += __atomic_load_n(w + j, __ATOMIC_SEQ_CST) != race_tag(k, j);
            r->mismatches[k][me] += b[RACE_SIZE - 1] != 0;
        }
        pthread_barrier_wait(&r->barrier);
        if (rc == 0)
            ushm_close(h);
        if (me == 0)
            r->unlink_rc[k] = ushm_unlink(r->names[k]);
    }
}

START_TEST(test_race_create)
{
    pthread_barrierattr_t ba;
    pid_t pids[RACE_PROCS];
    struct race *r;
    int status;

    r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(r, MAP_FAILED);
    for (int k = 0; k < RACE_ROUNDS; k++)
        NEW_NAME(r->names[k]);
    pthread_barrierattr_init(&ba);
    ck_assert_int_eq(pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED), 0);
    ck_assert_int_eq(pthread_barrier_init(&r->barrier, &ba, RACE_PROCS), 0);
    pthread_barrierattr_destroy(&ba);

    for (int i = 0; i < RACE_PROCS; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            race_worker(r, i);
            _exit(0);
        }
    }
    /* A worker that dies would strand the others at a barrier: kill them. */
    for (int left = RACE_PROCS; left > 0; left--) {
        pid_t pid = waitpid(-1, &status, 0);
        int abnormal = pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        if (pid < 0)
            break;
        for (int i = 0; i < RACE_PROCS; i++)
            if (pids[i] == pid)
                pids[i] = 0;
        if (abnormal) {
            for (int i = 0; i < RACE_PROCS; i++)
                if (pids[i] > 0) {
                    kill(pids[i], SIGKILL);
                    waitpid(pids[i], NULL, 0);
                }
            ck_abort_msg("race worker %ld died (status %#x)", (long)pid, status);
        }
    }
    for (int k = 0; k < RACE_ROUNDS; k++) {
        int creators = 0;
        for (int i = 0; i < RACE_PROCS; i++) {
            ck_assert_msg(r->rc[k][i] == 0, "round %d worker %d: ushm_open = %d (%s)", k, i,
                          r->rc[k][i], rcstr(r->rc[k][i]));
            ck_assert_msg(r->size[k][i] == RACE_SIZE, "round %d worker %d mapped %zu bytes, want %d",
                          k, i, r->size[k][i], RACE_SIZE);
            ck_assert_msg(r->mismatches[k][i] == 0, "round %d worker %d saw %d wrong words", k, i,
                          r->mismatches[k][i]);
            creators += r->created[k][i];
        }
        ck_assert_msg(creators == 1, "round %d: %d workers say they created %s", k, creators, r->names[k]);
        ck_assert_msg(r->unlink_rc[k] == 0, "round %d: ushm_unlink = %d", k, r->unlink_rc[k]);
    }
    pthread_barrier_destroy(&r->barrier);
    munmap(r, sizeof *r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Descriptors                                                          */

START_TEST(test_no_descriptor_left)
{
    char name[NAMEBUF], missing[NAMEBUF];
    int base_inh, inh, base, n;
    ushm_t *h[4];

    base = count_fds(&base_inh);
    if (base < 0) {
        printf("SKIP test_no_descriptor_left: no /proc/self/fd\n");
        return;
    }
    NEW_NAME(name);
    NEW_NAME(missing);
    /* A descriptor may only survive ushm_open() if it is close-on-exec. */
    h[0] = OPEN_OK(name, 4096, USHM_CREATE | USHM_EXCL, 0600);
    h[1] = OPEN_OK(name, 0, 0, 0);
    h[2] = OPEN_OK(name, 0, USHM_RDONLY | USHM_POPULATE, 0);
    h[3] = OPEN_OK(NULL, 4096, USHM_CREATE, 0600);
    n = count_fds(&inh);
    ck_assert_msg(inh == base_inh, "inheritable descriptors %d -> %d with 4 segments open", base_inh, inh);

    /* Failures leave nothing at all (EXPECT_OPEN_FAIL counts descriptors too). */
    EXPECT_OPEN_FAIL(missing, 0, 0, 0, -ENOENT, missing, 1);
    EXPECT_OPEN_FAIL(name, 4096, USHM_CREATE | USHM_EXCL, 0600, -EEXIST, name, 1);
    EXPECT_OPEN_FAIL(name, 8192, 0, 0, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(missing, 0, USHM_CREATE, 0600, -EINVAL, missing, 0);
    EXPECT_OPEN_FAIL(NULL, 0, USHM_CREATE, 0600, -EINVAL, NULL, 0);
    ck_assert_int_eq(count_fds(NULL), n);

    for (int i = 0; i < 4; i++)
        CLOSE_OK(h[i]);
    ck_assert_msg(count_fds(&inh) == base && inh == base_inh,
                  "descriptors %d -> %d after closing every segment", base, count_fds(NULL));
    ASSERT_RC(ushm_unlink(name), 0);
    ck_assert_int_eq(count_fds(NULL), base);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Failure paths leave nothing                                          */

START_TEST(test_fail_no_leak)
{
    char name[NAMEBUF], missing[NAMEBUF];
    ushm_t *h;

    NEW_NAME(name);
    NEW_NAME(missing);
    h = OPEN_OK(name, 10000, USHM_CREATE | USHM_EXCL, 0600);
    EXPECT_OPEN_FAIL(missing, 0, USHM_CREATE, 0600, -EINVAL, missing, 0);
    EXPECT_OPEN_FAIL(missing, 0, 0, 0, -ENOENT, missing, 1);
    EXPECT_OPEN_FAIL(name, 10001, 0, 0, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(name, 10001, USHM_CREATE, 0600, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(name, 10000, USHM_CREATE | USHM_EXCL, 0600, -EEXIST, name, 1);
    EXPECT_OPEN_FAIL(missing, 4096, USHM_CREATE | 0x200, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(missing, 4096, USHM_CREATE, 01600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(missing, 4096, USHM_CREATE | USHM_RDONLY, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL("/a/b", 4096, USHM_CREATE, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(NULL, 4096, 0, 0600, -EINVAL, NULL, 0);
    ASSERT_RC(ushm_open(NULL, missing, 4096, USHM_CREATE, 0600), -EINVAL);
    EXPECT_STAT_FAIL(missing, -ENOENT, missing);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/*
 * A failure after the segment was made (no address space left to map it)
 * must undo the creation: APR's classic leak of a SysV segment when shmat
 * fails after shmget.  Runs in a child that lowers its own RLIMIT_AS.
 */
static int child_fail_after_create(void *arg, char *msg, size_t len)
{
    const char *name = arg;
    const size_t big = 1024 * MiB;
    unsigned long vm_pages = 0;
    struct probe before, after;
    struct ushm_stat st;
    struct rlimit rl;
    char why[128];
    ushm_t *h;
    FILE *f;
    int rc;

    f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%lu", &vm_pages) != 1) {
        if (f)
            fclose(f);
        snprintf(msg, len, "SKIP: no /proc/self/statm to size RLIMIT_AS");
        return 0;
    }
    fclose(f);
    if (!fc_rlimit_as_enforced()) {
        snprintf(msg, len, "SKIP: RLIMIT_AS is not enforced here (an emulator?)");
        return 0;
    }
    rl.rlim_cur = rl.rlim_max = (rlim_t)(vm_pages * page_size() + 64 * MiB);
    CHILD_EXPECT(setrlimit(RLIMIT_AS, &rl) == 0, "setrlimit(RLIMIT_AS): %s", strerror(errno));

    for (int anon = 0; anon < 2; anon++) {
        const char *n = anon ? NULL : name;
        probe_take(&before);
        h = DUMMY;
        rc = ushm_open(&h, n, big, USHM_CREATE | USHM_EXCL, 0600);
        if (rc == 0) {
            ushm_close(h);
            if (n)
                ushm_unlink(n);
        }
        CHILD_EXPECT(rc == -ENOMEM && h == NULL, "ushm_open(%s, 1 GiB) under RLIMIT_AS = %d (%s), "
                     "handle %p; want -ENOMEM and NULL", n ? n : "NULL", rc, rcstr(rc), (void *)h);
        CHILD_EXPECT(strstr(last_err(), "RLIMIT_AS") && (!n || strstr(last_err(), n)),
                     "last error \"%s\" names neither the segment nor RLIMIT_AS", last_err());
        probe_take(&after);
        CHILD_EXPECT(!probe_differs(&before, &after, why, sizeof why),
                     "a failed mapping of %s left: %s", n ? n : "an anonymous segment", why);
        if (n) {
            rc = ushm_stat(n, &st);
            CHILD_EXPECT(rc == -ENOENT, "after the failed mapping ushm_stat(%s) = %d (%s): "
                         "the segment it made was not removed", n, rc, rcstr(rc));
        }
    }
    return 0;
}

START_TEST(test_fail_after_create)
{
    char name[NAMEBUF], cmsg[512];
    int st;

    NEW_NAME(name);
    st = run_child(child_fail_after_create, name, 0, cmsg, sizeof cmsg);
    ck_assert_msg(st == 0, "child failed (status %d): %s", st, cmsg);
    if (strncmp(cmsg, "SKIP", 4) == 0)
        printf("%s (test_fail_after_create)\n", cmsg);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
}
END_TEST

/* Whether asking for SIZE_MAX/2 bytes is safe to try here (see below). */
static int huge_is_safe(void)
{
    struct statvfs vf;
    FILE *f;
    int oc = 0;

    if (is_posix())
        /* tmpfs refuses an impossible fallocate at once only when it has a size limit. */
        return statvfs("/dev/shm", &vf) != 0 || vf.f_blocks > 0;
    f = fopen("/proc/sys/vm/overcommit_memory", "r");
    if (f) {
        if (fscanf(f, "%d", &oc) != 1)
            oc = 0;
        fclose(f);
    }
    /* With overcommit "always" the kernel would hand out the 8 EiB segment. */
    return oc != 1;
}

START_TEST(test_fail_huge)
{
    /* SIZE_MAX / 2 is a size a 32-bit process may well get. */
    const size_t sizes[] = { sizeof(size_t) > 4 ? SIZE_MAX / 2 : SIZE_MAX - 8191, SIZE_MAX - 4095 };
    char name[NAMEBUF];

    if (!huge_is_safe()) {
        printf("SKIP test_fail_huge: this system would grant or try to fill the segment\n");
        return;
    }
    NEW_NAME(name);
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        struct probe before, after;
        ushm_t *h = DUMMY;
        const char *msg;
        char why[128];
        int rc;

        probe_take(&before);
        rc = ushm_open(&h, name, sizes[i], USHM_CREATE | USHM_EXCL, 0600);
        msg = last_err();
        if (rc == 0) {
            ushm_close(h);
            ushm_unlink(name);
        }
        ck_assert_msg(rc == -EINVAL || rc == -ENOSPC || rc == -ENOMEM,
                      "ushm_open(%s, %zu bytes) = %d (%s), want -EINVAL, -ENOSPC or -ENOMEM",
                      name, sizes[i], rc, rcstr(rc));
        ck_assert_ptr_null(h);
        ck_assert_msg(strstr(msg, name) && strchr(msg, '('),
                      "huge size: last error \"%s\" names neither %s nor the system call", msg, name);
        probe_take(&after);
        ck_assert_msg(!probe_differs(&before, &after, why, sizeof why), "huge size left: %s", why);
        EXPECT_STAT_FAIL(name, -ENOENT, name);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* ushm_stat                                                            */

START_TEST(test_stat_fields)
{
    char name[NAMEBUF];
    struct ushm_stat st;
    ushm_t *a, *b;

    NEW_NAME(name);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    a = OPEN_OK(name, 7777, USHM_CREATE | USHM_EXCL, 0640);
    memset(&st, 0x55, sizeof st);
    ASSERT_RC(ushm_stat(name, &st), 0);
    ck_assert_uint_eq(st.size, 7777);
    ck_assert_uint_eq(st.mode, 0640);
    ck_assert_uint_eq(st.uid, geteuid());
    ck_assert_uint_eq(st.gid, getegid());
    ck_assert_int_eq(st.nattach, is_sysv() ? 1 : -1);
    /* ushm_stat does not attach. */
    ASSERT_NATTACH(name, 1);

    b = OPEN_OK(name + 1, 0, USHM_RDONLY, 0);
    ASSERT_RC(ushm_stat(name + 1, &st), 0);
    ck_assert_int_eq(st.nattach, is_sysv() ? 2 : -1);
    ck_assert_uint_eq(st.size, 7777);
    CLOSE_OK(a);
    ASSERT_NATTACH(name, 1);
    CLOSE_OK(b);
    ASSERT_RC(ushm_stat(name, &st), 0);
    ck_assert_int_eq(st.nattach, is_sysv() ? 0 : -1);
    ck_assert_uint_eq(st.size, 7777);
    ck_assert_uint_eq(st.mode, 0640);
    ASSERT_RC(ushm_unlink(name), 0);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    EXPECT_STAT_FAIL(name + 1, -ENOENT, name);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Threads                                                              */

#define THREADS 8
#define THREAD_LOOPS 40

struct thread_job {
    int id;
    pthread_barrier_t *start;
    char err[256];
};

static void *thread_loops(void *arg)
{
    struct thread_job *j = arg;

    pthread_barrier_wait(j->start); /* all eight at once */
    for (int k = 0; k < THREAD_LOOPS; k++) {
        char name[NAMEBUF];
        size_t size = 1000 + (size_t)j->id * 131 + (size_t)k;
        struct ushm_stat st;
        ushm_t *a = NULL, *b = NULL;
        int rc;

        NEW_NAME(name);
        rc = ushm_open(&a, name, size, USHM_CREATE | USHM_EXCL, 0600);
        if (rc != 0 || ushm_created(a) != 1 || ushm_size(a) != size ||
            first_nonzero(ushm_addr(a), size) != NONE) {
            snprintf(j->err, sizeof j->err, "loop %d: create %s = %d (%s)", k, name, rc, rcstr(rc));
            if (rc == 0)
                ushm_close(a);
            ushm_unlink(name);
            return NULL;
        }
        memset(ushm_addr(a), j->id + 1, size);
        rc = ushm_open(&b, name, 0, 0, 0);
        if (rc != 0 || ushm_created(b) != 0 || ushm_size(b) != size ||
            ((unsigned char *)ushm_addr(b))[size - 1] != j->id + 1) {
            snprintf(j->err, sizeof j->err, "loop %d: reopen %s = %d (%s)", k, name, rc, rcstr(rc));
            ushm_close(a);
            if (rc == 0)
                ushm_close(b);
            ushm_unlink(name);
            return NULL;
        }
        if (ushm_close(a) != 0 || ushm_close(b) != 0 || (rc = ushm_unlink(name)) != 0 ||
            ushm_stat(name, &st) != -ENOENT) {
            snprintf(j->err, sizeof j->err, "loop %d: close/unlink/stat of %s (unlink %d)", k, name, rc);
            return NULL;
        }
    }
    return NULL;
}

START_TEST(test_threads_loops)
{
    pthread_t t[THREADS];
    struct thread_job jobs[THREADS];
    pthread_barrier_t start;

    ck_assert_int_eq(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++) {
        jobs[i].id = i;
        jobs[i].start = &start;
        jobs[i].err[0] = '\0';
        ck_assert_int_eq(pthread_create(&t[i], NULL, thread_loops, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < THREADS; i++)
        ck_assert_msg(jobs[i].err[0] == '\0', "thread %d: %s", i, jobs[i].err);
}
END_TEST

struct err_job {
    pthread_barrier_t *barrier;
    char name[NAMEBUF];
    int rc;
    int null_shm;
    int msg_null;
    char msg[512];
};

static void *thread_fail(void *arg)
{
    struct err_job *j = arg;
    ushm_t *h = DUMMY;
    const char *m;

    j->rc = ushm_open(&h, j->name, 0, 0, 0);
    j->null_shm = h == NULL;
    pthread_barrier_wait(j->barrier); /* both have failed before either reads */
    m = ushm_last_error();
    j->msg_null = m == NULL;
    snprintf(j->msg, sizeof j->msg, "%s", m ? m : "");
    pthread_barrier_wait(j->barrier);
    return NULL;
}

static void *thread_fresh_error(void *arg)
{
    *(int *)arg = ushm_last_error() != NULL;
    return NULL;
}

START_TEST(test_threads_last_error)
{
    pthread_barrier_t bar;
    struct err_job ja, jb;
    char mine[NAMEBUF], kept[512];
    pthread_t ta, tb;
    int fresh = 0;
    ushm_t *h = DUMMY;

    NEW_NAME_SUFFIX(mine, "M");
    NEW_NAME_SUFFIX(ja.name, "A");
    NEW_NAME_SUFFIX(jb.name, "B");
    ASSERT_RC(ushm_open(&h, mine, 0, 0, 0), -ENOENT);
    snprintf(kept, sizeof kept, "%s", last_err());
    ck_assert_msg(strstr(kept, mine), "main thread's error \"%s\" does not name %s", kept, mine);

    ck_assert_int_eq(pthread_barrier_init(&bar, NULL, 2), 0);
    ja.barrier = jb.barrier = &bar;
    ck_assert_int_eq(pthread_create(&ta, NULL, thread_fail, &ja), 0);
    ck_assert_int_eq(pthread_create(&tb, NULL, thread_fail, &jb), 0);
    ck_assert_int_eq(pthread_join(ta, NULL), 0);
    ck_assert_int_eq(pthread_join(tb, NULL), 0);
    pthread_barrier_destroy(&bar);

    ck_assert_int_eq(ja.rc, -ENOENT);
    ck_assert_int_eq(jb.rc, -ENOENT);
    ck_assert(ja.null_shm && jb.null_shm);
    ck_assert(!ja.msg_null && !jb.msg_null);
    ck_assert_msg(strstr(ja.msg, ja.name) && !strstr(ja.msg, jb.name),
                  "thread A sees \"%s\", want its own %s", ja.msg, ja.name);
    ck_assert_msg(strstr(jb.msg, jb.name) && !strstr(jb.msg, ja.name),
                  "thread B sees \"%s\", want its own %s", jb.msg, jb.name);
    ck_assert_msg(strstr(last_err(), mine) && !strstr(last_err(), ja.name) && !strstr(last_err(), jb.name),
                  "main thread's error became \"%s\"", last_err());

    ck_assert_int_eq(pthread_create(&ta, NULL, thread_fresh_error, &fresh), 0);
    ck_assert_int_eq(pthread_join(ta, NULL), 0);
    ck_assert_msg(fresh, "ushm_last_error() is NULL in a new thread");
}
END_TEST

/* ------------------------------------------------------------------ */
/* A POSIX object left at size 0 by a creator that died half-way         */

static int skip_unless_posix(const char *what)
{
    if (is_posix())
        return 0;
    printf("SKIP %s (%s backend): a half-made POSIX object cannot exist on SysV\n",
           what, ushm_backend());
    fflush(stdout);
    return 1;
}

static void make_half_made(const char *name)
{
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    ck_assert_msg(fd >= 0, "shm_open(%s): %s", name, strerror(errno));
    close(fd);
}

START_TEST(test_halfmade_completed)
{
    char name[NAMEBUF];
    struct ushm_stat st;
    ushm_t *h;
    size_t bad;

    if (skip_unless_posix("test_halfmade_completed"))
        return;
    NEW_NAME(name);
    make_half_made(name);
    EXPECT_OPEN_FAIL(name, 0, 0, 0, -ENOENT, name, 0);
    EXPECT_OPEN_FAIL(name, 100, 0, 0, -ENOENT, name, 0);
    EXPECT_OPEN_FAIL(name, 0, USHM_RDONLY, 0, -ENOENT, name, 0);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    EXPECT_OPEN_FAIL(name, 0, USHM_CREATE, 0600, -EINVAL, name, 0);

    h = OPEN_OK(name, 8000, USHM_CREATE, 0640);
    ck_assert_int_eq(ushm_created(h), 1);
    ck_assert_uint_eq(ushm_size(h), 8000);
    bad = first_nonzero(ushm_addr(h), 8000);
    ck_assert_msg(bad == NONE, "completed segment: byte %zu not zero", bad);
    ASSERT_RC(ushm_stat(name, &st), 0);
    ck_assert_uint_eq(st.size, 8000);
    ck_assert_uint_eq(st.mode, 0640);
    CLOSE_OK(h);
    h = OPEN_OK(name, 0, 0, 0);
    ck_assert_int_eq(ushm_created(h), 0);
    ck_assert_uint_eq(ushm_size(h), 8000);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

START_TEST(test_halfmade_excl)
{
    char name[NAMEBUF];
    ushm_t *h;

    if (skip_unless_posix("test_halfmade_excl"))
        return;
    NEW_NAME(name);
    make_half_made(name);
    /* A half-made object counts as missing, also for CREATE|EXCL. */
    h = OPEN_OK(name, 4096, USHM_CREATE | USHM_EXCL, 0600);
    ck_assert_int_eq(ushm_created(h), 1);
    ck_assert_uint_eq(ushm_size(h), 4096);
    EXPECT_OPEN_FAIL(name, 4096, USHM_CREATE | USHM_EXCL, 0600, -EEXIST, name, 1);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

START_TEST(test_halfmade_unlink)
{
    char name[NAMEBUF], path[NAMEBUF + 16];
    struct stat sb;
    int fd;

    if (skip_unless_posix("test_halfmade_unlink"))
        return;
    NEW_NAME(name);
    make_half_made(name);
    ASSERT_RC(ushm_unlink(name), 0);
    fd = shm_open(name, O_RDONLY, 0);
    if (fd >= 0)
        close(fd);
    ck_assert_msg(fd < 0 && errno == ENOENT, "half-made %s still exists after ushm_unlink", name);
    devshm_path(name, path, sizeof path);
    if (path[0])
        ck_assert_msg(stat(path, &sb) != 0, "%s still exists", path);
    EXPECT_UNLINK_FAIL(name, -ENOENT, name);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A big prefaulted segment                                             */

static int big_fits(size_t size)
{
    struct statvfs vf;
    unsigned long long max = 0, all = 0;
    FILE *f;

    if (is_posix()) {
        if (statvfs("/dev/shm", &vf) == 0 && vf.f_blocks > 0 &&
            (unsigned long long)vf.f_bavail * vf.f_frsize < size + 32 * MiB)
            return 0;
        return 1;
    }
    if ((f = fopen("/proc/sys/kernel/shmmax", "r"))) {
        if (fscanf(f, "%llu", &max) != 1)
            max = 0;
        fclose(f);
    }
    if ((f = fopen("/proc/sys/kernel/shmall", "r"))) {
        if (fscanf(f, "%llu", &all) != 1)
            all = 0;
        fclose(f);
    }
    return (max == 0 || max >= size) && (all == 0 || all >= size / page_size());
}

START_TEST(test_big_populate)
{
    const size_t size = 256 * MiB, page = page_size();
    char name[NAMEBUF];
    volatile unsigned char *p;
    ushm_t *h;

    if (!big_fits(size)) {
        printf("SKIP test_big_populate (%s backend): the system allows less than 256 MiB\n",
               ushm_backend());
        return;
    }
    NEW_NAME(name);
    h = OPEN_OK(name, size, USHM_CREATE | USHM_EXCL | USHM_POPULATE, 0600);
    ck_assert_int_eq(ushm_created(h), 1);
    ck_assert_uint_eq(ushm_size(h), size);
    p = ushm_addr(h);
    for (size_t off = 0; off < size; off += page) {
        size_t at = off + (off / page * 64) % page;
        if (p[off] != 0 || p[at] != 0 || p[off + page - 1] != 0)
            ck_abort_msg("page at %zu of a new 256 MiB segment is not zero", off);
    }
    p[0] = 0xf0;
    p[size - 1] = 0x0f;
    ck_assert_uint_eq(p[0], 0xf0);
    ck_assert_uint_eq(p[size - 1], 0x0f);
    CLOSE_OK(h);
    h = OPEN_OK(name, 0, USHM_RDONLY, 0);
    ck_assert_uint_eq(ushm_size(h), size);
    ck_assert_uint_eq(((unsigned char *)ushm_addr(h))[size - 1], 0x0f);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Huge pages: both outcomes                                            */

#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"
#define HUGE_LOCK "/tmp/ushm-tests-hugepages.lock"

static long meminfo_value(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[160];
    size_t n = strlen(key);
    long v = -1;

    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    if (f)
        fclose(f);
    return v;
}

static long read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;

    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static int write_long(const char *path, long v)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (!f)
        return -1;
    ok = fprintf(f, "%ld\n", v) > 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Does this process's /dev/shm hand out transparent huge pages? */
static int devshm_thp(void)
{
    FILE *f = fopen("/proc/self/mounts", "r");
    char line[512], dir[256], opts[256], mode[128] = "";
    int on = 0;

    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%*s %255s %*s %255s", dir, opts) == 2 && strcmp(dir, "/dev/shm") == 0)
            on = strstr(opts, "huge=always") || strstr(opts, "huge=within_size");
    if (f)
        fclose(f);
    if ((f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "r"))) {
        if (fgets(mode, sizeof mode, f) && strstr(mode, "[force]"))
            on = 1;
        if (strstr(mode, "[deny]"))
            on = 0;
        fclose(f);
    }
    return on;
}

/* valgrind hands huge-page mappings to the kernel its own way (seen: a
 * MAP_HUGETLB mapping granted from an empty pool): no verdict there. */
static int skip_under_valgrind(const char *what)
{
    if (getenv("USHM_UNDER_VALGRIND") == NULL)
        return 0;
    printf("SKIP %s: valgrind does not pass huge-page mappings through faithfully\n", what);
    return 1;
}

/* Segments backed by the hugetlb pool: SysV always, POSIX when anonymous. */
static int uses_hugetlb_pool(const char *name)
{
    return is_sysv() || name == NULL;
}

START_TEST(test_hugepages_unavailable)
{
    long huge_kb = meminfo_value("Hugepagesize"), free_pages = meminfo_value("HugePages_Free");
    char name[NAMEBUF];

    if (huge_kb <= 0) {
        printf("SKIP test_hugepages_unavailable: this kernel has no huge pages\n");
        return;
    }
    if (skip_under_valgrind("test_hugepages_unavailable"))
        return;
    NEW_NAME(name);
    if (!fc_hugetlb_supported((size_t)huge_kb * 1024)) {
        printf("SKIP test_hugepages_unavailable (hugetlb part): this system does not "
               "know MAP_HUGETLB (an emulator?)\n");
    } else if (read_long("/proc/sys/vm/nr_overcommit_hugepages") > 0) {
        printf("SKIP test_hugepages_unavailable (hugetlb part): vm.nr_overcommit_hugepages "
               "lets the kernel add pages on demand\n");
    } else {
        /* One page more than the pool has free. */
        size_t size = (size_t)(free_pages + 1) * (size_t)huge_kb * 1024;
        /* SysV first asks whether the caller may have huge pages at all. */
        int refused = is_sysv() && geteuid() != 0 &&
                      (long)getegid() != read_long("/proc/sys/vm/hugetlb_shm_group");
        int want = refused ? -EPERM : -ENOMEM;
        const char *hint = refused ? "hugetlb_shm_group" : "vm.nr_hugepages";

        EXPECT_OPEN_FAIL(NULL, size, USHM_CREATE | USHM_HUGEPAGES, 0600, want, NULL, 1);
        ck_assert_msg(strstr(ushm_last_error(), hint) != NULL,
                      "the message does not name %s: %s", hint, last_err());
        if (is_sysv()) {
            EXPECT_OPEN_FAIL(name, size, USHM_CREATE | USHM_HUGEPAGES, 0600, want, name, 1);
            ck_assert_msg(strstr(ushm_last_error(), hint) != NULL,
                          "the message does not name %s: %s", hint, last_err());
        }
    }
    if (is_posix() && !devshm_thp()) {
        EXPECT_OPEN_FAIL(name, 4 * MiB, USHM_CREATE | USHM_HUGEPAGES, 0600, -ENOTSUP, name, 0);
        ck_assert_msg(strstr(ushm_last_error(), "huge=within_size") != NULL,
                      "the message does not say how to enable huge pages: %s", last_err());
    }
    EXPECT_STAT_FAIL(name, -ENOENT, name);
}
END_TEST

/* Opens a huge-page segment of 3 pages + 5 bytes, checks it and that the huge pages
 * were used; in the caller's process. */
static int huge_roundtrip(const char *name, char *msg, size_t len)
{
    size_t huge = (size_t)meminfo_value("Hugepagesize") * 1024, size = 3 * huge + 5;
    long free0 = meminfo_value("HugePages_Free"), shmem0 = meminfo_value("ShmemHugePages");
    ushm_t *h = NULL, *again = NULL;
    unsigned char *p;
    int rc = ushm_open(&h, name, size, USHM_CREATE | USHM_EXCL | USHM_HUGEPAGES, 0640);
    struct ushm_stat st;

    CHILD_EXPECT(rc == 0, "ushm_open(%s, HUGEPAGES) = %d: %s", name ? name : "NULL", rc,
                 ushm_last_error());
    CHILD_EXPECT(ushm_size(h) == size && ushm_created(h) == 1, "size %zu created %d",
                 ushm_size(h), ushm_created(h));
    p = ushm_addr(h);
    for (size_t i = 0; i < size; i++)
        CHILD_EXPECT(p[i] == 0, "byte %zu of a new huge-page segment is %u", i, p[i]);
    memset(p, 0xa5, size);
    if (uses_hugetlb_pool(name)) {
        long used = free0 - meminfo_value("HugePages_Free");
        CHILD_EXPECT(used == 4, "HugePages_Free fell by %ld, want 4", used);
    } else {
        long grew = meminfo_value("ShmemHugePages") - shmem0;
        CHILD_EXPECT(grew >= 3 * (long)(huge / 1024), "ShmemHugePages grew by %ld kB, want >= %zu",
                     grew, 3 * huge / 1024);
    }
    if (name) {
        CHILD_EXPECT(ushm_stat(name, &st) == 0 && st.size == size && st.mode == 0640,
                     "stat: %s size %zu mode %o", ushm_last_error(), st.size, (unsigned)st.mode);
        /* Joining needs no flag, and keeps the contents. */
        rc = ushm_open(&again, name, 0, 0, 0);
        CHILD_EXPECT(rc == 0 && ushm_size(again) == size &&
                     ((unsigned char *)ushm_addr(again))[size - 1] == 0xa5,
                     "reopen: %d %s", rc, ushm_last_error());
        CHILD_EXPECT(ushm_close(again) == 0, "close: %s", ushm_last_error());
    }
    CHILD_EXPECT(ushm_close(h) == 0, "close: %s", ushm_last_error());
    if (name)
        CHILD_EXPECT(ushm_unlink(name) == 0, "unlink: %s", ushm_last_error());
    if (uses_hugetlb_pool(name))
        CHILD_EXPECT(meminfo_value("HugePages_Free") == free0, "huge pages not given back: %ld free, had %ld",
                     meminfo_value("HugePages_Free"), free0);
    return 0;
}

static int child_huge_named(void *arg, char *msg, size_t len)
{
    const char *name = arg;

    if (is_posix()) {
        /* A private /dev/shm: first without huge pages, then with them. */
        ushm_t *h = NULL;
        int rc;

        CHILD_EXPECT(unshare(CLONE_NEWNS) == 0, "unshare(CLONE_NEWNS): %s", strerror(errno));
        CHILD_EXPECT(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "mount private: %s",
                     strerror(errno));
        CHILD_EXPECT(mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=64m,huge=never") == 0,
                     "mount tmpfs huge=never: %s", strerror(errno));
        rc = ushm_open(&h, name, 4 * MiB, USHM_CREATE | USHM_HUGEPAGES, 0600);
        CHILD_EXPECT(rc == -ENOTSUP && h == NULL, "huge=never: ushm_open = %d: %s", rc,
                     ushm_last_error());
        CHILD_EXPECT(ushm_unlink(name) == -ENOENT, "huge=never: the failed open left %s", name);
        CHILD_EXPECT(umount("/dev/shm") == 0, "umount: %s", strerror(errno));
        CHILD_EXPECT(mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=64m,huge=within_size") == 0,
                     "mount tmpfs huge=within_size: %s", strerror(errno));
    }
    return huge_roundtrip(name, msg, len);
}

static int child_huge_anon(void *arg, char *msg, size_t len)
{
    (void)arg;
    return huge_roundtrip(NULL, msg, len);
}

/* Restores vm.nr_hugepages if a test that raised it did not. */
static void hugepages_teardown(void)
{
    long saved = __atomic_exchange_n(&name_log->nr_hugepages_saved, -1, __ATOMIC_SEQ_CST);

    if (saved >= 0 && write_long(NR_HUGEPAGES, saved) != 0)
        fprintf(stderr, "could not restore vm.nr_hugepages to %ld\n", saved);
    sweep_teardown();
}

START_TEST(test_hugepages_available)
{
    char name[NAMEBUF];
    long old, huge_kb = meminfo_value("Hugepagesize");
    int lock;

    if (skip_unless_root("test_hugepages_available (reserves huge pages)") ||
        skip_under_valgrind("test_hugepages_available"))
        return;
    if (huge_kb <= 0 || read_long(NR_HUGEPAGES) < 0) {
        printf("SKIP test_hugepages_available: this kernel has no huge pages\n");
        return;
    }
    /* The posix and sysv programs may run at once: one changes the pool at a time. */
    lock = open(HUGE_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ck_assert_msg(lock >= 0 && flock(lock, LOCK_EX) == 0, "lock %s: %s", HUGE_LOCK, strerror(errno));
    old = read_long(NR_HUGEPAGES);
    __atomic_store_n(&name_log->nr_hugepages_saved, old, __ATOMIC_SEQ_CST);
    ck_assert_int_eq(write_long(NR_HUGEPAGES, old + 8), 0);
    if (meminfo_value("HugePages_Free") < 8 || !fc_hugetlb_supported((size_t)huge_kb * 1024)) {
        write_long(NR_HUGEPAGES, old);
        __atomic_store_n(&name_log->nr_hugepages_saved, -1, __ATOMIC_SEQ_CST);
        close(lock);
        printf("SKIP test_hugepages_available: the kernel could not reserve 8 huge pages, "
               "or does not know MAP_HUGETLB (an emulator?)\n");
        return;
    }
    RUN_CHILD(child_huge_anon, NULL, 0);
    NEW_NAME(name);
    RUN_CHILD(child_huge_named, name, 0);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    ck_assert_int_eq(write_long(NR_HUGEPAGES, old), 0);
    __atomic_store_n(&name_log->nr_hugepages_saved, -1, __ATOMIC_SEQ_CST);
    ck_assert_int_eq(read_long(NR_HUGEPAGES), old);
    close(lock);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Text, version, backend                                               */

START_TEST(test_strerror)
{
    static const int errs[] = { ENOENT, EEXIST, EINVAL, ENAMETOOLONG, EACCES, EPERM, ENOSPC, ENOMEM };

    for (size_t i = 0; i < sizeof errs / sizeof *errs; i++) {
        const char *got = ushm_strerror(-errs[i]);
        ck_assert_msg(got != NULL, "ushm_strerror(-%d) is NULL", errs[i]);
        ck_assert_str_eq(got, strerror(errs[i]));
    }
    ck_assert_ptr_nonnull(ushm_strerror(0));
    ck_assert_ptr_nonnull(ushm_strerror(-123456));
    ck_assert_ptr_nonnull(ushm_strerror(7));
}
END_TEST

START_TEST(test_version)
{
    char built[32];

    ck_assert_ptr_nonnull(ushm_version());
    ck_assert_str_eq(ushm_version(), USHM_VERSION_STRING);
    snprintf(built, sizeof built, "%d.%d.%d", USHM_VERSION_MAJOR, USHM_VERSION_MINOR, USHM_VERSION_PATCH);
    ck_assert_str_eq(built, USHM_VERSION_STRING);
#ifdef PACKAGE_VERSION
    ck_assert_str_eq(ushm_version(), PACKAGE_VERSION);
#endif
}
END_TEST

START_TEST(test_backend)
{
    const char *b = ushm_backend(), *want = USHM_TEST_BACKEND;

    ck_assert_ptr_nonnull(b);
    ck_assert_msg(strcmp(b, "posix") == 0 || strcmp(b, "sysv") == 0, "ushm_backend() = \"%s\"", b);
    ck_assert_msg(want != NULL, "the build did not define USHM_TEST_BACKEND");
    ck_assert_str_eq(b, want);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The sweep                                                            */

/* Unlinks every logged name from index from on; returns how many still existed. */
static unsigned sweep_names(unsigned long from, const char *when)
{
    unsigned long n = __atomic_load_n(&name_log->next, __ATOMIC_SEQ_CST);
    unsigned found = 0;

    if (n > LOG_MAX)
        n = LOG_MAX;
    for (unsigned long i = from; i < n; i++) {
        struct log_entry *e = &name_log->e[i];
        int rc;

        if (!__atomic_load_n(&e->ready, __ATOMIC_ACQUIRE) || e->name[0] == '\0')
            continue;
        rc = ushm_unlink(e->name);
        if (rc == -ENOENT || rc == -ENAMETOOLONG)
            continue;
        found++;
        if (rc == 0)
            fprintf(stderr, "LEAK %s: %s (named by %s, pid %ld) still existed; removed\n",
                    when, e->name, e->who, (long)e->pid);
        else
            fprintf(stderr, "LEAK %s: %s (named by %s, pid %ld): ushm_unlink = %d (%s)\n",
                    when, e->name, e->who, (long)e->pid, rc, rcstr(rc));
    }
    return found;
}

static void sweep_teardown(void)
{
    unsigned long n = __atomic_load_n(&name_log->next, __ATOMIC_SEQ_CST);

    umask(saved_umask);
    close_leftover_handles();
    leaks += sweep_names(swept_upto, "after test case");
    swept_upto = n > LOG_MAX ? LOG_MAX : n;
}

static unsigned devshm_leftovers(void)
{
    DIR *d = opendir("/dev/shm");
    struct dirent *de;
    size_t pl = strlen(prefix);
    unsigned n = 0;
    char path[512];

    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, pl) != 0)
            continue;
        fprintf(stderr, "LEAK at exit: /dev/shm/%s; removed\n", de->d_name);
        snprintf(path, sizeof path, "/dev/shm/%s", de->d_name);
        unlink(path);
        n++;
    }
    closedir(d);
    return n;
}

static int pid_is_ours(long pid)
{
    unsigned long n = __atomic_load_n(&name_log->next, __ATOMIC_SEQ_CST);

    if (pid == (long)getpid())
        return 1;
    if (n > LOG_MAX)
        n = LOG_MAX;
    for (unsigned long i = 0; i < n; i++)
        if (name_log->e[i].ready && (long)name_log->e[i].pid == pid)
            return 1;
    return 0;
}

static void sysv_leftover_row(long key, long shmid, long cpid, void *arg)
{
    if (!pid_is_ours(cpid))
        return;
    /* Every process of ours but this one is reaped by now: a live process
     * with that pid is someone else's that reused it. */
    if (cpid != (long)getpid() && (kill((pid_t)cpid, 0) == 0 || errno == EPERM))
        return;
    fprintf(stderr, "LEAK at exit: SysV segment key %#lx shmid %ld made by pid %ld; removed\n",
            (unsigned long)key & 0xffffffffUL, shmid, cpid);
    shmctl((int)shmid, IPC_RMID, NULL);
    ++*(unsigned *)arg;
}

static unsigned sysv_leftovers(void)
{
    unsigned n = 0;
    sysv_each(sysv_leftover_row, &n);
    return n;
}

/* ------------------------------------------------------------------ */

static TCase *add_tcase(Suite *s, const char *name, double timeout)
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, timeout);
    tcase_add_unchecked_fixture(tc, NULL, sweep_teardown);
    suite_add_tcase(s, tc);
    return tc;
}

static void build_suite(Suite *s, int forking)
{
    TCase *tc;

    tc = add_tcase(s, "names", 60);
    tcase_add_test(tc, test_names_slash_optional);
    tcase_add_test(tc, test_names_invalid);
    tcase_add_test(tc, test_names_length);
    tcase_add_test(tc, test_names_dots);

    tc = add_tcase(s, "args", 60);
    tcase_add_test(tc, test_args_null_shm);
    tcase_add_test(tc, test_args_flags_mode);
    tcase_add_test(tc, test_args_rdonly_create);
    tcase_add_test(tc, test_args_anonymous);
    tcase_add_test(tc, test_args_stat_unlink);

    tc = add_tcase(s, "open", 60);
    tcase_add_test(tc, test_open_missing);
    tcase_add_test(tc, test_open_size0_missing);
    tcase_add_loop_test(tc, test_open_sizes, 0, (int)(sizeof open_sizes / sizeof *open_sizes));

    tc = add_tcase(s, "mode", 60);
    tcase_add_loop_test(tc, test_mode_exact, 0, (int)(sizeof mode_cases / sizeof *mode_cases));

    tc = add_tcase(s, "rdonly", 60);
    tcase_add_test(tc, test_rdonly_read);
    if (forking) {
        tc = tcase_create("rdonly_fault");
        tcase_set_timeout(tc, 60);
        tcase_add_unchecked_fixture(tc, rdonly_setup, rdonly_teardown);
        tcase_add_loop_test_raise_signal(tc, test_rdonly_write_faults, SIGSEGV, 0, 3);
        suite_add_tcase(s, tc);
    } else {
        printf("SKIP test_rdonly_write_faults: a SIGSEGV test needs CK_FORK=yes\n");
    }

    tc = add_tcase(s, "permissions", 60);
    tcase_add_test(tc, test_perm_own_readonly);
    tcase_add_test(tc, test_perm_other_user);
    tcase_add_test(tc, test_owner_check);

    tc = add_tcase(s, "unlink", 60);
    tcase_add_test(tc, test_unlink_keeps_mapping);

    tc = add_tcase(s, "close", 60);
    tcase_add_test(tc, test_close_two_handles);

    tc = add_tcase(s, "fork", 60);
    tcase_add_test(tc, test_fork_attach_by_name);
    tcase_add_test(tc, test_fork_same_address);

    tc = add_tcase(s, "anonymous", 60);
    tcase_add_test(tc, test_anon_shared_with_child);
    tcase_add_test(tc, test_anon_independent);
    tcase_add_test(tc, test_anon_freed_on_exit);

    tc = add_tcase(s, "race", 300);
    tcase_add_test(tc, test_race_create);

    tc = add_tcase(s, "descriptors", 60);
    tcase_add_test(tc, test_no_descriptor_left);

    tc = add_tcase(s, "failures", 60);
    tcase_add_test(tc, test_fail_no_leak);
    tcase_add_test(tc, test_fail_huge);
    tcase_add_test(tc, test_fail_after_create);

    tc = add_tcase(s, "stat", 60);
    tcase_add_test(tc, test_stat_fields);

    tc = add_tcase(s, "threads", 300);
    tcase_add_test(tc, test_threads_loops);
    tcase_add_test(tc, test_threads_last_error);

    tc = add_tcase(s, "halfmade", 60);
    tcase_add_test(tc, test_halfmade_completed);
    tcase_add_test(tc, test_halfmade_excl);
    tcase_add_test(tc, test_halfmade_unlink);

    tc = add_tcase(s, "big", 300);
    tcase_add_test(tc, test_big_populate);

    tc = tcase_create("hugepages");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, NULL, hugepages_teardown);
    tcase_add_test(tc, test_hugepages_unavailable);
    tcase_add_test(tc, test_hugepages_available);
    suite_add_tcase(s, tc);

    tc = add_tcase(s, "info", 60);
    tcase_add_test(tc, test_strerror);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_backend);
}

int main(void)
{
    Suite *s;
    SRunner *sr;
    int failed, forking, overflow;
    unsigned exit_leaks;

    /* Check's forked children leave by exit(): nothing may wait in a buffer. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(prefix, sizeof prefix, "u%ldx", (long)getpid());
    saved_umask = umask(022);
    umask(saved_umask);
    name_log = mmap(NULL, sizeof *name_log, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (name_log == MAP_FAILED) {
        perror("mmap name log");
        return EXIT_FAILURE;
    }
    name_log->nr_hugepages_saved = -1;
    if (is_sysv()) {
        FILE *f = fopen("/proc/sys/kernel/shm_rmid_forced", "r");
        int forced = 0;
        if (f) {
            if (fscanf(f, "%d", &forced) != 1)
                forced = 0;
            fclose(f);
        }
        if (forced)
            printf("NOTE kernel.shm_rmid_forced=1: SysV segments vanish when the last "
                   "user detaches, so the reopen-after-close tests will fail here\n");
    }

    s = suite_create("ushm conformance");
    sr = srunner_create(s);
    forking = srunner_fork_status(sr) != CK_NOFORK;
    build_suite(s, forking);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    exit_leaks = sweep_names(0, "at exit");
    exit_leaks += devshm_leftovers();
    exit_leaks += sysv_leftovers();
    overflow = name_log->overflow;
    if (overflow)
        fprintf(stderr, "the name log overflowed (%d entries): some names were not swept\n", LOG_MAX);
    if (leaks + exit_leaks > 0)
        fprintf(stderr, "%u segment(s) were left behind by the tests (see LEAK lines)\n",
                leaks + exit_leaks);
    munmap(name_log, sizeof *name_log);
    return failed == 0 && leaks + exit_leaks == 0 && !overflow ? EXIT_SUCCESS : EXIT_FAILURE;
}
