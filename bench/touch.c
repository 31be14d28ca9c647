/* SPDX-License-Identifier: MIT */
/*
 * touch: create a large segment and write one byte per 4 KiB page, with
 * default pages, USHM_POPULATE and USHM_HUGEPAGES, against memset() of a
 * buffer that is already faulted in; teardown: close + unlink after it,
 * timed apart from it.
 */
#ifndef _GNU_SOURCE /* apr-1.pc's cflags may define it already */
#define _GNU_SOURCE 1 /* MAP_ANONYMOUS, MADV_HUGEPAGE */
#endif

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <ushm.h>

#include "harness.h"
#include "list.h"

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
static char tc_lib[NAME_LEN];

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

/* One open + touch, then close + unlink.  Returns 0, -1 (failed, see
 * bench_why), or 1 when the kernel or the library cannot give this kind of
 * page. */
static int touch_once(int kind, size_t size, struct sample *setup,
                      struct sample *down)
{
    ushm_t *shm;
    uint64_t t0, t1, t2, c0, c1, c2;
    int err;

    c0 = bench_cpu_ns();
    t0 = bench_now_ns();
    err = ushm_open(&shm, tc_lib, size,
                    USHM_CREATE | USHM_EXCL | touch_flags(kind), 0600);
    if (err < 0) {
        bench_fail_ushm("ushm_open", tc_lib, err);
        return kind == T_HUGE && (err == -ENOMEM || err == -ENOTSUP ||
                                  err == -EOPNOTSUPP || err == -EPERM) ? 1 : -1;
    }
    touch_pages(ushm_addr(shm), ushm_size(shm));
    t1 = bench_now_ns();
    c1 = bench_cpu_ns();
    err = ushm_close(shm);
    if (err < 0) {
        ushm_unlink(tc_lib);
        return bench_fail_ushm("ushm_close", tc_lib, err);
    }
    if ((err = ushm_unlink(tc_lib)) < 0)
        return bench_fail_ushm("ushm_unlink", tc_lib, err);
    t2 = bench_now_ns();
    c2 = bench_cpu_ns();
    setup->wall = t1 - t0;
    setup->cpu = c1 - c0;
    down->wall = t2 - t1;
    down->cpu = c2 - c1;
    return 0;
}

static void run_touch(int si)
{
    size_t size = bench_opt.sizes[si];
    struct touch_result *res = touch_res[si];
    unsigned char *buf;

    for (int k = 0; k < T_COUNT; k++) {
        res[k].state = BENCH_OK;
        res[k].nruns = 0;
        if (!bench_wanted(touch_names[k]))
            bench_set_state(&res[k], BENCH_UNAVAILABLE, "left out by --only");
    }
#ifndef USHM_HUGEPAGES
    bench_set_state(&res[T_HUGE], BENCH_UNAVAILABLE,
                    "USHM_HUGEPAGES is not defined by this ushm.h");
#endif

    /* The physical limit: memset() of memory that is mapped and faulted. */
    buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
               -1, 0);
    if (buf == MAP_FAILED) {
        snprintf(res[T_MEMSET].why, sizeof res[T_MEMSET].why,
                 "mmap(%zu bytes): %s", size, strerror(errno));
        res[T_MEMSET].state = BENCH_FAILED;
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
    for (int r = si == 0 ? -1 : 0; r < bench_opt.runs; r++) {
        for (int k = 0; k < T_COUNT; k++) {
            struct sample setup = { 0, 0 }, down = { 0, 0 };
            int n;

            if (res[k].state != BENCH_OK)
                continue;
            if (k == T_MEMSET) {
                uint64_t c0 = bench_cpu_ns(), t0 = bench_now_ns();

                memset(buf, r | 1, size);
                __asm__ __volatile__("" : : "r"(buf) : "memory");
                setup.wall = bench_now_ns() - t0;
                setup.cpu = bench_cpu_ns() - c0;
            } else {
                int rc = touch_once(k, size, &setup, &down);

                if (rc != 0) {
                    bench_set_state(&res[k],
                                    rc > 0 ? BENCH_UNAVAILABLE : BENCH_FAILED,
                                    bench_why);
                    if (rc > 0)
                        fprintf(stderr, "ushm-bench: %s, %zu MiB: "
                                "unavailable: %s\n", touch_names[k],
                                size / MiB, bench_why);
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
            bench_csv_row("touch", touch_names[k], size, r + 1, 1,
                          res[k].setup[n], res[k].setup_cpu[n], "ok", "");
            if (k != T_MEMSET)
                bench_csv_row("teardown", touch_names[k], size, r + 1, 1,
                              res[k].teardown[n], res[k].teardown_cpu[n],
                              "ok", "");
        }
    }
    for (int k = 0; k < T_COUNT; k++)
        if (res[k].state != BENCH_OK)
            bench_csv_row("touch", touch_names[k], size, 0, 0, -1, -1,
                          res[k].state == BENCH_FAILED ? "failed"
                                                       : "unavailable",
                          res[k].why);
    if (buf != NULL)
        munmap(buf, size);
}

/* The 1 GiB goals: hugepages at least 5x faster than default pages, and
 * within 2x of memset(). */
static void touch_goals(const struct touch_result *res)
{
    struct bench_stats mem = bench_summarize(res[T_MEMSET].setup,
                                             res[T_MEMSET].nruns);
    struct bench_stats def = bench_summarize(res[T_DEFAULT].setup,
                                             res[T_DEFAULT].nruns);
    struct bench_stats huge = bench_summarize(res[T_HUGE].setup,
                                              res[T_HUGE].nruns);
    struct bench_stats mem_cpu = bench_summarize(res[T_MEMSET].setup_cpu,
                                                 res[T_MEMSET].nruns);
    struct bench_stats def_cpu = bench_summarize(res[T_DEFAULT].setup_cpu,
                                                 res[T_DEFAULT].nruns);
    struct bench_stats huge_cpu = bench_summarize(res[T_HUGE].setup_cpu,
                                                  res[T_HUGE].nruns);

    if (def.n > 0 && huge.n > 0) {
        double x = def.median / huge.median;

        bench_add_goal(x >= 5 ? "met" : "MISSED", x,
                       "touch 1 GiB, %s: default / hugepages = %.2fx (goal "
                       ">= 5x; CPU time %.2fx)", bench_backend, x,
                       def_cpu.median / huge_cpu.median);
    } else {
        bench_add_goal("NOT MEASURED", 0, "touch 1 GiB, %s: default / "
                       "hugepages (goal >= 5x): no hugepages result",
                       bench_backend);
    }
    if (huge.n > 0 && mem.n > 0) {
        double x = huge.median / mem.median;

        bench_add_goal(x <= 2 ? "met" : "MISSED", x,
                       "touch 1 GiB, %s: hugepages / memset = %.2fx (goal "
                       "<= 2x; CPU time %.2fx)", bench_backend, x,
                       huge_cpu.median / mem_cpu.median);
    } else {
        bench_add_goal("NOT MEASURED", 0, "touch 1 GiB, %s: hugepages / "
                       "memset (goal <= 2x): no hugepages result",
                       bench_backend);
    }
}

static void report_touch(void)
{
    char a[32], b[32], d[32], e[32], sz[32];

    printf("\n%-11s %-7s %-10s %-8s %10s %10s %10s %9s %11s\n", "operation",
           "backend", "contender", "size", "median", "min", "max",
           "vs memset", "teardown");
    for (int si = 0; si < bench_opt.nsizes; si++) {
        struct touch_result *res = touch_res[si];
        struct bench_stats mem = bench_summarize(res[T_MEMSET].setup,
                                                 res[T_MEMSET].nruns);
        struct bench_stats def = bench_summarize(res[T_DEFAULT].setup,
                                                 res[T_DEFAULT].nruns);
        struct bench_stats huge = bench_summarize(res[T_HUGE].setup,
                                                  res[T_HUGE].nruns);

        bench_fmt_size(sz, sizeof sz, bench_opt.sizes[si]);
        for (int k = 0; k < T_COUNT; k++) {
            struct bench_stats s = bench_summarize(res[k].setup, res[k].nruns);
            struct bench_stats t = bench_summarize(res[k].teardown,
                                                   res[k].nruns);

            if (s.n == 0) {
                printf("%-11s %-7s %-10s %-8s %s: %s\n", "setup+touch",
                       bench_backend, touch_names[k], sz,
                       res[k].state == BENCH_FAILED ? "FAILED"
                                                    : "unavailable",
                       res[k].why);
                continue;
            }
            printf("%-11s %-7s %-10s %-8s %10s %10s %10s", "setup+touch",
                   bench_backend, touch_names[k], sz,
                   bench_fmt_time(a, sizeof a, s.median),
                   bench_fmt_time(b, sizeof b, s.min),
                   bench_fmt_time(d, sizeof d, s.max));
            if (mem.n > 0)
                printf("   %5.2fx", s.median / mem.median);
            else
                printf("   %6s", "-");
            if (k != T_MEMSET)
                printf(" %11s", bench_fmt_time(e, sizeof e, t.median));
            if (res[k].state != BENCH_OK)
                printf("   (%s after %d runs: %s)",
                       res[k].state == BENCH_FAILED ? "FAILED" : "stopped",
                       s.n, res[k].why);
            putchar('\n');
        }
        if (def.n > 0 && huge.n > 0)
            printf("%-11s %-7s default/hugepages at %s: %.2fx\n", "",
                   bench_backend, sz, def.median / huge.median);
        else
            printf("%-11s %-7s default/hugepages at %s: n/a (no hugepages "
                   "result)\n", "", bench_backend, sz);
        if (bench_opt.sizes[si] == GiB)
            touch_goals(res);
    }
}

void bench_touch(void)
{
    bench_name(tc_lib, "touch");
    for (int si = 0; si < bench_opt.nsizes; si++)
        run_touch(si);
    report_touch();
}

/* The header's lines about touch. */
void bench_touch_describe(void)
{
    char sz[32];

    printf("  %-28s anonymous private mapping, faulted in beforehand%s\n",
           "memset buffer",
#ifdef MADV_HUGEPAGE
           ", MADV_HUGEPAGE asked"
#else
           ""
#endif
           );
    printf("  %-28s", "touch sizes");
    for (int i = 0; i < bench_opt.nsizes; i++)
        printf(" %s", bench_fmt_size(sz, sizeof sz, bench_opt.sizes[i]));
    putchar('\n');
#ifndef USHM_HUGEPAGES
    printf("  %-28s skipped: USHM_HUGEPAGES is not defined by this ushm.h\n",
           "hugepages");
#endif
}
