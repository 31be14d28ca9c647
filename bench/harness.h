/* SPDX-License-Identifier: MIT */
/*
 * The harness every benchmark of ushm-bench shares: options, the names it
 * makes and their sweep, time, failures, statistics, the round-robin runner
 * of contenders, the CSV and the tables and goals of the report.
 */
#ifndef USHM_BENCH_HARNESS_H
#define USHM_BENCH_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <ushm.h> /* key_t too */

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

/* ---- options (harness.c) ---- */

struct bench_options {
    int runs;
    int quick;
    long iterations;          /* lifecycle/attach/mutex/roundtrip batch;
                                 0: calibrate */
    double target_ms;         /* a lifecycle/attach batch lasts about this */
    size_t sizes[MAX_SIZES];
    int nsizes;
    const char *csv_path;
    const char *ops;          /* --ops as given, or NULL: every benchmark */
    long records;             /* ring: records per run */
    const char *only;         /* comma-separated contender names, or NULL */
};

extern struct bench_options bench_opt;
extern const char *bench_backend; /* ushm_backend(): "posix" or "sysv" */
extern int bench_is_sysv;
extern pid_t bench_pid;           /* this process, as its peers know it */

/* One benchmark of list.h: name is its word in --ops; run measures and
 * reports it.  shares_sync: it uses the anonymous segment and the pinned
 * CPUs of sync-common.c, given back before any other benchmark runs. */
struct bench_entry {
    const char *name;
    void (*run)(void);
    int shares_sync;
};

/* Parses the options into bench_opt; -1 to go on, else the exit status. */
int bench_parse_options(int argc, char **argv,
                        const struct bench_entry *list, int n);
int bench_selected(const struct bench_entry *b);

/* ---- names, and the sweep that removes them whatever happens
 *      (cleanup.c) ---- */

key_t bench_key(const char *name);
void bench_name(char *buf, const char *tag);
void bench_track_posix(const char *name);
void bench_track_sem(int id);
void bench_untrack_sem(void);
void bench_cleanup_init(void);
void bench_default_signals(void);
int bench_swept(void);
int bench_cleanup_finish(void);

/* ---- time, failures, statistics (harness.c) ---- */

uint64_t bench_now_ns(void);
uint64_t bench_cpu_ns(void);

extern char bench_why[512]; /* the last failure of a contender */

int bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int bench_fail_errno(const char *what, const char *name, int err);
int bench_fail_ushm(const char *what, const char *name, int err);

struct bench_stats {
    double median, min, max;
    int n;
};

struct bench_stats bench_summarize(const double *v, int n);

/* Reserves the pages of a raw POSIX object, as libushm does. */
int bench_reserve(int fd, size_t size);

/* ---- contenders, interleaved round-robin (harness.c) ---- */

enum { BENCH_OK, BENCH_UNAVAILABLE, BENCH_FAILED };

struct contender {
    const char *name;
    int (*prepare)(void);     /* untimed, before the runs; -1: failed,
                                 1: unavailable here (see bench_why) */
    int (*batch)(long n);     /* n timed iterations; -1: see bench_why */
    void (*after_batch)(void);/* untimed, after each batch */
    void (*finish)(void);     /* untimed, after the runs */
    int state;
    char why[512];
    double *ns;               /* ns per operation, one per run */
    double *cpu;              /* CPU ns per operation, one per run */
    int nruns;
};

int bench_wanted(const char *name);

#define bench_set_state(c, st, text) \
    ((c)->state = (st), snprintf((c)->why, sizeof (c)->why, "%s", (text)))

/* iters: iterations per batch, 0 to size them; size: the CSV's size_bytes. */
void bench_run_contenders(const char *op, struct contender *c, int nc,
                          long iters, size_t size);

/* ---- CSV and report (harness.c) ---- */

int bench_csv_open(const char *path);
void bench_csv_row(const char *op, const char *who, size_t size, int run,
                   long iters, double ns, double cpu, const char *status,
                   const char *note);
void bench_csv_close(void);

const char *bench_fmt_time(char *buf, size_t len, double ns);
const char *bench_fmt_size(char *buf, size_t len, size_t size);

void bench_report(const char *op, struct contender *c, int nc,
                  const char *ref);
void bench_add_goal(const char *verdict, double value, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void bench_goal_ratio(const char *op, const struct contender *c, int nc,
                      const char *a, const char *b, int at_most,
                      double limit, int cpu, const char *meaning);
void bench_print_goals(void);
void bench_report_system(void);

/* ---- what a benchmark adds to the report's header ---- */

void bench_touch_describe(void);  /* touch.c */
void bench_sync_describe(void);   /* sync-common.c */

#endif
