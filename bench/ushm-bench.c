/* SPDX-License-Identifier: MIT */
/*
 * ushm-bench: what libushm costs against the raw system calls and against
 * APR's apr_shm, on the backend this program is linked with.
 *
 * The same source is built once per backend (bench/ushm-bench-posix,
 * bench/ushm-bench-sysv), the way the conformance suite is; bench/run.sh runs
 * every build there is and merges their CSVs.  Within one program the
 * contenders of an operation are interleaved round-robin (A, B, C, A, B, C,
 * ...) so that drift in the machine's speed hits them all alike, and every
 * number is the median of --runs runs, 7 at least.
 *
 * Operations:
 *   lifecycle    create + map + unmap + remove a 4 KiB segment
 *   attach       map + unmap an existing 4 KiB segment
 *   touch        create a large segment and write one byte per 4 KiB page,
 *                with default pages, USHM_POPULATE and USHM_HUGEPAGES,
 *                against memset() of a buffer that is already faulted in
 *   teardown     close + unlink after touch, timed apart from it
 *   mutex        uncontended lock + unlock of a ushm_mutex_t, against a raw
 *                robust process-shared error-checking pthread mutex in the
 *                same segment (Boost.Interprocess: bench/boost-mutex.cpp)
 *   roundtrip    one process wakes another and waits for its answer, through
 *                two ushm_event_t, against a pipe, a Unix socket pair, two
 *                eventfds and a SysV semaphore set
 *   ring         a producer passes 64-byte records to a consumer process
 *                through a ring in a segment (a ushm_mutex_t and two
 *                ushm_event_t), against the same records through a pipe
 *
 * Every segment it makes has a name unique to its pid; an atexit() sweep and
 * a signal handler (raw system calls only) remove them whatever happens, and
 * the program checks at the end that nothing of its own is left.  The
 * synchronisation benchmarks use one anonymous segment, which the kernel
 * frees with the last process, and the SysV semaphore set of roundtrip is
 * swept like the segments.  Their peer processes die with this one.
 */
#ifndef _GNU_SOURCE /* apr-1.pc's cflags may define it already */
#define _GNU_SOURCE 1 /* MAP_ANONYMOUS, getopt_long, eventfd, prctl */
#endif

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if HAVE_SYS_EVENTFD_H
#include <sys/eventfd.h>
#endif
#if HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include <ushm.h>

#ifdef HAVE_APR
#include <apr.h>
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_shm.h>
#include <apr_version.h>
#endif

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define GiB ((size_t)1 << 30)

#define SMALL_SEG (4 * KiB)    /* the segment of lifecycle and attach */
#define TOUCH_STRIDE (4 * KiB) /* one write per 4 KiB, whatever the page size */
#define MIN_RUNS 7
#define MAX_RUNS 1000
#define MAX_SIZES 8
#define NAME_LEN 64
#define RING_RECORDS 1000000L  /* records per ring run (--records) */

/* ------------------------------------------------------------------ */
/* Options                                                             */

static struct {
    int runs;
    int quick;
    long iterations;          /* lifecycle/attach/mutex/roundtrip batch;
                                 0: calibrate */
    double target_ms;         /* a lifecycle/attach batch lasts about this */
    size_t sizes[MAX_SIZES];
    int nsizes;
    const char *csv_path;
    int do_lifecycle, do_attach, do_touch;
    int do_mutex, do_roundtrip, do_ring;
    long records;             /* ring: records per run */
    const char *only;         /* comma-separated contender names, or NULL */
} opt = {
    .runs = 0,
    .target_ms = 40.0,
    .csv_path = "bench-results.csv",
    .do_lifecycle = 1, .do_attach = 1, .do_touch = 1,
    .do_mutex = 1, .do_roundtrip = 1, .do_ring = 1,
};

static const char *backend;   /* ushm_backend(): "posix" or "sysv" */
static int is_sysv;

/* ------------------------------------------------------------------ */
/* Names, and the sweep that removes them whatever happens             */

/* The sweep only uses what it finds here, so that a signal handler can run
 * it: fixed arrays, filled before the first segment is made. */
static char posix_names[16][NAME_LEN];
static int nposix;
static key_t sysv_keys[16];
static int nsysv;

/* The SysV key of a name, as the library computes it. */
static key_t name_key(const char *name)
{
    key_t key;

    if (ushm_key(name, &key) < 0) {
        fprintf(stderr, "ushm-bench: %s\n", ushm_last_error());
        exit(2);
    }
    return key;
}

/* A name this program uses; the segment behind it is swept at the end.
 * sysv says whether the segment is a SysV one (swept by key). */
static void use_name(char *buf, const char *tag, int sysv)
{
    snprintf(buf, NAME_LEN, "/ushmb%ld-%s", (long)getpid(), tag);
    if (sysv)
        sysv_keys[nsysv++] = name_key(buf);
    else
        snprintf(posix_names[nposix++], NAME_LEN, "%s", buf);
}

static volatile sig_atomic_t swept; /* main() swept and checked: done */
static volatile sig_atomic_t sweep_sem_id = -1; /* roundtrip's semaphores */

static void sweep(void)
{
    pid_t self = getpid();

    if (sweep_sem_id >= 0) {
        semctl(sweep_sem_id, 0, IPC_RMID);
        sweep_sem_id = -1;
    }

    for (int i = 0; i < nposix; i++)
        shm_unlink(posix_names[i]);
    for (int i = 0; i < nsysv; i++) {
        struct shmid_ds ds;
        int id = shmget(sysv_keys[i], 0, 0);

        /* A key is a hash: remove only a segment this process made. */
        if (id >= 0 && shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_cpid == self)
            shmctl(id, IPC_RMID, NULL);
    }
}

static void sweep_at_exit(void)
{
    if (!swept)
        sweep();
}

static void on_signal(int sig)
{
    sweep();
    signal(sig, SIG_DFL);
    raise(sig);
}

static const int caught_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
                                      SIGPIPE, SIGSEGV, SIGBUS, SIGABRT,
                                      SIGFPE, SIGILL };
#define NCAUGHT (sizeof caught_signals / sizeof caught_signals[0])

static void catch_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < NCAUGHT; i++)
        sigaction(caught_signals[i], &sa, NULL);
}

/* Which of our segments are still there; 0 when none. */
static int leftovers(void)
{
    pid_t self = getpid();
    int left = 0;

    for (int i = 0; i < nposix; i++) {
        int fd = shm_open(posix_names[i], O_RDONLY, 0);

        if (fd >= 0) {
            fprintf(stderr, "ushm-bench: left behind: POSIX object %s\n",
                    posix_names[i]);
            close(fd);
            left++;
        }
    }
    for (int i = 0; i < nsysv; i++) {
        struct shmid_ds ds;
        int id = shmget(sysv_keys[i], 0, 0);

        if (id >= 0 && shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_cpid == self) {
            fprintf(stderr, "ushm-bench: left behind: SysV segment key "
                    "0x%08x id %d\n", (unsigned)sysv_keys[i], id);
            left++;
        }
    }
    return left;
}

/* ------------------------------------------------------------------ */
/* Time, errors, statistics                                            */

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The measure: wall time. */
static uint64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/* Beside it, the CPU time of this (only) thread, user + system: what the
 * work cost this process, whatever else the machine was running. */
static uint64_t cpu_ns(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static char why[512]; /* the last failure of a contender, for the report */

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return -1;
}

static int fail_errno(const char *what, const char *name, int err)
{
    return fail("%s(%s): %s", what, name, strerror(err));
}

/* The library's own sentence says which call failed, on which segment and
 * why; the caller's names are only for a library that said nothing. */
static int fail_ushm(const char *what, const char *name, int err)
{
    const char *text = ushm_last_error();

    if (strcmp(text, "no error") == 0)
        return fail("%s(%s): %s", what, name, ushm_strerror(err));
    return fail("%s", text);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

struct stats {
    double median, min, max;
    int n;
};

static struct stats summarize(const double *v, int n)
{
    struct stats s = { 0, 0, 0, n };
    double *tmp;

    if (n == 0)
        return s;
    tmp = malloc((size_t)n * sizeof *tmp);
    if (tmp == NULL) {
        perror("ushm-bench: malloc");
        exit(2);
    }
    memcpy(tmp, v, (size_t)n * sizeof *tmp);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
    s.min = tmp[0];
    s.max = tmp[n - 1];
    s.median = n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
    free(tmp);
    return s;
}

/* ------------------------------------------------------------------ */
/* Contenders                                                          */

enum { OK, UNAVAILABLE, FAILED };

struct contender {
    const char *name;
    int (*prepare)(void);     /* untimed, before the runs; -1: failed,
                                 1: unavailable here (see why) */
    int (*batch)(long n);     /* n timed iterations; -1: see why */
    void (*after_batch)(void);/* untimed, after each batch */
    void (*finish)(void);     /* untimed, after the runs */
    int state;
    char why[512];
    double *ns;               /* ns per operation, one per run */
    double *cpu;              /* CPU ns per operation, one per run */
    int nruns;
};

static int wanted(const char *name)
{
    size_t len = strlen(name);

    if (opt.only == NULL)
        return 1;
    for (const char *p = opt.only; *p != '\0';) {
        size_t n = strcspn(p, ",");

        if (n == len && strncmp(p, name, n) == 0)
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

#define set_state(c, st, text) \
    ((c)->state = (st), snprintf((c)->why, sizeof (c)->why, "%s", (text)))

/* ---- the segments of lifecycle and attach ---- */

static char lc_lib[NAME_LEN], lc_raw[NAME_LEN];   /* lifecycle */
static char at_lib[NAME_LEN], at_raw[NAME_LEN];   /* attach */
static char tc_lib[NAME_LEN];                     /* touch */
static key_t lc_raw_key, at_raw_key;

static void make_names(void)
{
    use_name(lc_lib, "lc-lib", is_sysv);
    use_name(lc_raw, "lc-raw", is_sysv);
    use_name(at_lib, "at-lib", is_sysv);
    use_name(at_raw, "at-raw", is_sysv);
    use_name(tc_lib, "touch", is_sysv);
    /* A raw SysV program would have its key ready: it is not recomputed
     * inside the timed loop. */
    lc_raw_key = name_key(lc_raw);
    at_raw_key = name_key(at_raw);
}

/* ---- libushm ---- */

static int lib_lifecycle(long n)
{
    for (long i = 0; i < n; i++) {
        ushm_t *shm;
        int err = ushm_open(&shm, lc_lib, SMALL_SEG, USHM_CREATE | USHM_EXCL,
                            0600);

        if (err < 0)
            return fail_ushm("ushm_open", lc_lib, err);
        if ((err = ushm_close(shm)) < 0) {
            ushm_unlink(lc_lib);
            return fail_ushm("ushm_close", lc_lib, err);
        }
        if ((err = ushm_unlink(lc_lib)) < 0)
            return fail_ushm("ushm_unlink", lc_lib, err);
    }
    return 0;
}

static ushm_t *at_lib_owner; /* kept mapped: attach joins a segment in use */

static int lib_attach_prepare(void)
{
    int err = ushm_open(&at_lib_owner, at_lib, SMALL_SEG,
                        USHM_CREATE | USHM_EXCL, 0600);

    return err < 0 ? fail_ushm("ushm_open", at_lib, err) : 0;
}

static int lib_attach(long n)
{
    for (long i = 0; i < n; i++) {
        ushm_t *shm;
        int err = ushm_open(&shm, at_lib, 0, 0, 0);

        if (err < 0)
            return fail_ushm("ushm_open", at_lib, err);
        if ((err = ushm_close(shm)) < 0)
            return fail_ushm("ushm_close", at_lib, err);
    }
    return 0;
}

static void lib_attach_finish(void)
{
    ushm_close(at_lib_owner);
    at_lib_owner = NULL;
    ushm_unlink(at_lib);
}

/* ---- raw POSIX: the same guarantees as libushm, by hand ---- */

static int raw_reserve(int fd, size_t size)
{
#if !defined(HAVE_CONFIG_H) || HAVE_POSIX_FALLOCATE
    return posix_fallocate(fd, 0, (off_t)size);
#else
    return ftruncate(fd, (off_t)size) == 0 ? 0 : errno;
#endif
}

static int posix_lifecycle(long n)
{
    for (long i = 0; i < n; i++) {
        int fd = shm_open(lc_raw, O_CREAT | O_EXCL | O_RDWR, 0600), err;
        void *addr;

        if (fd == -1)
            return fail_errno("shm_open", lc_raw, errno);
        if ((err = raw_reserve(fd, SMALL_SEG)) != 0) {
            close(fd);
            shm_unlink(lc_raw);
            return fail_errno("posix_fallocate", lc_raw, err);
        }
        addr = mmap(NULL, SMALL_SEG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (addr == MAP_FAILED) {
            err = errno;
            close(fd);
            shm_unlink(lc_raw);
            return fail_errno("mmap", lc_raw, err);
        }
        munmap(addr, SMALL_SEG);
        close(fd);
        if (shm_unlink(lc_raw) == -1)
            return fail_errno("shm_unlink", lc_raw, errno);
    }
    return 0;
}

static void *at_raw_owner;
static int at_raw_id = -1;

static int posix_attach_prepare(void)
{
    int fd = shm_open(at_raw, O_CREAT | O_EXCL | O_RDWR, 0600), err;

    if (fd == -1)
        return fail_errno("shm_open", at_raw, errno);
    if ((err = raw_reserve(fd, SMALL_SEG)) != 0) {
        close(fd);
        return fail_errno("posix_fallocate", at_raw, err);
    }
    at_raw_owner = mmap(NULL, SMALL_SEG, PROT_READ | PROT_WRITE, MAP_SHARED,
                        fd, 0);
    err = errno;
    close(fd);
    if (at_raw_owner == MAP_FAILED) {
        at_raw_owner = NULL;
        return fail_errno("mmap", at_raw, err);
    }
    return 0;
}

static int posix_attach(long n)
{
    for (long i = 0; i < n; i++) {
        int fd = shm_open(at_raw, O_RDWR, 0);
        struct stat st;
        void *addr;

        if (fd == -1)
            return fail_errno("shm_open", at_raw, errno);
        if (fstat(fd, &st) == -1) {
            close(fd);
            return fail_errno("fstat", at_raw, errno);
        }
        addr = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
                    MAP_SHARED, fd, 0);
        if (addr == MAP_FAILED) {
            close(fd);
            return fail_errno("mmap", at_raw, errno);
        }
        close(fd);
        munmap(addr, (size_t)st.st_size);
    }
    return 0;
}

static void posix_attach_finish(void)
{
    if (at_raw_owner != NULL)
        munmap(at_raw_owner, SMALL_SEG);
    at_raw_owner = NULL;
    shm_unlink(at_raw);
}

/* ---- raw SysV ---- */

static int sysv_lifecycle(long n)
{
    for (long i = 0; i < n; i++) {
        int id = shmget(lc_raw_key, SMALL_SEG, IPC_CREAT | IPC_EXCL | 0600);
        void *addr;

        if (id == -1)
            return fail_errno("shmget", lc_raw, errno);
        addr = shmat(id, NULL, 0);
        if (addr == (void *)-1) {
            int err = errno;

            shmctl(id, IPC_RMID, NULL);
            return fail_errno("shmat", lc_raw, err);
        }
        shmdt(addr);
        if (shmctl(id, IPC_RMID, NULL) == -1)
            return fail_errno("shmctl(IPC_RMID)", lc_raw, errno);
    }
    return 0;
}

static int sysv_attach_prepare(void)
{
    at_raw_id = shmget(at_raw_key, SMALL_SEG, IPC_CREAT | IPC_EXCL | 0600);
    if (at_raw_id == -1)
        return fail_errno("shmget", at_raw, errno);
    at_raw_owner = shmat(at_raw_id, NULL, 0);
    if (at_raw_owner == (void *)-1) {
        int err = errno;

        at_raw_owner = NULL;
        shmctl(at_raw_id, IPC_RMID, NULL);
        at_raw_id = -1;
        return fail_errno("shmat", at_raw, err);
    }
    return 0;
}

static int sysv_attach(long n)
{
    for (long i = 0; i < n; i++) {
        int id = shmget(at_raw_key, 0, 0);
        void *addr;

        if (id == -1)
            return fail_errno("shmget", at_raw, errno);
        addr = shmat(id, NULL, 0);
        if (addr == (void *)-1)
            return fail_errno("shmat", at_raw, errno);
        shmdt(addr);
    }
    return 0;
}

static void sysv_attach_finish(void)
{
    if (at_raw_owner != NULL)
        shmdt(at_raw_owner);
    at_raw_owner = NULL;
    if (at_raw_id != -1)
        shmctl(at_raw_id, IPC_RMID, NULL);
    at_raw_id = -1;
}

/* ---- APR ---- */

#ifdef HAVE_APR
static apr_pool_t *apr_root, *apr_batch;
static char lc_apr[NAME_LEN], at_apr[NAME_LEN]; /* APR takes file names */
static apr_shm_t *at_apr_owner;

static const char *apr_impl(void)
{
#if APR_USE_SHMEM_MMAP_SHM
    return "APR_USE_SHMEM_MMAP_SHM: shm_open + ftruncate + mmap of a POSIX "
           "object named /ShM.<hash of the file name>; no posix_fallocate";
#elif APR_USE_SHMEM_SHMGET
    return "APR_USE_SHMEM_SHMGET: a file for ftok() + shmget + shmat";
#elif APR_USE_SHMEM_MMAP_TMP
    return "APR_USE_SHMEM_MMAP_TMP: an ordinary file, ftruncate + mmap";
#else
    return "unknown APR_USE_SHMEM_* implementation";
#endif
}

static int apr_fail(const char *what, const char *name, apr_status_t st)
{
    char text[256];

    return fail("%s(%s): %s", what, name,
                apr_strerror(st, text, sizeof text));
}

/* APR 1.7 hashes the file name into a POSIX name; the signal-handler sweep
 * needs that name ready, so it is worked out here the way APR does. */
static unsigned rshash(const char *p)
{
    unsigned b = 378551, a = 63689, h = 0;

    for (; *p; p++) {
        h = h * a + (unsigned char)*p;
        a *= b;
    }
    return h;
}

static void use_apr_name(char *buf, const char *tag)
{
    snprintf(buf, NAME_LEN, "/tmp/ushmb%ld-%s", (long)getpid(), tag);
#if APR_USE_SHMEM_MMAP_SHM
    {
        apr_ssize_t len = (apr_ssize_t)strlen(buf);
        unsigned h1 = apr_hashfunc_default(buf, &len) & 0xffffffffu;

        snprintf(posix_names[nposix++], NAME_LEN, "/ShM.%xH%x", h1,
                 rshash(buf) & 0xffffffffu);
    }
#endif
}

static void apr_sweep(void)
{
    if (apr_root == NULL || swept)
        return;
    apr_shm_remove(lc_apr, apr_root);
    apr_shm_remove(at_apr, apr_root);
    unlink(lc_apr);
    unlink(at_apr);
}

static int apr_setup(void)
{
    apr_status_t st = apr_initialize();

    if (st != APR_SUCCESS)
        return apr_fail("apr_initialize", "", st);
    atexit(apr_terminate);
    if ((st = apr_pool_create(&apr_root, NULL)) != APR_SUCCESS)
        return apr_fail("apr_pool_create", "", st);
    if ((st = apr_pool_create(&apr_batch, apr_root)) != APR_SUCCESS)
        return apr_fail("apr_pool_create", "", st);
    use_apr_name(lc_apr, "lc-apr");
    use_apr_name(at_apr, "at-apr");
    /* Registered after apr_terminate, so it runs before it. */
    atexit(apr_sweep);
    return 0;
}

static int apr_lifecycle(long n)
{
    for (long i = 0; i < n; i++) {
        apr_shm_t *shm;
        apr_status_t st = apr_shm_create(&shm, SMALL_SEG, lc_apr, apr_batch);

        if (st != APR_SUCCESS)
            return apr_fail("apr_shm_create", lc_apr, st);
        if ((st = apr_shm_destroy(shm)) != APR_SUCCESS)
            return apr_fail("apr_shm_destroy", lc_apr, st);
    }
    return 0;
}

/* Pools only grow: give the memory back between batches, untimed. */
static void apr_after_batch(void)
{
    apr_pool_clear(apr_batch);
}

static int apr_attach_prepare(void)
{
    apr_status_t st = apr_shm_create(&at_apr_owner, SMALL_SEG, at_apr,
                                     apr_root);

    return st != APR_SUCCESS ? apr_fail("apr_shm_create", at_apr, st) : 0;
}

static int apr_attach(long n)
{
    for (long i = 0; i < n; i++) {
        apr_shm_t *shm;
        apr_status_t st = apr_shm_attach(&shm, at_apr, apr_batch);

        if (st != APR_SUCCESS)
            return apr_fail("apr_shm_attach", at_apr, st);
        if ((st = apr_shm_detach(shm)) != APR_SUCCESS)
            return apr_fail("apr_shm_detach", at_apr, st);
    }
    return 0;
}

static void apr_attach_finish(void)
{
    if (at_apr_owner != NULL)
        apr_shm_destroy(at_apr_owner);
    at_apr_owner = NULL;
}
#endif /* HAVE_APR */

/* ------------------------------------------------------------------ */
/* Synchronisation: mutex, round trip, ring                            */

/* All three share one anonymous segment of the backend under test, made
 * before the first of them (the kernel frees it with the last process that
 * maps it); every object sits on cache lines of its own. */

#define RING_SLOTS 4096        /* 256 KiB of records */
#define RING_BATCH 256         /* most records a side moves per turn */
#define PEER_TIMEOUT_MS 10000  /* a peer silent for this long has failed */

struct record {                /* 64 bytes: a sequence number and payload */
    uint64_t seq;
    uint64_t word[7];
};

struct ring {
    _Alignas(64) ushm_mutex_t lock;
    _Alignas(64) ushm_event_t not_empty; /* the producer published records */
    _Alignas(64) ushm_event_t not_full;  /* the consumer made room */
    _Alignas(64) ushm_event_t done;      /* the consumer reached target */
    /* Under lock.  head and tail count records since the start; the slots
     * from tail to head belong to the consumer, the others to the producer,
     * which is why neither holds the lock while copying records. */
    _Alignas(64) uint64_t head, tail, target;
    uint32_t consumer_waiting, producer_waiting, quit, errors;
    _Alignas(64) struct record slot[RING_SLOTS];
};

struct sync_area {
    _Alignas(64) ushm_mutex_t mutex;         /* mutex, libushm */
    _Alignas(64) pthread_mutex_t raw_mutex;  /* mutex, raw */
    _Alignas(64) ushm_event_t ping;          /* roundtrip, libushm */
    _Alignas(64) ushm_event_t pong;
    _Alignas(64) atomic_int quit;
    struct ring ring;
};

static ushm_t *sync_shm;
static struct sync_area *area;
static pid_t bench_pid;        /* this process, as its peers know it */

/* The two processes of roundtrip and ring run on two CPUs of their own,
 * this one on pin_cpu[0], its peer on pin_cpu[1]: left to the scheduler,
 * they share one CPU in some runs and not in others, and the figures jump
 * between the two cases. */
static int pin_cpu[2] = { -1, -1 };
#if HAVE_SCHED_SETAFFINITY
static cpu_set_t saved_cpus;
#endif

static void pin_to(int cpu)
{
#if HAVE_SCHED_SETAFFINITY
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
#else
    (void)cpu;
#endif
}

/* Chooses the first two CPUs this process may use and moves onto the
 * first; without two, nothing is pinned.  Once, before the first peer. */
static void pin_setup(void)
{
#if HAVE_SCHED_SETAFFINITY
    static int done;

    if (done)
        return;
    done = 1;
    if (sched_getaffinity(0, sizeof saved_cpus, &saved_cpus) != 0)
        return;
    for (int cpu = 0, n = 0; cpu < CPU_SETSIZE && n < 2; cpu++)
        if (CPU_ISSET(cpu, &saved_cpus))
            pin_cpu[n++] = cpu;
    if (pin_cpu[1] < 0)
        pin_cpu[0] = -1;
    else
        pin_to(pin_cpu[0]);
#endif
}

static void pin_restore(void)
{
#if HAVE_SCHED_SETAFFINITY
    if (pin_cpu[0] >= 0)
        sched_setaffinity(0, sizeof saved_cpus, &saved_cpus);
#endif
}

static int sync_setup(void)
{
    int err;

    if (area != NULL)
        return 0;
    pin_setup();
    err = ushm_open(&sync_shm, NULL, sizeof *area, USHM_CREATE, 0600);
    if (err < 0)
        return fail_ushm("ushm_open", "(anonymous)", err);
    area = ushm_addr(sync_shm);
    return 0;
}

static void sync_teardown(void)
{
    if (sync_shm != NULL)
        ushm_close(sync_shm);
    sync_shm = NULL;
    area = NULL;
    pin_restore();
}

/* The descriptors of the peers: pipes and socket pair of roundtrip and
 * ring, eventfds of roundtrip. */
static int pp_down[2] = { -1, -1 }, pp_up[2] = { -1, -1 };
static int sp_fd[2] = { -1, -1 };
static int ef_ping = -1, ef_pong = -1;
static int rp_data[2] = { -1, -1 }, rp_ack[2] = { -1, -1 };
static int *const peer_fds[] = {
    &pp_down[0], &pp_down[1], &pp_up[0], &pp_up[1], &sp_fd[0], &sp_fd[1],
    &ef_ping, &ef_pong, &rp_data[0], &rp_data[1], &rp_ack[0], &rp_ack[1],
};

/* A peer process running body(), with only the descriptors keep1 and keep2
 * of all those above (a peer holding another's pipe would keep it from
 * seeing the end of its input).  It takes the default action of every
 * signal (the parent's handler would sweep the parent's segments), dies
 * with the parent where prctl() can ask for that, and never returns. */
static pid_t spawn(void (*body)(void), int keep1, int keep2)
{
    pid_t pid;

    pin_setup();
    fflush(stdout); /* the peer leaves by _exit(): it flushes nothing */
    pid = fork();
    if (pid == -1) {
        fail_errno("fork", "peer", errno);
        return -1;
    }
    if (pid > 0)
        return pid;
    for (size_t i = 0; i < NCAUGHT; i++)
        signal(caught_signals[i], SIG_DFL);
    for (size_t i = 0; i < sizeof peer_fds / sizeof peer_fds[0]; i++) {
        int fd = *peer_fds[i];

        if (fd >= 0 && fd != keep1 && fd != keep2)
            close(fd);
    }
#if HAVE_SYS_PRCTL_H && defined(PR_SET_PDEATHSIG)
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    if (getppid() != bench_pid)
        _exit(1);
    if (pin_cpu[1] >= 0)
        pin_to(pin_cpu[1]);
    body();
    _exit(0);
}

/* Waits for a peer; its status is only reported, the figures are kept. */
static void reap(pid_t *pid, const char *who)
{
    int st;

    if (*pid <= 0)
        return;
    while (waitpid(*pid, &st, 0) == -1)
        if (errno != EINTR) {
            fprintf(stderr, "ushm-bench: waitpid(%s peer): %s\n", who,
                    strerror(errno));
            *pid = -1;
            return;
        }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "ushm-bench: the %s peer %s %d\n", who,
                WIFEXITED(st) ? "exited with status" : "was killed by signal",
                WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    *pid = -1;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* A peer waiting without a limit checks now and then that its parent is
 * still there, for systems without PR_SET_PDEATHSIG. */
static void orphan_check(void)
{
    if (getppid() != bench_pid)
        _exit(1);
}

/* ---- mutex: uncontended lock + unlock ---- */

static int lib_mutex_prepare(void)
{
    int err;

    if (sync_setup() < 0)
        return -1;
    err = ushm_mutex_lock(&area->mutex);
    if (err == -ENOTSUP) {
        fail_ushm("ushm_mutex_lock", "(anonymous)", err);
        return 1;
    }
    if (err != 0)
        return err < 0 ? fail_ushm("ushm_mutex_lock", "(anonymous)", err)
                       : fail("ushm_mutex_lock: %d on a mutex nobody held",
                              err);
    err = ushm_mutex_unlock(&area->mutex);
    return err < 0 ? fail_ushm("ushm_mutex_unlock", "(anonymous)", err) : 0;
}

static int lib_mutex(long n)
{
    ushm_mutex_t *m = &area->mutex;

    for (long i = 0; i < n; i++) {
        int err = ushm_mutex_lock(m);

        if (err != 0)
            return err < 0 ? fail_ushm("ushm_mutex_lock", "(anonymous)", err)
                           : fail("ushm_mutex_lock: %d uncontended", err);
        if ((err = ushm_mutex_unlock(m)) != 0)
            return fail_ushm("ushm_mutex_unlock", "(anonymous)", err);
    }
    return 0;
}

static int raw_mutex_ready;

/* The same kind of mutex by hand: robust, process-shared, error-checking. */
static int raw_mutex_prepare(void)
{
    pthread_mutexattr_t attr;
    const char *step = "pthread_mutexattr_init";
    int err;

    if (sync_setup() < 0)
        return -1;
    err = pthread_mutexattr_init(&attr);
    if (err == 0) {
        step = "pthread_mutexattr_setpshared(PTHREAD_PROCESS_SHARED)";
        err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
        if (err == 0) {
            step = "pthread_mutexattr_setrobust(PTHREAD_MUTEX_ROBUST)";
            err = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
        }
        if (err == 0) {
            step = "pthread_mutexattr_settype(PTHREAD_MUTEX_ERRORCHECK)";
            err = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
        }
        if (err == 0) {
            step = "pthread_mutex_init";
            err = pthread_mutex_init(&area->raw_mutex, &attr);
        }
        pthread_mutexattr_destroy(&attr);
    }
    if (err != 0) {
        fail_errno(step, "(anonymous)", err);
        return err == ENOTSUP || err == ENOSYS ? 1 : -1;
    }
    raw_mutex_ready = 1;
    return 0;
}

static int raw_mutex(long n)
{
    pthread_mutex_t *m = &area->raw_mutex;

    for (long i = 0; i < n; i++) {
        int err = pthread_mutex_lock(m);

        if (err != 0)
            return fail_errno("pthread_mutex_lock", "(anonymous)", err);
        if ((err = pthread_mutex_unlock(m)) != 0)
            return fail_errno("pthread_mutex_unlock", "(anonymous)", err);
    }
    return 0;
}

static void raw_mutex_finish(void)
{
    if (raw_mutex_ready)
        pthread_mutex_destroy(&area->raw_mutex);
    raw_mutex_ready = 0;
}

/* ---- roundtrip: wake the peer, wait for its answer ---- */

/* libushm: the peer waits on ping and notifies pong. */
static pid_t ev_pid = -1;
static unsigned ev_seen; /* ping's count when the peer started */

static void ev_echo(void)
{
    unsigned seen = ev_seen;

    for (;;) {
        int err = ushm_event_wait(&area->ping, seen, 1000);

        if (err == -ETIMEDOUT) {
            orphan_check();
            continue;
        }
        if (err < 0)
            _exit(3);
        /* One ping at a time: the parent waits for pong before the next. */
        seen = ushm_event_read(&area->ping);
        if (atomic_load(&area->quit))
            _exit(0);
        ushm_event_notify(&area->pong);
    }
}

static int ev_prepare(void)
{
    if (sync_setup() < 0)
        return -1;
    atomic_store(&area->quit, 0);
    ev_seen = ushm_event_read(&area->ping);
    ev_pid = spawn(ev_echo, -1, -1);
    return ev_pid < 0 ? -1 : 0;
}

static int ev_roundtrip(long n)
{
    for (long i = 0; i < n; i++) {
        unsigned seen = ushm_event_read(&area->pong);
        int err;

        ushm_event_notify(&area->ping);
        err = ushm_event_wait(&area->pong, seen, PEER_TIMEOUT_MS);
        if (err == -ETIMEDOUT)
            return fail("ushm_event_wait: no answer from the peer in %d ms",
                        PEER_TIMEOUT_MS);
        if (err < 0)
            return fail_ushm("ushm_event_wait", "(anonymous)", err);
    }
    return 0;
}

static void ev_finish(void)
{
    if (ev_pid > 0) {
        atomic_store(&area->quit, 1);
        ushm_event_notify(&area->ping);
    }
    reap(&ev_pid, "event");
}

/* Bytes: one byte there and back (pipe, socketpair, eventfd). */
static int byte_send(int fd, const void *buf, size_t len, const char *what)
{
    for (;;) {
        ssize_t w = write(fd, buf, len);

        if (w == (ssize_t)len)
            return 0;
        if (w == -1 && errno == EINTR)
            continue;
        return fail_errno("write", what, w == -1 ? errno : EIO);
    }
}

static int byte_recv(int fd, void *buf, size_t len, const char *what)
{
    for (;;) {
        ssize_t r = read(fd, buf, len);

        if (r == (ssize_t)len)
            return 0;
        if (r == -1 && errno == EINTR)
            continue;
        if (r == 0)
            return fail("read(%s): end of file: the peer is gone", what);
        return fail_errno("read", what, r == -1 ? errno : EIO);
    }
}

static int byte_roundtrips(int out, int in, long n, const char *what)
{
    char b = 1;

    for (long i = 0; i < n; i++)
        if (byte_send(out, &b, 1, what) < 0 || byte_recv(in, &b, 1, what) < 0)
            return -1;
    return 0;
}

/* Answers each byte until end of file. */
static void byte_echo(int in, int out)
{
    char b;

    for (;;) {
        ssize_t r = read(in, &b, 1);

        if (r == 0)
            _exit(0);
        if (r == -1) {
            if (errno == EINTR)
                continue;
            _exit(3);
        }
        if (write(out, &b, 1) != 1)
            _exit(3);
    }
}

static pid_t pp_pid = -1;

static void pipe_echo(void)
{
    byte_echo(pp_down[0], pp_up[1]);
}

static int pipe_rt_prepare(void)
{
    if (pipe(pp_down) == -1 || pipe(pp_up) == -1)
        return fail_errno("pipe", "roundtrip", errno);
    pp_pid = spawn(pipe_echo, pp_down[0], pp_up[1]);
    if (pp_pid < 0)
        return -1;
    close_fd(&pp_down[0]);
    close_fd(&pp_up[1]);
    return 0;
}

static int pipe_rt(long n)
{
    return byte_roundtrips(pp_down[1], pp_up[0], n, "pipe");
}

static void pipe_rt_finish(void)
{
    close_fd(&pp_down[1]);
    reap(&pp_pid, "pipe");
    close_fd(&pp_down[0]);
    close_fd(&pp_up[0]);
    close_fd(&pp_up[1]);
}

static pid_t sp_pid = -1;

static void sock_echo(void)
{
    byte_echo(sp_fd[1], sp_fd[1]);
}

static int sock_rt_prepare(void)
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp_fd) == -1)
        return fail_errno("socketpair", "AF_UNIX, SOCK_STREAM", errno);
    sp_pid = spawn(sock_echo, sp_fd[1], -1);
    if (sp_pid < 0)
        return -1;
    close_fd(&sp_fd[1]);
    return 0;
}

static int sock_rt(long n)
{
    return byte_roundtrips(sp_fd[0], sp_fd[0], n, "socketpair");
}

static void sock_rt_finish(void)
{
    close_fd(&sp_fd[0]);
    reap(&sp_pid, "socketpair");
    close_fd(&sp_fd[1]);
}

#if HAVE_SYS_EVENTFD_H
/* Two eventfds, ping and pong; 1 is a ping, anything else means stop. */
static pid_t ef_pid = -1;

static void efd_echo(void)
{
    const uint64_t one = 1;
    uint64_t v;

    for (;;) {
        ssize_t r = read(ef_ping, &v, sizeof v);

        if (r == -1 && errno == EINTR)
            continue;
        if (r != (ssize_t)sizeof v)
            _exit(3);
        if (v != 1)
            _exit(0);
        if (write(ef_pong, &one, sizeof one) != (ssize_t)sizeof one)
            _exit(3);
    }
}

static int efd_rt_prepare(void)
{
    ef_ping = eventfd(0, 0);
    ef_pong = eventfd(0, 0);
    if (ef_ping == -1 || ef_pong == -1)
        return fail_errno("eventfd", "roundtrip", errno);
    ef_pid = spawn(efd_echo, ef_ping, ef_pong);
    return ef_pid < 0 ? -1 : 0;
}

static int efd_rt(long n)
{
    const uint64_t one = 1;
    uint64_t v;

    for (long i = 0; i < n; i++)
        if (byte_send(ef_ping, &one, sizeof one, "eventfd") < 0 ||
            byte_recv(ef_pong, &v, sizeof v, "eventfd") < 0)
            return -1;
    return 0;
}

static void efd_rt_finish(void)
{
    if (ef_pid > 0) {
        const uint64_t stop = 2;

        if (write(ef_ping, &stop, sizeof stop) != (ssize_t)sizeof stop)
            kill(ef_pid, SIGKILL);
    }
    reap(&ef_pid, "eventfd");
    close_fd(&ef_ping);
    close_fd(&ef_pong);
}
#endif /* HAVE_SYS_EVENTFD_H */

/* A SysV semaphore set: 0 is ping, 1 is pong; removing it stops the peer. */
static int sem_id = -1;
static pid_t sem_pid = -1;

union semarg {          /* the caller defines semun, says POSIX */
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static void sem_echo(void)
{
    struct sembuf down = { 0, -1, 0 }, up = { 1, 1, 0 };

    for (;;) {
        if (semop(sem_id, &down, 1) == -1) {
            if (errno == EINTR)
                continue;
            _exit(errno == EIDRM || errno == EINVAL ? 0 : 3);
        }
        if (semop(sem_id, &up, 1) == -1)
            _exit(errno == EIDRM || errno == EINVAL ? 0 : 3);
    }
}

static int sem_rt_prepare(void)
{
    unsigned short zero[2] = { 0, 0 };
    union semarg arg;

    sem_id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    if (sem_id == -1) {
        fail_errno("semget", "IPC_PRIVATE, 2 semaphores", errno);
        return errno == ENOSYS ? 1 : -1;
    }
    sweep_sem_id = sem_id;
    arg.array = zero;
    if (semctl(sem_id, 0, SETALL, arg) == -1)
        return fail_errno("semctl(SETALL)", "roundtrip", errno);
    sem_pid = spawn(sem_echo, -1, -1);
    return sem_pid < 0 ? -1 : 0;
}

static int sem_rt(long n)
{
    struct sembuf up = { 0, 1, 0 }, down = { 1, -1, 0 };

    for (long i = 0; i < n; i++) {
        if (semop(sem_id, &up, 1) == -1)
            return fail_errno("semop(+1)", "ping", errno);
        while (semop(sem_id, &down, 1) == -1)
            if (errno != EINTR)
                return fail_errno("semop(-1)", "pong", errno);
    }
    return 0;
}

static void sem_rt_finish(void)
{
    if (sem_id >= 0)
        semctl(sem_id, 0, IPC_RMID);
    sem_id = -1;
    sweep_sem_id = -1;
    reap(&sem_pid, "semop");
}

/* ---- ring: a million 64-byte records from a producer to a consumer ---- */

#define SEQ_MIX UINT64_C(0x9e3779b97f4a7c15)

static void fill_record(struct record *rec, uint64_t seq)
{
    rec->seq = seq;
    for (int j = 0; j < 7; j++)
        rec->word[j] = seq * SEQ_MIX + (uint64_t)j;
}

static int record_ok(const struct record *rec, uint64_t seq)
{
    return rec->seq == seq && rec->word[0] == seq * SEQ_MIX &&
           rec->word[6] == seq * SEQ_MIX + 6;
}

/* Locks the ring; a peer that died holding it is a failure here. */
static int ring_lock(struct ring *r)
{
    int err = ushm_mutex_lock(&r->lock);

    return err == 0 ? 0 : err > 0 ? -EOWNERDEAD : err;
}

static pid_t rg_pid = -1;

/* Takes what is there (up to RING_BATCH), checks it outside the lock, and
 * wakes the producer only if it said it waits for room. */
static void ring_consumer(void)
{
    struct ring *r = &area->ring;

    for (;;) {
        uint64_t t, avail;
        unsigned bad = 0;
        int wake, reached;

        if (ring_lock(r) < 0)
            _exit(3);
        avail = r->head - r->tail;
        if (avail == 0) {
            unsigned seen;

            if (r->quit) {
                ushm_mutex_unlock(&r->lock);
                _exit(0);
            }
            r->consumer_waiting = 1;
            seen = ushm_event_read(&r->not_empty);
            ushm_mutex_unlock(&r->lock);
            if (ushm_event_wait(&r->not_empty, seen, 1000) == -ETIMEDOUT)
                orphan_check();
            continue;
        }
        t = r->tail;
        ushm_mutex_unlock(&r->lock);
        if (avail > RING_BATCH)
            avail = RING_BATCH;
        for (uint64_t j = 0; j < avail; j++) {
            struct record rec;

            memcpy(&rec, &r->slot[(t + j) % RING_SLOTS], sizeof rec);
            if (!record_ok(&rec, t + j))
                bad++;
        }
        if (ring_lock(r) < 0)
            _exit(3);
        r->tail = t + avail;
        r->errors += bad;
        wake = r->producer_waiting;
        r->producer_waiting = 0;
        reached = t < r->target && t + avail >= r->target;
        ushm_mutex_unlock(&r->lock);
        if (wake)
            ushm_event_notify(&r->not_full);
        if (reached)
            ushm_event_notify(&r->done);
    }
}

static int ring_prepare(void)
{
    if (sync_setup() < 0)
        return -1;
    rg_pid = spawn(ring_consumer, -1, -1);
    return rg_pid < 0 ? -1 : 0;
}

/* Writes as much as there is room for (up to RING_BATCH) outside the lock,
 * publishes it, and wakes the consumer only if it said it waits. */
static int ring_produce(long n)
{
    struct ring *r = &area->ring;
    unsigned done_seen = ushm_event_read(&r->done);
    uint64_t left = (uint64_t)n;
    uint32_t errors0;
    int err;

    if ((err = ring_lock(r)) < 0)
        return fail_ushm("ushm_mutex_lock", "ring", err);
    r->target = r->head + left;
    errors0 = r->errors;
    ushm_mutex_unlock(&r->lock);
    while (left > 0) {
        uint64_t h, k;
        int wake;

        if ((err = ring_lock(r)) < 0)
            return fail_ushm("ushm_mutex_lock", "ring", err);
        h = r->head;
        k = RING_SLOTS - (h - r->tail);
        if (k == 0) {
            unsigned seen;

            r->producer_waiting = 1;
            seen = ushm_event_read(&r->not_full);
            ushm_mutex_unlock(&r->lock);
            err = ushm_event_wait(&r->not_full, seen, PEER_TIMEOUT_MS);
            if (err == -ETIMEDOUT)
                return fail("ring: the consumer made no room in %d ms",
                            PEER_TIMEOUT_MS);
            if (err < 0)
                return fail_ushm("ushm_event_wait", "ring", err);
            continue;
        }
        ushm_mutex_unlock(&r->lock);
        if (k > left)
            k = left;
        if (k > RING_BATCH)
            k = RING_BATCH;
        for (uint64_t j = 0; j < k; j++)
            fill_record(&r->slot[(h + j) % RING_SLOTS], h + j);
        if ((err = ring_lock(r)) < 0)
            return fail_ushm("ushm_mutex_lock", "ring", err);
        r->head = h + k;
        wake = r->consumer_waiting;
        r->consumer_waiting = 0;
        ushm_mutex_unlock(&r->lock);
        if (wake)
            ushm_event_notify(&r->not_empty);
        left -= k;
    }
    while (ushm_event_read(&r->done) == done_seen) {
        err = ushm_event_wait(&r->done, done_seen, PEER_TIMEOUT_MS);
        if (err == -ETIMEDOUT)
            return fail("ring: the consumer did not finish in %d ms",
                        PEER_TIMEOUT_MS);
        if (err < 0)
            return fail_ushm("ushm_event_wait", "ring", err);
    }
    if ((err = ring_lock(r)) < 0)
        return fail_ushm("ushm_mutex_lock", "ring", err);
    errors0 = r->errors - errors0;
    ushm_mutex_unlock(&r->lock);
    return errors0 == 0 ? 0 : fail("ring: %u records arrived damaged or out "
                                   "of order", (unsigned)errors0);
}

static void ring_finish(void)
{
    if (rg_pid > 0 && ring_lock(&area->ring) == 0) {
        area->ring.quit = 1;
        ushm_mutex_unlock(&area->ring.lock);
        ushm_event_notify(&area->ring.not_empty);
    }
    reap(&rg_pid, "ring");
}

/* The same records through a pipe: one write() per record, as a producer
 * of records makes them; the consumer reads whatever is there (up to
 * 64 KiB at once) and answers one byte per run on a second pipe. */
static pid_t rp_pid = -1;
static uint64_t rp_seq;

static void pipe_consumer(void)
{
    static unsigned char buf[64 * KiB];
    size_t have = 0;
    uint64_t seq = 0, in_run = 0;
    unsigned bad = 0;

    for (;;) {
        ssize_t got = read(rp_data[0], buf + have, sizeof buf - have);
        size_t off = 0;

        if (got == 0)
            _exit(0);
        if (got == -1) {
            if (errno == EINTR)
                continue;
            _exit(3);
        }
        have += (size_t)got;
        for (; have - off >= sizeof(struct record); off += sizeof(struct record)) {
            struct record rec;

            memcpy(&rec, buf + off, sizeof rec);
            if (!record_ok(&rec, seq))
                bad++;
            seq++;
            if (++in_run == (uint64_t)opt.records) {
                unsigned char a = bad != 0;

                if (write(rp_ack[1], &a, 1) != 1)
                    _exit(3);
                in_run = 0;
                bad = 0;
            }
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
}

static int pipe_ring_prepare(void)
{
    if (pipe(rp_data) == -1 || pipe(rp_ack) == -1)
        return fail_errno("pipe", "ring", errno);
    rp_pid = spawn(pipe_consumer, rp_data[0], rp_ack[1]);
    if (rp_pid < 0)
        return -1;
    close_fd(&rp_data[0]);
    close_fd(&rp_ack[1]);
    return 0;
}

static int pipe_ring(long n)
{
    unsigned char a;

    if (n != opt.records)
        return fail("pipe ring: %ld records in a run, not --records", n);
    for (long i = 0; i < n; i++) {
        struct record rec;

        fill_record(&rec, rp_seq++);
        if (byte_send(rp_data[1], &rec, sizeof rec, "pipe") < 0)
            return -1;
    }
    if (byte_recv(rp_ack[0], &a, 1, "pipe") < 0)
        return -1;
    return a == 0 ? 0 : fail("pipe: records arrived damaged or out of order");
}

static void pipe_ring_finish(void)
{
    close_fd(&rp_data[1]);
    reap(&rp_pid, "pipe ring");
    close_fd(&rp_data[0]);
    close_fd(&rp_ack[0]);
    close_fd(&rp_ack[1]);
}

/* ------------------------------------------------------------------ */
/* CSV                                                                 */

static FILE *csv;

/* The note is quoted and comes last: the fields before it have no commas. */
static void csv_row(const char *op, const char *who, size_t size, int run,
                    long iters, double ns, double cpu, const char *status,
                    const char *note)
{
    if (csv == NULL)
        return;
    fprintf(csv, "%s,%s,%s,%zu,%d,%ld,", op, backend, who, size, run, iters);
    if (ns >= 0)
        fprintf(csv, "%.1f,%.1f", ns, cpu);
    else
        fputc(',', csv);
    fprintf(csv, ",%s,\"", status);
    for (const char *p = note != NULL ? note : ""; *p; p++)
        fputc(*p == '"' ? '\'' : *p, csv);
    fputs("\"\n", csv);
}

/* ------------------------------------------------------------------ */
/* Lifecycle and attach: batches, round-robin                          */

/* iters: iterations per batch, 0 to size them; size: the CSV's size_bytes. */
static void run_contenders(const char *op, struct contender *c, int nc,
                           long iters, size_t size)
{
    int live = 0, rc;

    for (int i = 0; i < nc; i++) {
        c[i].ns = calloc((size_t)opt.runs, sizeof *c[i].ns);
        c[i].cpu = calloc((size_t)opt.runs, sizeof *c[i].cpu);
        if (c[i].ns == NULL || c[i].cpu == NULL) {
            perror("ushm-bench: calloc");
            exit(2);
        }
        if (c[i].state != OK)
            continue;
        if (!wanted(c[i].name)) {
            set_state(&c[i], UNAVAILABLE, "left out by --only");
            continue;
        }
        if (c[i].prepare != NULL && (rc = c[i].prepare()) != 0) {
            set_state(&c[i], rc > 0 ? UNAVAILABLE : FAILED, why);
            continue;
        }
        live++;
    }
    if (live == 0)
        goto done;

    /* Size the batch on the first contender still standing (raw if it is
     * there): one batch of it takes about --target-ms. */
    if (iters == 0) {
        for (int i = 0; i < nc && iters == 0; i++) {
            uint64_t t0, dt = 0;
            long n = 64;

            if (c[i].state != OK)
                continue;
            for (;;) {
                t0 = now_ns();
                if (c[i].batch(n) < 0) {
                    set_state(&c[i], FAILED, why);
                    break;
                }
                dt = now_ns() - t0;
                if (c[i].after_batch != NULL)
                    c[i].after_batch();
                if (dt >= 5000000u || n >= (1L << 22))
                    break;
                n *= 4;
            }
            if (c[i].state == OK) {
                double per = (double)dt / (double)n;

                iters = (long)(opt.target_ms * 1e6 / per);
                if (iters < 16)
                    iters = 16;
            }
        }
        if (iters == 0)
            goto done;
    }

    /* Round 0 warms up (caches, allocator, page tables) and is not kept. */
    for (int r = -1; r < opt.runs; r++) {
        for (int i = 0; i < nc; i++) {
            uint64_t t0, c0, dt, dc;

            if (c[i].state != OK)
                continue;
            c0 = cpu_ns();
            t0 = now_ns();
            if (c[i].batch(iters) < 0) {
                set_state(&c[i], FAILED, why);
                continue;
            }
            dt = now_ns() - t0;
            dc = cpu_ns() - c0;
            if (c[i].after_batch != NULL)
                c[i].after_batch();
            if (r < 0)
                continue;
            c[i].ns[c[i].nruns] = (double)dt / (double)iters;
            c[i].cpu[c[i].nruns] = (double)dc / (double)iters;
            csv_row(op, c[i].name, size, r + 1, iters,
                    c[i].ns[c[i].nruns], c[i].cpu[c[i].nruns], "ok", "");
            c[i].nruns++;
        }
    }

done:
    for (int i = 0; i < nc; i++) {
        if (c[i].finish != NULL)
            c[i].finish();
        if (c[i].state != OK)
            csv_row(op, c[i].name, size, 0, 0, -1, -1,
                    c[i].state == FAILED ? "failed" : "unavailable", c[i].why);
    }
}

/* ------------------------------------------------------------------ */
/* Setup + first touch of large segments                               */

enum { T_DEFAULT, T_POPULATE, T_HUGE, T_MEMSET, T_COUNT };

static const char *touch_names[T_COUNT] = {
    "default", "populate", "hugepages", "memset"
};

struct touch_result {
    int state;
    char why[512];
    double setup[MAX_RUNS];     /* ns per open + touch */
    double setup_cpu[MAX_RUNS];
    double teardown[MAX_RUNS];  /* ns per close + unlink */
    double teardown_cpu[MAX_RUNS];
    int nruns;
};

struct sample {
    uint64_t wall, cpu;
};

static struct touch_result touch_res[MAX_SIZES][T_COUNT];

static void touch_pages(void *addr, size_t size)
{
    volatile unsigned char *p = addr;

    for (size_t off = 0; off < size; off += TOUCH_STRIDE)
        p[off] = 1;
}

static int touch_flags(int kind)
{
    switch (kind) {
    case T_POPULATE:
        return USHM_POPULATE;
#ifdef USHM_HUGEPAGES
    case T_HUGE:
        return USHM_HUGEPAGES;
#endif
    default:
        return 0;
    }
}

/* One open + touch, then close + unlink.  Returns 0, -1 (failed, see why),
 * or 1 when the kernel or the library cannot give this kind of page. */
static int touch_once(int kind, size_t size, struct sample *setup,
                      struct sample *down)
{
    ushm_t *shm;
    uint64_t t0, t1, t2, c0, c1, c2;
    int err;

    c0 = cpu_ns();
    t0 = now_ns();
    err = ushm_open(&shm, tc_lib, size,
                    USHM_CREATE | USHM_EXCL | touch_flags(kind), 0600);
    if (err < 0) {
        fail_ushm("ushm_open", tc_lib, err);
        return kind == T_HUGE && (err == -ENOMEM || err == -ENOTSUP ||
                                  err == -EOPNOTSUPP || err == -EPERM) ? 1 : -1;
    }
    touch_pages(ushm_addr(shm), ushm_size(shm));
    t1 = now_ns();
    c1 = cpu_ns();
    err = ushm_close(shm);
    if (err < 0) {
        ushm_unlink(tc_lib);
        return fail_ushm("ushm_close", tc_lib, err);
    }
    if ((err = ushm_unlink(tc_lib)) < 0)
        return fail_ushm("ushm_unlink", tc_lib, err);
    t2 = now_ns();
    c2 = cpu_ns();
    setup->wall = t1 - t0;
    setup->cpu = c1 - c0;
    down->wall = t2 - t1;
    down->cpu = c2 - c1;
    return 0;
}

static void run_touch(int si)
{
    size_t size = opt.sizes[si];
    struct touch_result *res = touch_res[si];
    unsigned char *buf;

    for (int k = 0; k < T_COUNT; k++) {
        res[k].state = OK;
        res[k].nruns = 0;
        if (!wanted(touch_names[k]))
            set_state(&res[k], UNAVAILABLE, "left out by --only");
    }
#ifndef USHM_HUGEPAGES
    set_state(&res[T_HUGE], UNAVAILABLE,
              "USHM_HUGEPAGES is not defined by this ushm.h");
#endif

    /* The physical limit: memset() of memory that is mapped and faulted. */
    buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
               -1, 0);
    if (buf == MAP_FAILED) {
        snprintf(res[T_MEMSET].why, sizeof res[T_MEMSET].why,
                 "mmap(%zu bytes): %s", size, strerror(errno));
        res[T_MEMSET].state = FAILED;
        buf = NULL;
    } else {
#ifdef MADV_HUGEPAGE
        /* The limit is the memory's bandwidth, not the TLB's: huge pages
         * where transparent huge pages allow them (a hint only). */
        madvise(buf, size, MADV_HUGEPAGE);
#endif
        memset(buf, 0, size);
    }

    /* One create + touch per run: tens of milliseconds at least.  A warm-up
     * round, not kept, before the first size only: at the large sizes it
     * would be the longest part of the program. */
    for (int r = si == 0 ? -1 : 0; r < opt.runs; r++) {
        for (int k = 0; k < T_COUNT; k++) {
            struct sample setup = { 0, 0 }, down = { 0, 0 };
            int n;

            if (res[k].state != OK)
                continue;
            if (k == T_MEMSET) {
                uint64_t c0 = cpu_ns(), t0 = now_ns();

                memset(buf, r | 1, size);
                __asm__ __volatile__("" : : "r"(buf) : "memory");
                setup.wall = now_ns() - t0;
                setup.cpu = cpu_ns() - c0;
            } else {
                int rc = touch_once(k, size, &setup, &down);

                if (rc != 0) {
                    set_state(&res[k], rc > 0 ? UNAVAILABLE : FAILED, why);
                    if (rc > 0)
                        fprintf(stderr, "ushm-bench: %s, %zu MiB: "
                                "unavailable: %s\n", touch_names[k],
                                size / MiB, why);
                    continue;
                }
            }
            if (r < 0)
                continue;
            n = res[k].nruns++;
            res[k].setup[n] = (double)setup.wall;
            res[k].setup_cpu[n] = (double)setup.cpu;
            res[k].teardown[n] = (double)down.wall;
            res[k].teardown_cpu[n] = (double)down.cpu;
            csv_row("touch", touch_names[k], size, r + 1, 1,
                    res[k].setup[n], res[k].setup_cpu[n], "ok", "");
            if (k != T_MEMSET)
                csv_row("teardown", touch_names[k], size, r + 1, 1,
                        res[k].teardown[n], res[k].teardown_cpu[n], "ok", "");
        }
    }
    for (int k = 0; k < T_COUNT; k++)
        if (res[k].state != OK)
            csv_row("touch", touch_names[k], size, 0, 0, -1, -1,
                    res[k].state == FAILED ? "failed" : "unavailable",
                    res[k].why);
    if (buf != NULL)
        munmap(buf, size);
}

/* ------------------------------------------------------------------ */
/* The report                                                          */

static const char *fmt_time(char *buf, size_t len, double ns)
{
    if (ns >= 1e9)
        snprintf(buf, len, "%.3f s", ns / 1e9);
    else if (ns >= 1e6)
        snprintf(buf, len, "%.2f ms", ns / 1e6);
    else if (ns >= 1e3)
        snprintf(buf, len, "%.2f us", ns / 1e3);
    else
        snprintf(buf, len, "%.0f ns", ns);
    return buf;
}

static const char *fmt_size(char *buf, size_t len, size_t size)
{
    if (size % GiB == 0)
        snprintf(buf, len, "%zu GiB", size / GiB);
    else if (size % MiB == 0)
        snprintf(buf, len, "%zu MiB", size / MiB);
    else
        snprintf(buf, len, "%zu KiB", size / KiB);
    return buf;
}

struct goal {
    char text[320];
    double value;
    const char *verdict;
};

static struct goal goals[32];
static int ngoals;

static void add_goal(const char *verdict, double value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_goal(const char *verdict, double value, const char *fmt, ...)
{
    va_list ap;

    if (ngoals == (int)(sizeof goals / sizeof goals[0]))
        return;
    va_start(ap, fmt);
    vsnprintf(goals[ngoals].text, sizeof goals[ngoals].text, fmt, ap);
    va_end(ap);
    goals[ngoals].value = value;
    goals[ngoals].verdict = verdict;
    ngoals++;
}

/* The ratio a / b run by run: the two ran back to back, so drift in the
 * machine's speed cancels out better than in the ratio of the medians. */
static struct stats paired(const struct contender *a,
                           const struct contender *b)
{
    double r[MAX_RUNS];
    int n = a->nruns < b->nruns ? a->nruns : b->nruns;

    for (int i = 0; i < n; i++)
        r[i] = a->ns[i] / b->ns[i];
    return summarize(r, n);
}

/* The ratio of the median CPU times: what a loaded machine disturbs least. */
static double cpu_ratio(const struct contender *a, const struct contender *b)
{
    struct stats x = summarize(a->cpu, a->nruns), y = summarize(b->cpu,
                                                                b->nruns);

    return y.median > 0 ? x.median / y.median : 0;
}

static const struct contender *find_contender(const struct contender *c,
                                              int nc, const char *name)
{
    for (int i = 0; i < nc; i++)
        if (strcmp(c[i].name, name) == 0)
            return &c[i];
    return NULL;
}

/* The table of one operation: median, min, max, and the ratio against the
 * contender ref; ring adds records per second. */
static void report_small(const char *op, struct contender *c, int nc,
                         const char *ref)
{
    const struct contender *cref = find_contender(c, nc, ref);
    struct stats r = cref != NULL ? summarize(cref->ns, cref->nruns)
                                  : (struct stats){ 0, 0, 0, 0 };
    int ring = strcmp(op, "ring") == 0;
    char a[32], b[32], d[32], vs[32];

    snprintf(vs, sizeof vs, "vs %s", ref);
    printf("\n%-11s %-7s %-10s %10s %10s %10s %8s%s\n", "operation",
           "backend", "contender", ring ? "per record" : "median", "min",
           "max", vs, ring ? "   records/s (median)" : "");
    for (int i = 0; i < nc; i++) {
        struct stats s = summarize(c[i].ns, c[i].nruns);

        if (c[i].state != OK && s.n == 0) {
            printf("%-11s %-7s %-10s %s: %s\n", op, backend, c[i].name,
                   c[i].state == FAILED ? "FAILED" : "unavailable", c[i].why);
            continue;
        }
        printf("%-11s %-7s %-10s %10s %10s %10s", op, backend, c[i].name,
               fmt_time(a, sizeof a, s.median), fmt_time(b, sizeof b, s.min),
               fmt_time(d, sizeof d, s.max));
        if (r.n > 0)
            printf("   %5.3fx", s.median / r.median);
        else
            printf("   %6s", "-");
        if (ring)
            printf("   %.3g M/s", 1e3 / s.median);
        if (c[i].state != OK)
            printf("   (%s after %d runs: %s)",
                   c[i].state == FAILED ? "FAILED" : "stopped", s.n, c[i].why);
        putchar('\n');
    }
}

/* A goal on the ratio of the medians of contenders a and b (time per
 * operation, a / b): at most limit, or at least it.  cpu: the operation
 * runs in this thread alone, so the ratio of its CPU times means something
 * (in the two-process operations it is only half the work). */
static void goal_ratio(const char *op, const struct contender *c, int nc,
                       const char *a, const char *b, int at_most,
                       double limit, int cpu, const char *meaning)
{
    const struct contender *ca = find_contender(c, nc, a),
                           *cb = find_contender(c, nc, b);
    const char *cmp = at_most ? "<=" : ">=";
    struct stats x, y, p;
    char cpu_text[48] = "";
    double v;

    if (ca == NULL || cb == NULL || ca->nruns == 0 || cb->nruns == 0) {
        const struct contender *gone = ca == NULL || ca->nruns == 0 ? ca : cb;

        add_goal("NOT MEASURED", 0, "%s, %s: %s / %s (goal %s %.2fx): %s",
                 op, backend, a, b, cmp, limit,
                 gone != NULL ? gone->why : "not built");
        return;
    }
    x = summarize(ca->ns, ca->nruns);
    y = summarize(cb->ns, cb->nruns);
    p = paired(ca, cb);
    v = x.median / y.median;
    if (cpu)
        snprintf(cpu_text, sizeof cpu_text, "; CPU time %.2fx",
                 cpu_ratio(ca, cb));
    add_goal((at_most ? v <= limit : v >= limit) ? "met" : "MISSED", v,
             "%s, %s: %s / %s = %.3fx (goal %s %.2fx%s; run by run "
             "%.2f..%.2f%s)", op, backend, a, b, v, cmp, limit, meaning,
             p.min, p.max, cpu_text);
}

static void report_touch(void)
{
    char a[32], b[32], d[32], e[32], sz[32];

    printf("\n%-11s %-7s %-10s %-8s %10s %10s %10s %9s %11s\n", "operation",
           "backend", "contender", "size", "median", "min", "max",
           "vs memset", "teardown");
    for (int si = 0; si < opt.nsizes; si++) {
        struct touch_result *res = touch_res[si];
        struct stats mem = summarize(res[T_MEMSET].setup, res[T_MEMSET].nruns);
        struct stats def = summarize(res[T_DEFAULT].setup,
                                     res[T_DEFAULT].nruns);
        struct stats huge = summarize(res[T_HUGE].setup, res[T_HUGE].nruns);
        struct stats mem_cpu = summarize(res[T_MEMSET].setup_cpu,
                                         res[T_MEMSET].nruns);
        struct stats def_cpu = summarize(res[T_DEFAULT].setup_cpu,
                                         res[T_DEFAULT].nruns);
        struct stats huge_cpu = summarize(res[T_HUGE].setup_cpu,
                                          res[T_HUGE].nruns);

        fmt_size(sz, sizeof sz, opt.sizes[si]);
        for (int k = 0; k < T_COUNT; k++) {
            struct stats s = summarize(res[k].setup, res[k].nruns);
            struct stats t = summarize(res[k].teardown, res[k].nruns);

            if (s.n == 0) {
                printf("%-11s %-7s %-10s %-8s %s: %s\n", "setup+touch",
                       backend, touch_names[k], sz,
                       res[k].state == FAILED ? "FAILED" : "unavailable",
                       res[k].why);
                continue;
            }
            printf("%-11s %-7s %-10s %-8s %10s %10s %10s", "setup+touch",
                   backend, touch_names[k], sz,
                   fmt_time(a, sizeof a, s.median),
                   fmt_time(b, sizeof b, s.min), fmt_time(d, sizeof d, s.max));
            if (mem.n > 0)
                printf("   %5.2fx", s.median / mem.median);
            else
                printf("   %6s", "-");
            if (k != T_MEMSET)
                printf(" %11s", fmt_time(e, sizeof e, t.median));
            if (res[k].state != OK)
                printf("   (%s after %d runs: %s)",
                       res[k].state == FAILED ? "FAILED" : "stopped", s.n,
                       res[k].why);
            putchar('\n');
        }
        if (def.n > 0 && huge.n > 0)
            printf("%-11s %-7s default/hugepages at %s: %.2fx\n", "", backend,
                   sz, def.median / huge.median);
        else
            printf("%-11s %-7s default/hugepages at %s: n/a (no hugepages "
                   "result)\n", "", backend, sz);
        if (opt.sizes[si] == GiB) {
            if (def.n > 0 && huge.n > 0) {
                double x = def.median / huge.median;

                add_goal(x >= 5 ? "met" : "MISSED", x,
                         "touch 1 GiB, %s: default / hugepages = %.2fx (goal "
                         ">= 5x; CPU time %.2fx)", backend, x,
                         def_cpu.median / huge_cpu.median);
            } else {
                add_goal("NOT MEASURED", 0, "touch 1 GiB, %s: default / "
                         "hugepages (goal >= 5x): no hugepages result",
                         backend);
            }
            if (huge.n > 0 && mem.n > 0) {
                double x = huge.median / mem.median;

                add_goal(x <= 2 ? "met" : "MISSED", x,
                         "touch 1 GiB, %s: hugepages / memset = %.2fx (goal "
                         "<= 2x; CPU time %.2fx)", backend, x,
                         huge_cpu.median / mem_cpu.median);
            } else {
                add_goal("NOT MEASURED", 0, "touch 1 GiB, %s: hugepages / "
                         "memset (goal <= 2x): no hugepages result",
                         backend);
            }
        }
    }
}

static void print_sysctl(const char *label, const char *path)
{
    char line[256] = "";
    FILE *f = fopen(path, "re");

    if (f != NULL) {
        if (fgets(line, sizeof line, f) == NULL)
            line[0] = '\0';
        fclose(f);
    }
    line[strcspn(line, "\n")] = '\0';
    printf("  %-28s %s\n", label, line[0] != '\0' ? line : "(unknown)");
}

static void print_meminfo(const char *key)
{
    char line[256];
    FILE *f = fopen("/proc/meminfo", "re");
    size_t len = strlen(key);

    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, len) == 0 && line[len] == ':') {
            char *v = line + len + 1;

            v += strspn(v, " ");
            v[strcspn(v, "\n")] = '\0';
            printf("  %-28s %s\n", key, v);
        }
    fclose(f);
}

static void print_header(void)
{
    struct utsname u;
    char sz[32];

    printf("ushm-bench: libushm %s, backend %s, pid %ld\n", ushm_version(),
           backend, (long)getpid());
    if (uname(&u) == 0)
        printf("  %-28s %s %s %s\n", "system", u.sysname, u.release,
               u.machine);
    printf("  %-28s %ld online, page %ld bytes\n", "cpus",
           sysconf(_SC_NPROCESSORS_ONLN), sysconf(_SC_PAGESIZE));
    print_sysctl("transparent_hugepage", "/sys/kernel/mm/transparent_hugepage/enabled");
    print_sysctl("transparent_hugepage shmem", "/sys/kernel/mm/transparent_hugepage/shmem_enabled");
    print_meminfo("HugePages_Total");
    print_meminfo("HugePages_Free");
    print_meminfo("Hugepagesize");
    printf("  %-28s %d, median/min/max over them, contenders interleaved\n",
           "runs", opt.runs);
    printf("  %-28s anonymous private mapping, faulted in beforehand%s\n",
           "memset buffer",
#ifdef MADV_HUGEPAGE
           ", MADV_HUGEPAGE asked"
#else
           ""
#endif
           );
    printf("  %-28s", "touch sizes");
    for (int i = 0; i < opt.nsizes; i++)
        printf(" %s", fmt_size(sz, sizeof sz, opt.sizes[i]));
    putchar('\n');
#ifdef HAVE_APR
    printf("  %-28s APR %s: %s\n", "apr_shm (named)", apr_version_string(),
           apr_impl());
#else
    printf("  %-28s skipped: built without APR (HAVE_APR undefined: "
           "configure found no apr-1 through pkg-config; on Debian, install "
           "libapr1-dev and configure again)\n", "apr_shm");
#endif
#ifndef USHM_HUGEPAGES
    printf("  %-28s skipped: USHM_HUGEPAGES is not defined by this ushm.h\n",
           "hugepages");
#endif
    printf("  %-28s one anonymous %s segment; mutex %zu B, event %zu B; "
           "ring of %d records of %zu B, %ld records per run, up to %d per "
           "turn\n", "mutex, roundtrip, ring", backend, sizeof(ushm_mutex_t),
           sizeof(ushm_event_t), RING_SLOTS, sizeof(struct record),
           opt.records, RING_BATCH);
#if HAVE_SCHED_SETAFFINITY
    printf("  %-28s this process on the first CPU it may use, its peer on "
           "the second (roundtrip, ring)\n", "pinned");
#else
    printf("  %-28s no: no sched_setaffinity(); the scheduler places the "
           "two processes of roundtrip and ring\n", "pinned");
#endif
#if !HAVE_SYS_EVENTFD_H
    printf("  %-28s skipped: no <sys/eventfd.h>\n", "eventfd");
#endif
    fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* main                                                                */

static int parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || v == 0)
        return -1;
    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    default: break;
    }
    if (*end == 'i')
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end != '\0' || v % TOUCH_STRIDE != 0 || v > SIZE_MAX)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_sizes(const char *list)
{
    char buf[256], *save = NULL;

    snprintf(buf, sizeof buf, "%s", list);
    opt.nsizes = 0;
    for (char *t = strtok_r(buf, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        if (opt.nsizes == MAX_SIZES || parse_size(t, &opt.sizes[opt.nsizes]) < 0)
            return -1;
        opt.nsizes++;
    }
    return opt.nsizes > 0 ? 0 : -1;
}

static int parse_ops(const char *list)
{
    opt.do_lifecycle = strstr(list, "lifecycle") != NULL;
    opt.do_attach = strstr(list, "attach") != NULL;
    opt.do_touch = strstr(list, "touch") != NULL;
    opt.do_mutex = strstr(list, "mutex") != NULL;
    opt.do_roundtrip = strstr(list, "roundtrip") != NULL;
    opt.do_ring = strstr(list, "ring") != NULL;
    return opt.do_lifecycle || opt.do_attach || opt.do_touch ||
           opt.do_mutex || opt.do_roundtrip || opt.do_ring ? 0 : -1;
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: ushm-bench [options]\n"
"  --runs N         runs per measurement, median reported (default 7, at\n"
"                   least 7 unless --quick)\n"
"  --quick          touch 64 MiB only, shorter batches, 100000 ring records,\n"
"                   --runs may go below 7 (default 3)\n"
"  --sizes LIST     touch sizes, e.g. 64M,256M,1G (the default)\n"
"  --ops LIST       any of lifecycle,attach,mutex,roundtrip,ring,touch\n"
"                   (default: all)\n"
"  --only LIST      only these contenders: raw,libushm,apr_shm,pipe,\n"
"                   socketpair,eventfd,semop,default,populate,hugepages,\n"
"                   memset\n"
"  --iterations N   lifecycle/attach/mutex/roundtrip iterations per run\n"
"                   (default: sized so that a run lasts --target-ms)\n"
"  --target-ms MS   length of one lifecycle/attach/mutex/roundtrip run\n"
"                   (default 40)\n"
"  --records N      records per ring run (default 1000000)\n"
"  --csv FILE       per-run results (default bench-results.csv; - for none)\n"
"  --help\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "runs", required_argument, NULL, 'r' },
        { "quick", no_argument, NULL, 'q' },
        { "sizes", required_argument, NULL, 's' },
        { "ops", required_argument, NULL, 'o' },
        { "only", required_argument, NULL, 'O' },
        { "iterations", required_argument, NULL, 'n' },
        { "target-ms", required_argument, NULL, 't' },
        { "records", required_argument, NULL, 'R' },
        { "csv", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch, sizes_given = 0, target_given = 0, left;

    while ((ch = getopt_long(argc, argv, "r:qs:o:O:n:t:R:c:h", longopts,
                             NULL)) != -1) {
        switch (ch) {
        case 'r': opt.runs = atoi(optarg); break;
        case 'q': opt.quick = 1; break;
        case 's':
            if (parse_sizes(optarg) < 0) {
                fprintf(stderr, "ushm-bench: --sizes %s: want sizes such as "
                        "64M,256M,1G, multiples of 4 KiB, at most %d\n",
                        optarg, MAX_SIZES);
                return 2;
            }
            sizes_given = 1;
            break;
        case 'o':
            if (parse_ops(optarg) < 0) {
                fprintf(stderr, "ushm-bench: --ops %s: want lifecycle, "
                        "attach, mutex, roundtrip, ring and/or touch\n",
                        optarg);
                return 2;
            }
            break;
        case 'O': opt.only = optarg; break;
        case 'n': opt.iterations = atol(optarg); break;
        case 't': opt.target_ms = atof(optarg); target_given = 1; break;
        case 'R': opt.records = atol(optarg); break;
        case 'c': opt.csv_path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (opt.runs == 0)
        opt.runs = opt.quick ? 3 : MIN_RUNS;
    if (opt.runs < (opt.quick ? 1 : MIN_RUNS) || opt.runs > MAX_RUNS) {
        fprintf(stderr, "ushm-bench: --runs %d: want %d to %d (fewer than %d "
                "only with --quick)\n", opt.runs, opt.quick ? 1 : MIN_RUNS,
                MAX_RUNS, MIN_RUNS);
        return 2;
    }
    if (opt.iterations < 0 || opt.target_ms <= 0 || opt.records < 0) {
        fprintf(stderr, "ushm-bench: --iterations, --target-ms and --records "
                "must be positive\n");
        return 2;
    }
    if (opt.records == 0)
        opt.records = opt.quick ? RING_RECORDS / 10 : RING_RECORDS;
    if (!sizes_given) {
        if (opt.quick) {
            opt.sizes[0] = 64 * MiB;
            opt.nsizes = 1;
        } else {
            opt.sizes[0] = 64 * MiB;
            opt.sizes[1] = 256 * MiB;
            opt.sizes[2] = GiB;
            opt.nsizes = 3;
        }
    }
    if (opt.quick && !target_given)
        opt.target_ms = 10.0;

    backend = ushm_backend();
    is_sysv = strcmp(backend, "sysv") == 0;
    bench_pid = getpid();
    make_names();
    catch_signals();
    atexit(sweep_at_exit);
#ifdef HAVE_APR
    if (apr_setup() < 0) {
        fprintf(stderr, "ushm-bench: %s\n", why);
        return 1;
    }
#endif

    if (strcmp(opt.csv_path, "-") != 0) {
        csv = fopen(opt.csv_path, "w");
        if (csv == NULL) {
            fprintf(stderr, "ushm-bench: %s: %s\n", opt.csv_path,
                    strerror(errno));
            return 1;
        }
        fputs("operation,backend,contender,size_bytes,run,iterations,"
              "ns_per_op,cpu_ns_per_op,status,note\n", csv);
    }
    print_header();

    if (opt.do_lifecycle) {
        struct contender c[] = {
            { .name = "raw",
              .batch = is_sysv ? sysv_lifecycle : posix_lifecycle },
            { .name = "libushm", .batch = lib_lifecycle },
#ifdef HAVE_APR
            { .name = "apr_shm", .batch = apr_lifecycle,
              .after_batch = apr_after_batch },
#endif
        };
        int nc = (int)(sizeof c / sizeof c[0]);

        run_contenders("lifecycle", c, nc, opt.iterations, SMALL_SEG);
        report_small("lifecycle", c, nc, "raw");
        /* A linkat() (POSIX) and an shmget() to unlink by name (SysV)
         * are what the guarantees cost: issue 8's goals. */
        goal_ratio("lifecycle", c, nc, "libushm", "raw", 1,
                   is_sysv ? 1.10 : 1.25, 1, "");
        goal_ratio("lifecycle", c, nc, "apr_shm", "libushm", 0, 1.0, 1,
                   ": libushm faster");
        fflush(stdout);
    }
    if (opt.do_attach) {
        struct contender c[] = {
            { .name = "raw",
              .prepare = is_sysv ? sysv_attach_prepare : posix_attach_prepare,
              .batch = is_sysv ? sysv_attach : posix_attach,
              .finish = is_sysv ? sysv_attach_finish : posix_attach_finish },
            { .name = "libushm", .prepare = lib_attach_prepare,
              .batch = lib_attach, .finish = lib_attach_finish },
#ifdef HAVE_APR
            { .name = "apr_shm", .prepare = apr_attach_prepare,
              .batch = apr_attach, .after_batch = apr_after_batch,
              .finish = apr_attach_finish },
#endif
        };
        int nc = (int)(sizeof c / sizeof c[0]);

        run_contenders("attach", c, nc, opt.iterations, SMALL_SEG);
        report_small("attach", c, nc, "raw");
        goal_ratio("attach", c, nc, "libushm", "raw", 1, 1.05, 1, "");
        goal_ratio("attach", c, nc, "apr_shm", "libushm", 0, 1.0, 1,
                   ": libushm faster");
        fflush(stdout);
    }
    if (opt.do_mutex) {
        struct contender c[] = {
            { .name = "raw", .prepare = raw_mutex_prepare,
              .batch = raw_mutex, .finish = raw_mutex_finish },
            { .name = "libushm", .prepare = lib_mutex_prepare,
              .batch = lib_mutex },
        };
        int nc = (int)(sizeof c / sizeof c[0]);

        run_contenders("mutex", c, nc, opt.iterations, sizeof(ushm_mutex_t));
        report_small("mutex", c, nc, "raw");
        goal_ratio("mutex", c, nc, "libushm", "raw", 1, 1.3, 1, "");
        fflush(stdout);
    }
    if (opt.do_roundtrip) {
        struct contender c[] = {
            { .name = "pipe", .prepare = pipe_rt_prepare, .batch = pipe_rt,
              .finish = pipe_rt_finish },
            { .name = "libushm", .prepare = ev_prepare,
              .batch = ev_roundtrip, .finish = ev_finish },
            { .name = "socketpair", .prepare = sock_rt_prepare,
              .batch = sock_rt, .finish = sock_rt_finish },
#if HAVE_SYS_EVENTFD_H
            { .name = "eventfd", .prepare = efd_rt_prepare, .batch = efd_rt,
              .finish = efd_rt_finish },
#else
            { .name = "eventfd", .state = UNAVAILABLE,
              .why = "no <sys/eventfd.h> on this system" },
#endif
            { .name = "semop", .prepare = sem_rt_prepare, .batch = sem_rt,
              .finish = sem_rt_finish },
        };
        int nc = (int)(sizeof c / sizeof c[0]);

        run_contenders("roundtrip", c, nc, opt.iterations,
                       sizeof(ushm_event_t));
        report_small("roundtrip", c, nc, "pipe");
        goal_ratio("roundtrip", c, nc, "libushm", "pipe", 1, 0.25, 0, "");
        fflush(stdout);
    }
    if (opt.do_ring) {
        struct contender c[] = {
            { .name = "pipe", .prepare = pipe_ring_prepare,
              .batch = pipe_ring, .finish = pipe_ring_finish },
            { .name = "libushm", .prepare = ring_prepare,
              .batch = ring_produce, .finish = ring_finish },
        };
        int nc = (int)(sizeof c / sizeof c[0]);

        run_contenders("ring", c, nc, opt.records, sizeof(struct record));
        report_small("ring", c, nc, "pipe");
        goal_ratio("ring", c, nc, "pipe", "libushm", 0, 10, 0,
                   ": libushm's records/s over the pipe's");
        fflush(stdout);
    }
    if (opt.do_mutex || opt.do_roundtrip || opt.do_ring) {
        sync_teardown();
    }
    if (opt.do_touch) {
        for (int si = 0; si < opt.nsizes; si++)
            run_touch(si);
        report_touch();
    }

    if (ngoals > 0) {
        printf("\ngoals (%s backend):\n", backend);
        for (int i = 0; i < ngoals; i++)
            printf("  %-12s %s\n", goals[i].verdict, goals[i].text);
    }
    if (csv != NULL) {
        if (fclose(csv) != 0)
            fprintf(stderr, "ushm-bench: %s: %s\n", opt.csv_path,
                    strerror(errno));
        else
            printf("\nper-run results: %s\n", opt.csv_path);
        csv = NULL;
    }

#ifdef HAVE_APR
    apr_sweep();
#endif
    sweep();
    swept = 1;
    left = leftovers();
    if (left > 0) {
        fprintf(stderr, "ushm-bench: %d segment(s) left behind\n", left);
        return 1;
    }
    return 0;
}
