/* SPDX-License-Identifier: MIT */
/*
 * notify: ushm_event_notify() with nobody waiting, on a fresh event and on
 * one whose waiter was SIGKILLed while asleep (API.md 0.3: the dead waiter
 * costs later notifies one extra wake-up in all, so the second contender
 * stays within a few times the first).
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ushm.h>

#include "harness.h"
#include "list.h"
#include "sync-common.h"

static int fresh_prepare(void)
{
    return bench_sync_setup() < 0 ? -1 : 0;
}

static int notify_n(ushm_event_t *ev, long n)
{
    for (long i = 0; i < n; i++) {
        int err = ushm_event_notify(ev);

        if (err != 0)
            return bench_fail_ushm("ushm_event_notify", "(anonymous)", err);
    }
    return 0;
}

static int fresh_notify(long n)
{
    return notify_n(&bench_area->ping, n);
}

static void wait_forever(void)
{
    ushm_event_wait(&bench_area->pong, ushm_event_read(&bench_area->pong), -1);
    _exit(0);
}

/* A waiter on pong, killed once it sleeps (it sleeps within its first
 * second: the prepare waits that long, then kills it). */
static int dead_prepare(void)
{
    struct timespec nap = { 0, 50000000L };
    pid_t pid;

    if (bench_sync_setup() < 0)
        return -1;
    pid = bench_spawn(wait_forever, -1, -1);
    if (pid < 0)
        return -1;
    nanosleep(&nap, NULL); /* a benchmark, not a test: long enough to sleep */
    kill(pid, SIGKILL);
    /* Killed on purpose: reaped without bench_reap()'s report of a death. */
    while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
        continue;
    return 0;
}

static int dead_notify(long n)
{
    return notify_n(&bench_area->pong, n);
}

void bench_notify(void)
{
    struct contender c[] = {
        { .name = "fresh", .prepare = fresh_prepare, .batch = fresh_notify },
        { .name = "deadwaiter", .prepare = dead_prepare, .batch = dead_notify },
    };
    int nc = (int)(sizeof c / sizeof c[0]);

    bench_run_contenders("notify", c, nc, bench_opt.iterations,
                         sizeof(ushm_event_t));
    bench_report("notify", c, nc, "fresh");
    bench_goal_ratio("notify", c, nc, "deadwaiter", "fresh", 1, 3.0, 1, "");
    fflush(stdout);
}
