/* SPDX-License-Identifier: MIT */
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
 *
 * The suite is split by topic into tests/conformance/<topic>.c; each file
 * adds its test cases through conf_add_<topic>().  Three programs are made
 * of them: conformance-posix and conformance-sysv (main.c lists their
 * topics) and conformance-sync (sync-main.c), which runs the
 * backend-independent mutex and event topics once.  The white-box
 * tests/sync-internal uses this file's helpers too, and nothing else does.
 *
 * Each program prints, after Check's own report, one TAP line per case
 * (conf_main()); a case that cannot run here calls skip_case() (or
 * SKIP_CASE()) and returns, and its line says "# SKIP" so that automake
 * (tests/case-driver.sh) counts it as a skip, never as a pass.
 */
#ifndef USHM_CONFORMANCE_COMMON_H
#define USHM_CONFORMANCE_COMMON_H

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
#include <stdarg.h>
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
#include <sys/prctl.h>      /* PR_SET_PDEATHSIG */
#include <sys/sysmacros.h> /* major(), minor() */
#endif
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ushm.h>

#include "../fault-common.h" /* capability probes */

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

#define MAX_SKIPS 256

struct name_log {
    unsigned long next;
    int overflow;
    long nr_hugepages_saved;  /* -1, or vm.nr_hugepages to put back */
    unsigned long cases;      /* test cases begun, counted by a checked fixture */
    unsigned long nskips;
    struct {
        unsigned long seq;    /* the case: its number in the run, from 1 */
        char why[240];
    } skips[MAX_SKIPS];
    struct log_entry e[LOG_MAX];
};
extern struct name_log *name_log;
extern char prefix[24];
extern mode_t saved_umask;
extern unsigned long swept_upto;
extern unsigned leaks;
extern int dummy_byte;

#define DUMMY ((ushm_t *)(void *)&dummy_byte)
unsigned long log_reserve(void);
void log_fill(unsigned long n, const char *name, const char *who);
char *new_name_(char *buf, size_t len, const char *suffix,
                size_t body_len, const char *who);

#define NEW_NAME(buf) new_name_((buf), sizeof(buf), "", 0, __func__)
#define NEW_NAME_SUFFIX(buf, s) new_name_((buf), sizeof(buf), (s), 0, __func__)
#define NEW_NAME_BODY(buf, n) new_name_((buf), sizeof(buf), "", (n), __func__)

/* Log a name derived from a logged one (e.g. "/.<body>") so it is swept too. */
#define LOG_NAME(name) log_fill(log_reserve(), (name), __func__)

/* Log this process's pid: /proc/sysvipc/shm rows with this cpid are ours. */
#define NOTE_PID() log_fill(log_reserve(), "", __func__)

/* ------------------------------------------------------------------ */
/* Small helpers.                                                        */
int is_sysv(void);
int is_posix(void);
const char *last_err(void);
const char *rcstr(int rc);

#define ASSERT_RC(expr, want)                                                  \
    do {                                                                       \
        int rc_ = (expr);                                                      \
        int want_ = (want);                                                    \
        ck_assert_msg(rc_ == want_, "%s = %d (%s), want %d (%s); last error: %s", \
                      #expr, rc_, rcstr(rc_), want_, rcstr(want_), last_err()); \
    } while (0)
size_t page_size(void);
unsigned char pattern_byte(size_t i, unsigned seed);
void fill_pattern(void *p, size_t n, unsigned seed);
size_t pattern_mismatch(const void *p, size_t n, unsigned seed);
size_t first_nonzero(const void *p, size_t n);
int is_aligned(const void *p);
const char *devshm_path(const char *canon, char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Counting what exists: descriptors, /dev/shm entries, SysV segments.  */
int count_fds(int *inheritable);
int devshm_count_prefix(void);
int sysv_each(void (*fn)(long key, long shmid, long cpid, void *arg), void *arg);
struct cpid_count { pid_t pid; int n; };
void count_cpid_row(long key, long shmid, long cpid, void *arg);
int sysv_count_cpid(pid_t pid);

/* What a failed call must not change. */
struct probe {
    int fds;
    int devshm;
    int sysv;
};
void probe_take(struct probe *p);
int probe_differs(const struct probe *a, const struct probe *b, char *why, size_t len);

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
void mapping_backing(const void *addr, struct backing *b);
int devshm_names_of(const struct backing *b, char *out, size_t len);

/* ------------------------------------------------------------------ */
/* Expected failures: exact error, *shm NULL, a message, nothing left.  */
void expect_open_fail(int line, const char *name, size_t size, int flags,
                      mode_t mode, int want, const char *canon, int syscall);

#define EXPECT_OPEN_FAIL(name, size, flags, mode, want, canon, syscall) \
    expect_open_fail(__LINE__, (name), (size), (flags), (mode), (want), (canon), (syscall))
void expect_fail_msg(int line, const char *what, int rc, int want, const char *canon);

#define EXPECT_STAT_FAIL(name, want, canon)                                     \
    do {                                                                         \
        struct ushm_stat st_;                                                    \
        expect_fail_msg(__LINE__, "ushm_stat(" #name ")", ushm_stat((name), &st_), \
                        (want), (canon));                                        \
    } while (0)

#define EXPECT_UNLINK_FAIL(name, want, canon) \
    expect_fail_msg(__LINE__, "ushm_unlink(" #name ")", ushm_unlink(name), (want), (canon))
ushm_t *open_ok(int line, const char *name, size_t size, int flags, mode_t mode);

/*
 * Handles opened through OPEN_OK are remembered until CLOSE_OK, so that the
 * unchecked teardown can close what a failed test left open (with CK_FORK=no
 * the test ran in this very process).  Main thread only.
 */
#define MAX_TRACKED 64
extern ushm_t *tracked[MAX_TRACKED];
ushm_t *track(ushm_t *h);
int close_tracked(ushm_t *h);
void close_leftover_handles(void);

#define OPEN_OK(name, size, flags, mode) track(open_ok(__LINE__, (name), (size), (flags), (mode)))
#define CLOSE_OK(h) ASSERT_RC(close_tracked(h), 0)
long nattach_of(const char *name);

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
int drop_to_nobody(char *msg, size_t len);
uid_t nobody_uid(void);
int run_child(child_fn fn, void *arg, int drop, char *msg, size_t len);

#define RUN_CHILD(fn, arg, drop)                                                   \
    do {                                                                            \
        char cmsg_[1024];                                                           \
        int cst_ = run_child((fn), (arg), (drop), cmsg_, sizeof cmsg_);             \
        ck_assert_msg(cst_ == 0, "child %s%s failed (status %d): %s", #fn,           \
                      (drop) ? " (as nobody)" : "", cst_, cmsg_);                   \
    } while (0)

/*
 * The running case cannot run here (root needed, no huge pages...): it is
 * recorded, from whatever process of the case, and reported as a skip.
 * The caller returns at once; SKIP_CASE() does both.  A case that skips
 * and then fails anyway is reported as failed.
 */
void skip_case(const char *test, const char *fmt, ...) FC_PRINTF(2, 3);
#define SKIP_CASE(...)                      \
    do {                                    \
        skip_case(__func__, __VA_ARGS__);   \
        return;                             \
    } while (0)
int skip_unless_root(const char *what);

/*
 * Guarded children, for calls that another program could make hang: fn
 * runs in a forked child (in new IPC and mount namespaces with a fresh
 * 1777 tmpfs on /dev/shm when private_shm is set: root only) under a
 * deadline.  Each call under test goes between deadline_begin(), which
 * says what is being done, and deadline_end(); if the deadline passes the
 * child reports what hung and exits GUARD_HUNG.  Between calls the child
 * has GUARD_SECS.  run_guarded() returns fn's value (0: passed, GUARD_SKIP:
 * cannot run here, msg says why), GUARD_HUNG, or 256 + signal.  Helpers
 * the guarded child forks come from guard_fork(): they do not hold the
 * pipe and die with it (guard_here() gives one its own deadlines, reported
 * on a pipe of its own).  RUN_GUARDED asserts a pass, or skips the case.
 * private_shm is GUARD_PRIVATE_ROOT (only as root: the case needs other
 * users in there) or GUARD_PRIVATE_ANY (as any user: in a user namespace
 * of its own when not root).
 */
#define GUARD_SECS 20
#define GUARD_HUNG 246 /* apart from CHILD_EXPECT's 1..200 */
#define GUARD_SKIP 245
#define GUARD_PRIVATE_ROOT 1
#define GUARD_PRIVATE_ANY 2
void deadline_begin(unsigned secs, const char *fmt, ...) FC_PRINTF(2, 3);
void deadline_end(void);
double now_secs(void);
pid_t guard_fork(void);
void guard_here(int fd); /* a child of guard_fork() reporting hangs on fd */
int run_guarded(child_fn fn, void *arg, int private_shm, char *msg, size_t len);
#define RUN_GUARDED(fn, arg, private_shm)                                           \
    do {                                                                            \
        char gmsg_[1024];                                                           \
        int gst_ = run_guarded((fn), (arg), (private_shm), gmsg_, sizeof gmsg_);    \
        if (gst_ == GUARD_SKIP) {                                                   \
            skip_case(#fn, "%s", gmsg_);                                            \
        } else {                                                                    \
            ck_assert_msg(gst_ == 0, "%s failed (status %d): %s", #fn, gst_, gmsg_); \
        }                                                                           \
    } while (0)

/*
 * The sweep as a test case's unchecked teardown, and a test case with it.
 * Every test case of a program is made by add_tcase() or
 * add_tcase_fixture() (whose teardown must call sweep_teardown()): they
 * also count the cases, which is how a skip finds its TAP line.
 */
void sweep_teardown(void);
TCase *add_tcase(Suite *s, const char *name, double timeout);
TCase *add_tcase_fixture(Suite *s, const char *name, double timeout,
                         void (*setup)(void), void (*teardown)(void));

/* main() of each program: its topics, run; the exit status. */
int conf_main(const char *title, void (*add_topics)(Suite *s, int forking));

/* One function per topic file, each adding that topic's test cases. */
void conf_add_names(Suite *s, int forking);
void conf_add_args(Suite *s, int forking);
void conf_add_open(Suite *s, int forking);
void conf_add_permissions(Suite *s, int forking);
void conf_add_processes(Suite *s, int forking);
void conf_add_creation(Suite *s, int forking);
void conf_add_pages(Suite *s, int forking);
void conf_add_info(Suite *s, int forking);
void conf_add_sync(Suite *s, int forking);        /* per backend: the segments */
void conf_add_neighbours(Suite *s, int forking);
void conf_add_keys(Suite *s, int forking);
void conf_add_room(Suite *s, int forking);
void conf_add_sync_mutex(Suite *s, int forking);  /* tests/conformance-sync */
void conf_add_sync_robust(Suite *s, int forking);
void conf_add_sync_event(Suite *s, int forking);
void conf_add_sync_shared(Suite *s, int forking);

#endif /* USHM_CONFORMANCE_COMMON_H */
