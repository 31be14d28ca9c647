/* SPDX-License-Identifier: MIT */
/*
 * contended: two processes, one on each CPU, lock and unlock one mutex as
 * fast as they can; time per lock + unlock of one of them.  A ushm_mutex_t
 * against the raw robust process-shared pthread mutex (mutex.c sets both
 * up).  Issue 14's goal: at most 1.3x raw.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#include <ushm.h>

#include "harness.h"
#include "list.h"
#include "sync-common.h"

static long peer_n;
static int peer_raw;

/* The peer does the same loop; its failures show as its exit status. */
static void peer_body(void)
{
    for (long i = 0; i < peer_n; i++) {
        if (peer_raw) {
            pthread_mutex_lock(&bench_area->raw_mutex);
            pthread_mutex_unlock(&bench_area->raw_mutex);
        } else if (ushm_mutex_lock(&bench_area->mutex) < 0 ||
                   ushm_mutex_unlock(&bench_area->mutex) < 0) {
            _exit(1);
        }
    }
}

static int both(long n, int raw)
{
    pid_t pid;

    peer_n = n;
    peer_raw = raw;
    pid = bench_spawn(peer_body, -1, -1);
    if (pid < 0)
        return -1;
    for (long i = 0; i < n; i++) {
        if (raw) {
            pthread_mutex_lock(&bench_area->raw_mutex);
            pthread_mutex_unlock(&bench_area->raw_mutex);
        } else if (ushm_mutex_lock(&bench_area->mutex) < 0 ||
                   ushm_mutex_unlock(&bench_area->mutex) < 0) {
            bench_reap(&pid, "the contending peer");
            return bench_fail_ushm("ushm_mutex_lock", "(anonymous)", -1);
        }
    }
    bench_reap(&pid, "the contending peer");
    return 0;
}

static int raw_contended(long n)
{
    return both(n, 1);
}

static int lib_contended(long n)
{
    return both(n, 0);
}

void bench_contended(void)
{
    struct contender c[] = {
        { .name = "raw", .prepare = bench_mutex_raw_prepare,
          .batch = raw_contended, .finish = bench_mutex_raw_finish },
        { .name = "libushm", .prepare = bench_mutex_lib_prepare,
          .batch = lib_contended },
    };
    int nc = (int)(sizeof c / sizeof c[0]);

    bench_run_contenders("contended", c, nc, bench_opt.iterations,
                         sizeof(ushm_mutex_t));
    bench_report("contended", c, nc, "raw");
    bench_goal_ratio("contended", c, nc, "libushm", "raw", 1, 1.3, 0, "");
    fflush(stdout);
}
