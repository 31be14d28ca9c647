/* SPDX-License-Identifier: MIT */
/*
 * ushm-bench: what libushm costs against the raw system calls and against
 * APR's apr_shm, on the backend this program is linked with.
 *
 * The same sources are built once per backend (bench/ushm-bench-posix,
 * bench/ushm-bench-sysv), the way the conformance suite is; bench/run.sh
 * runs every build there is and merges their CSVs.  Within one program the
 * contenders of an operation are interleaved round-robin (A, B, C, A, B, C,
 * ...) so that drift in the machine's speed hits them all alike, and every
 * number is the median of --runs runs, 7 at least.
 *
 * This file is the runner: it walks the benchmarks of list.h, one file
 * each (lifecycle.c, attach.c, mutex.c, roundtrip.c, ring.c, touch.c), over
 * the harness they share (harness.c; names and their sweep in cleanup.c;
 * the segment, CPUs and peer processes of the synchronisation benchmarks
 * in sync-common.c; APR in apr-shm.c).
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ushm.h>

#include "apr-shm.h"
#include "harness.h"
#include "list.h"
#include "sync-common.h"

#define BENCH_ENTRY(name, shares_sync) { #name, bench_##name, shares_sync },
static const struct bench_entry list[] = { BENCH_LIST(BENCH_ENTRY) };
#undef BENCH_ENTRY

#define NLIST ((int)(sizeof list / sizeof list[0]))

static void print_header(void)
{
    bench_report_system();
    bench_touch_describe();
    bench_apr_describe();
    bench_sync_describe();
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int status, left;

    status = bench_parse_options(argc, argv, list, NLIST);
    if (status >= 0)
        return status;

    bench_backend = ushm_backend();
    bench_is_sysv = strcmp(bench_backend, "sysv") == 0;
    bench_pid = getpid();
    bench_cleanup_init();
    if (bench_apr_setup() < 0) {
        fprintf(stderr, "ushm-bench: %s\n", bench_why);
        return 1;
    }
    if (bench_csv_open(bench_opt.csv_path) < 0)
        return 1;
    print_header();

    for (int i = 0; i < NLIST; i++) {
        if (!bench_selected(&list[i]))
            continue;
        /* The segment and pinned CPUs of the synchronisation benchmarks
         * are not left to the others (a no-op when none ran). */
        if (!list[i].shares_sync)
            bench_sync_teardown();
        list[i].run();
    }
    bench_sync_teardown();

    bench_print_goals();
    bench_csv_close();

    bench_apr_sweep();
    left = bench_cleanup_finish();
    if (left > 0) {
        fprintf(stderr, "ushm-bench: %d segment(s) left behind\n", left);
        return 1;
    }
    return 0;
}
