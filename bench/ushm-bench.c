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
 *
 * Every segment it makes has a name unique to its pid; an atexit() sweep and
 * a signal handler (raw system calls only) remove them whatever happens, and
 * the program checks at the end that nothing of its own is left.
 */
#ifndef _GNU_SOURCE /* apr-1.pc's cflags may define it already */
#define _GNU_SOURCE 1 /* MAP_ANONYMOUS, getopt_long */
#endif

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

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

/* ------------------------------------------------------------------ */
/* Options                                                             */

static struct {
    int runs;
    int quick;
    long iterations;          /* lifecycle/attach batch; 0: calibrate */
    double target_ms;         /* a lifecycle/attach batch lasts about this */
    size_t sizes[MAX_SIZES];
    int nsizes;
    const char *csv_path;
    int do_lifecycle, do_attach, do_touch;
    const char *only;         /* comma-separated contender names, or NULL */
} opt = {
    .runs = 0,
    .target_ms = 40.0,
    .csv_path = "bench-results.csv",
    .do_lifecycle = 1, .do_attach = 1, .do_touch = 1,
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

/* The SysV backend's key of a canonical name: FNV-1a, as ushm(3) documents. */
static key_t name_key(const char *canon)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)canon; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return (key_t)(h != 0 ? h : 1);
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

static void sweep(void)
{
    pid_t self = getpid();

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

static void catch_signals(void)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE,
                                SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
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
    int (*prepare)(void);     /* untimed, before the runs; -1: see why */
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

static void run_contenders(const char *op, struct contender *c, int nc)
{
    long iters = opt.iterations;
    int live = 0;

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
        if (c[i].prepare != NULL && c[i].prepare() < 0) {
            set_state(&c[i], FAILED, why);
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
            csv_row(op, c[i].name, SMALL_SEG, r + 1, iters,
                    c[i].ns[c[i].nruns], c[i].cpu[c[i].nruns], "ok", "");
            c[i].nruns++;
        }
    }

done:
    for (int i = 0; i < nc; i++) {
        if (c[i].finish != NULL)
            c[i].finish();
        if (c[i].state != OK)
            csv_row(op, c[i].name, SMALL_SEG, 0, 0, -1, -1,
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
    char text[200];
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

static void report_small(const char *op, struct contender *c, int nc)
{
    struct stats raw = { 0, 0, 0, 0 }, lib = { 0, 0, 0, 0 },
                 apr = { 0, 0, 0, 0 };
    const struct contender *craw = NULL, *clib = NULL, *capr = NULL;
    char a[32], b[32], d[32];

    for (int i = 0; i < nc; i++) {
        struct stats s = summarize(c[i].ns, c[i].nruns);

        if (strcmp(c[i].name, "raw") == 0)
            raw = s, craw = &c[i];
        else if (strcmp(c[i].name, "libushm") == 0)
            lib = s, clib = &c[i];
        else if (strcmp(c[i].name, "apr_shm") == 0)
            apr = s, capr = &c[i];
    }
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
        if (raw.n > 0)
            printf("   %5.2fx", s.median / raw.median);
        if (c[i].state != OK)
            printf("   (%s after %d runs: %s)",
                   c[i].state == FAILED ? "FAILED" : "stopped", s.n, c[i].why);
        putchar('\n');
    }
    if (raw.n > 0 && lib.n > 0) {
        double x = lib.median / raw.median;
        struct stats p = paired(clib, craw);

        add_goal(x <= 1.05 ? "met" : "MISSED", x,
                 "%s, %s: libushm / raw = %.3fx (goal <= 1.05x; run by run "
                 "%.2f..%.2f; CPU time %.2fx)", op, backend, x, p.min, p.max,
                 cpu_ratio(clib, craw));
    }
    if (apr.n > 0 && lib.n > 0) {
        double x = apr.median / lib.median;
        struct stats p = paired(capr, clib);

        add_goal(x > 1.0 ? "met" : "MISSED", x,
                 "%s, %s: apr_shm / libushm = %.2fx (goal > 1: libushm "
                 "faster; run by run %.2f..%.2f; CPU time %.2fx)", op,
                 backend, x, p.min, p.max, cpu_ratio(capr, clib));
    }
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
    return opt.do_lifecycle || opt.do_attach || opt.do_touch ? 0 : -1;
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: ushm-bench [options]\n"
"  --runs N         runs per measurement, median reported (default 7, at\n"
"                   least 7 unless --quick)\n"
"  --quick          touch 64 MiB only, shorter batches, --runs may go below 7\n"
"                   (default 3)\n"
"  --sizes LIST     touch sizes, e.g. 64M,256M,1G (the default)\n"
"  --ops LIST       any of lifecycle,attach,touch (default: all)\n"
"  --only LIST      only these contenders: raw,libushm,apr_shm,default,\n"
"                   populate,hugepages,memset\n"
"  --iterations N   lifecycle/attach iterations per run (default: sized so a\n"
"                   run lasts --target-ms)\n"
"  --target-ms MS   length of one lifecycle/attach run (default 40)\n"
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
        { "csv", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int ch, sizes_given = 0, target_given = 0, left;

    while ((ch = getopt_long(argc, argv, "r:qs:o:O:n:t:c:h", longopts,
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
                        "attach and/or touch\n", optarg);
                return 2;
            }
            break;
        case 'O': opt.only = optarg; break;
        case 'n': opt.iterations = atol(optarg); break;
        case 't': opt.target_ms = atof(optarg); target_given = 1; break;
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
    if (opt.iterations < 0 || opt.target_ms <= 0) {
        fprintf(stderr, "ushm-bench: --iterations and --target-ms must be "
                "positive\n");
        return 2;
    }
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

    if (opt.do_lifecycle || opt.do_attach)
        printf("\n%-11s %-7s %-10s %10s %10s %10s %8s\n", "operation",
               "backend", "contender", "median", "min", "max", "vs raw");
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

        run_contenders("lifecycle", c, nc);
        report_small("lifecycle", c, nc);
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

        run_contenders("attach", c, nc);
        report_small("attach", c, nc);
        fflush(stdout);
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
