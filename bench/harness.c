/* SPDX-License-Identifier: MIT */
/*
 * The harness of ushm-bench: options, time, failures, statistics, the
 * round-robin runner of contenders, the CSV, the tables, the goals and the
 * system report.  What the benchmarks measure is in their own files.
 */
#ifndef _GNU_SOURCE /* apr-1.pc's cflags may define it already */
#define _GNU_SOURCE 1 /* getopt_long */
#endif

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <ushm.h>

#include "harness.h"

/* ------------------------------------------------------------------ */
/* Options                                                             */

struct bench_options bench_opt = {
    .runs = 0,
    .target_ms = 40.0,
    .csv_path = "bench-results.csv",
};

const char *bench_backend;
int bench_is_sysv;
pid_t bench_pid;

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
    bench_opt.nsizes = 0;
    for (char *t = strtok_r(buf, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        if (bench_opt.nsizes == MAX_SIZES ||
            parse_size(t, &bench_opt.sizes[bench_opt.nsizes]) < 0)
            return -1;
        bench_opt.nsizes++;
    }
    return bench_opt.nsizes > 0 ? 0 : -1;
}

/* A benchmark runs when its name appears anywhere in --ops. */
static int names_benchmark(const char *ops, const struct bench_entry *b)
{
    return ops == NULL || strstr(ops, b->name) != NULL;
}

int bench_selected(const struct bench_entry *b)
{
    return names_benchmark(bench_opt.ops, b);
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
"  --ops LIST       any of lifecycle,attach,mutex,contended,notify,\n"
"                   roundtrip,ring,touch\n"
"                   (default: all)\n"
"  --only LIST      only these contenders: raw,floor,libushm,apr_shm,\n"
"                   pipe,socketpair,eventfd,semop,default,populate,\n"
"                   hugepages,memset,fresh,deadwaiter\n"
"  --iterations N   lifecycle/attach/mutex/notify/roundtrip iterations per\n"
"                   run\n"
"                   (default: sized so that a run lasts --target-ms)\n"
"  --target-ms MS   length of one lifecycle/attach/mutex/roundtrip run\n"
"                   (default 40)\n"
"  --records N      records per ring run (default 1000000)\n"
"  --csv FILE       per-run results (default bench-results.csv; - for none)\n"
"  --help\n");
}

int bench_parse_options(int argc, char **argv,
                        const struct bench_entry *list, int n)
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
    int ch, sizes_given = 0, target_given = 0, known;

    while ((ch = getopt_long(argc, argv, "r:qs:o:O:n:t:R:c:h", longopts,
                             NULL)) != -1) {
        switch (ch) {
        case 'r': bench_opt.runs = atoi(optarg); break;
        case 'q': bench_opt.quick = 1; break;
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
            known = 0;
            for (int i = 0; i < n; i++)
                known |= names_benchmark(optarg, &list[i]);
            if (!known) {
                fprintf(stderr, "ushm-bench: --ops %s: want lifecycle, "
                        "attach, mutex, roundtrip, ring and/or touch\n",
                        optarg);
                return 2;
            }
            bench_opt.ops = optarg;
            break;
        case 'O': bench_opt.only = optarg; break;
        case 'n': bench_opt.iterations = atol(optarg); break;
        case 't':
            bench_opt.target_ms = atof(optarg);
            target_given = 1;
            break;
        case 'R': bench_opt.records = atol(optarg); break;
        case 'c': bench_opt.csv_path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (bench_opt.runs == 0)
        bench_opt.runs = bench_opt.quick ? 3 : MIN_RUNS;
    if (bench_opt.runs < (bench_opt.quick ? 1 : MIN_RUNS) ||
        bench_opt.runs > MAX_RUNS) {
        fprintf(stderr, "ushm-bench: --runs %d: want %d to %d (fewer than %d "
                "only with --quick)\n", bench_opt.runs,
                bench_opt.quick ? 1 : MIN_RUNS, MAX_RUNS, MIN_RUNS);
        return 2;
    }
    if (bench_opt.iterations < 0 || bench_opt.target_ms <= 0 ||
        bench_opt.records < 0) {
        fprintf(stderr, "ushm-bench: --iterations, --target-ms and --records "
                "must be positive\n");
        return 2;
    }
    if (bench_opt.records == 0)
        bench_opt.records = bench_opt.quick ? RING_RECORDS / 10 : RING_RECORDS;
    if (!sizes_given) {
        if (bench_opt.quick) {
            bench_opt.sizes[0] = 64 * MiB;
            bench_opt.nsizes = 1;
        } else {
            bench_opt.sizes[0] = 64 * MiB;
            bench_opt.sizes[1] = 256 * MiB;
            bench_opt.sizes[2] = GiB;
            bench_opt.nsizes = 3;
        }
    }
    if (bench_opt.quick && !target_given)
        bench_opt.target_ms = 10.0;
    return -1;
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
uint64_t bench_now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/* Beside it, the CPU time of this (only) thread, user + system: what the
 * work cost this process, whatever else the machine was running. */
uint64_t bench_cpu_ns(void)
{
    return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

char bench_why[512];

int bench_fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(bench_why, sizeof bench_why, fmt, ap);
    va_end(ap);
    return -1;
}

int bench_fail_errno(const char *what, const char *name, int err)
{
    return bench_fail("%s(%s): %s", what, name, strerror(err));
}

/* The library's own sentence says which call failed, on which segment and
 * why; the caller's names are only for a library that said nothing. */
int bench_fail_ushm(const char *what, const char *name, int err)
{
    const char *text = ushm_last_error();

    if (strcmp(text, "no error") == 0)
        return bench_fail("%s(%s): %s", what, name, ushm_strerror(err));
    return bench_fail("%s", text);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

struct bench_stats bench_summarize(const double *v, int n)
{
    struct bench_stats s = { 0, 0, 0, n };
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

int bench_reserve(int fd, size_t size)
{
#if !defined(HAVE_CONFIG_H) || HAVE_POSIX_FALLOCATE
    return posix_fallocate(fd, 0, (off_t)size);
#else
    return ftruncate(fd, (off_t)size) == 0 ? 0 : errno;
#endif
}

/* ------------------------------------------------------------------ */
/* Contenders, interleaved round-robin                                 */

int bench_wanted(const char *name)
{
    size_t len = strlen(name);

    if (bench_opt.only == NULL)
        return 1;
    for (const char *p = bench_opt.only; *p != '\0';) {
        size_t n = strcspn(p, ",");

        if (n == len && strncmp(p, name, n) == 0)
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

void bench_run_contenders(const char *op, struct contender *c, int nc,
                          long iters, size_t size)
{
    int live = 0, rc;

    for (int i = 0; i < nc; i++) {
        c[i].ns = calloc((size_t)bench_opt.runs, sizeof *c[i].ns);
        c[i].cpu = calloc((size_t)bench_opt.runs, sizeof *c[i].cpu);
        if (c[i].ns == NULL || c[i].cpu == NULL) {
            perror("ushm-bench: calloc");
            exit(2);
        }
        if (c[i].state != BENCH_OK)
            continue;
        if (!bench_wanted(c[i].name)) {
            bench_set_state(&c[i], BENCH_UNAVAILABLE, "left out by --only");
            continue;
        }
        if (c[i].prepare != NULL && (rc = c[i].prepare()) != 0) {
            bench_set_state(&c[i], rc > 0 ? BENCH_UNAVAILABLE : BENCH_FAILED,
                            bench_why);
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

            if (c[i].state != BENCH_OK)
                continue;
            for (;;) {
                t0 = bench_now_ns();
                if (c[i].batch(n) < 0) {
                    bench_set_state(&c[i], BENCH_FAILED, bench_why);
                    break;
                }
                dt = bench_now_ns() - t0;
                if (c[i].after_batch != NULL)
                    c[i].after_batch();
                if (dt >= 5000000u || n >= (1L << 22))
                    break;
                n *= 4;
            }
            if (c[i].state == BENCH_OK) {
                double per = (double)dt / (double)n;

                iters = (long)(bench_opt.target_ms * 1e6 / per);
                if (iters < 16)
                    iters = 16;
            }
        }
        if (iters == 0)
            goto done;
    }

    /* Round 0 warms up (caches, allocator, page tables) and is not kept. */
    for (int r = -1; r < bench_opt.runs; r++) {
        for (int i = 0; i < nc; i++) {
            uint64_t t0, c0, dt, dc;

            if (c[i].state != BENCH_OK)
                continue;
            c0 = bench_cpu_ns();
            t0 = bench_now_ns();
            if (c[i].batch(iters) < 0) {
                bench_set_state(&c[i], BENCH_FAILED, bench_why);
                continue;
            }
            dt = bench_now_ns() - t0;
            dc = bench_cpu_ns() - c0;
            if (c[i].after_batch != NULL)
                c[i].after_batch();
            if (r < 0)
                continue;
            c[i].ns[c[i].nruns] = (double)dt / (double)iters;
            c[i].cpu[c[i].nruns] = (double)dc / (double)iters;
            bench_csv_row(op, c[i].name, size, r + 1, iters,
                          c[i].ns[c[i].nruns], c[i].cpu[c[i].nruns], "ok",
                          "");
            c[i].nruns++;
        }
    }

done:
    for (int i = 0; i < nc; i++) {
        if (c[i].finish != NULL)
            c[i].finish();
        if (c[i].state != BENCH_OK)
            bench_csv_row(op, c[i].name, size, 0, 0, -1, -1,
                          c[i].state == BENCH_FAILED ? "failed"
                                                     : "unavailable",
                          c[i].why);
    }
}

/* ------------------------------------------------------------------ */
/* CSV                                                                 */

static FILE *csv;

int bench_csv_open(const char *path)
{
    if (strcmp(path, "-") == 0)
        return 0;
    csv = fopen(path, "w");
    if (csv == NULL) {
        fprintf(stderr, "ushm-bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fputs("operation,backend,contender,size_bytes,run,iterations,"
          "ns_per_op,cpu_ns_per_op,status,note\n", csv);
    return 0;
}

/* The note is quoted and comes last: the fields before it have no commas. */
void bench_csv_row(const char *op, const char *who, size_t size, int run,
                   long iters, double ns, double cpu, const char *status,
                   const char *note)
{
    if (csv == NULL)
        return;
    fprintf(csv, "%s,%s,%s,%zu,%d,%ld,", op, bench_backend, who, size, run,
            iters);
    if (ns >= 0)
        fprintf(csv, "%.1f,%.1f", ns, cpu);
    else
        fputc(',', csv);
    fprintf(csv, ",%s,\"", status);
    for (const char *p = note != NULL ? note : ""; *p; p++)
        fputc(*p == '"' ? '\'' : *p, csv);
    fputs("\"\n", csv);
}

void bench_csv_close(void)
{
    if (csv == NULL)
        return;
    if (fclose(csv) != 0)
        fprintf(stderr, "ushm-bench: %s: %s\n", bench_opt.csv_path,
                strerror(errno));
    else
        printf("\nper-run results: %s\n", bench_opt.csv_path);
    csv = NULL;
}

/* ------------------------------------------------------------------ */
/* The report                                                          */

const char *bench_fmt_time(char *buf, size_t len, double ns)
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

const char *bench_fmt_size(char *buf, size_t len, size_t size)
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

void bench_add_goal(const char *verdict, double value, const char *fmt, ...)
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

void bench_print_goals(void)
{
    if (ngoals == 0)
        return;
    printf("\ngoals (%s backend):\n", bench_backend);
    for (int i = 0; i < ngoals; i++)
        printf("  %-12s %s\n", goals[i].verdict, goals[i].text);
}

/* The ratio a / b run by run: the two ran back to back, so drift in the
 * machine's speed cancels out better than in the ratio of the medians. */
static struct bench_stats paired(const struct contender *a,
                                 const struct contender *b)
{
    double r[MAX_RUNS];
    int n = a->nruns < b->nruns ? a->nruns : b->nruns;

    for (int i = 0; i < n; i++)
        r[i] = a->ns[i] / b->ns[i];
    return bench_summarize(r, n);
}

/* The ratio of the median CPU times: what a loaded machine disturbs least. */
static double cpu_ratio(const struct contender *a, const struct contender *b)
{
    struct bench_stats x = bench_summarize(a->cpu, a->nruns),
                       y = bench_summarize(b->cpu, b->nruns);

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
void bench_report(const char *op, struct contender *c, int nc,
                  const char *ref)
{
    const struct contender *cref = find_contender(c, nc, ref);
    struct bench_stats r = cref != NULL
                               ? bench_summarize(cref->ns, cref->nruns)
                               : (struct bench_stats){ 0, 0, 0, 0 };
    int ring = strcmp(op, "ring") == 0;
    char a[32], b[32], d[32], vs[32];

    snprintf(vs, sizeof vs, "vs %s", ref);
    printf("\n%-11s %-7s %-10s %10s %10s %10s %8s%s\n", "operation",
           "backend", "contender", ring ? "per record" : "median", "min",
           "max", vs, ring ? "   records/s (median)" : "");
    for (int i = 0; i < nc; i++) {
        struct bench_stats s = bench_summarize(c[i].ns, c[i].nruns);

        if (c[i].state != BENCH_OK && s.n == 0) {
            printf("%-11s %-7s %-10s %s: %s\n", op, bench_backend, c[i].name,
                   c[i].state == BENCH_FAILED ? "FAILED" : "unavailable",
                   c[i].why);
            continue;
        }
        printf("%-11s %-7s %-10s %10s %10s %10s", op, bench_backend,
               c[i].name, bench_fmt_time(a, sizeof a, s.median),
               bench_fmt_time(b, sizeof b, s.min),
               bench_fmt_time(d, sizeof d, s.max));
        if (r.n > 0)
            printf("   %5.3fx", s.median / r.median);
        else
            printf("   %6s", "-");
        if (ring)
            printf("   %.3g M/s", 1e3 / s.median);
        if (c[i].state != BENCH_OK)
            printf("   (%s after %d runs: %s)",
                   c[i].state == BENCH_FAILED ? "FAILED" : "stopped", s.n,
                   c[i].why);
        putchar('\n');
    }
}

/* A goal on the ratio of the medians of contenders a and b (time per
 * operation, a / b): at most limit, or at least it.  cpu: the operation
 * runs in this thread alone, so the ratio of its CPU times means something
 * (in the two-process operations it is only half the work). */
void bench_goal_ratio(const char *op, const struct contender *c, int nc,
                      const char *a, const char *b, int at_most,
                      double limit, int cpu, const char *meaning)
{
    const struct contender *ca = find_contender(c, nc, a),
                           *cb = find_contender(c, nc, b);
    const char *cmp = at_most ? "<=" : ">=";
    struct bench_stats x, y, p;
    char cpu_text[48] = "";
    double v;

    if (ca == NULL || cb == NULL || ca->nruns == 0 || cb->nruns == 0) {
        const struct contender *gone = ca == NULL || ca->nruns == 0 ? ca : cb;

        bench_add_goal("NOT MEASURED", 0,
                       "%s, %s: %s / %s (goal %s %.2fx): %s", op,
                       bench_backend, a, b, cmp, limit,
                       gone != NULL ? gone->why : "not built");
        return;
    }
    x = bench_summarize(ca->ns, ca->nruns);
    y = bench_summarize(cb->ns, cb->nruns);
    p = paired(ca, cb);
    v = x.median / y.median;
    if (cpu)
        snprintf(cpu_text, sizeof cpu_text, "; CPU time %.2fx",
                 cpu_ratio(ca, cb));
    bench_add_goal((at_most ? v <= limit : v >= limit) ? "met" : "MISSED", v,
                   "%s, %s: %s / %s = %.3fx (goal %s %.2fx%s; run by run "
                   "%.2f..%.2f%s)", op, bench_backend, a, b, v, cmp, limit,
                   meaning, p.min, p.max, cpu_text);
}

/* ------------------------------------------------------------------ */
/* The system report: what the figures depend on besides the code      */

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

void bench_report_system(void)
{
    struct utsname u;

    printf("ushm-bench: libushm %s, backend %s, pid %ld\n", ushm_version(),
           bench_backend, (long)getpid());
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
           "runs", bench_opt.runs);
}
