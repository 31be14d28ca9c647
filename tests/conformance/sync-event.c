/* SPDX-License-Identifier: MIT */
/*
 * tests/conformance-sync: the event (API.md, "ushm_event_t"): the counter,
 * waits that time out never early and never much late, and waiters killed
 * while they wait.  Runs once, in anonymous segments (sync.c has the wake-ups
 * across processes in each backend's segments).
 */
#include "sync-common.h"

/* ------------------------------------------------------------------ */
/* Events                                                               */

/* ------------------------------------------------------------------ */
/* Events                                                               */

START_TEST(test_event_basics)
{
    struct ctx c;
    ushm_event_t *ev;
    double t0, el;

    ctx_open(&c, 1);
    ev = &c.sh->ev[1];
    ck_assert_uint_eq(ushm_event_read(ev), 0);
    ASSERT_RC(ushm_event_wait(ev, 0, 0), -ETIMEDOUT);
    ck_assert_msg(strstr(last_err(), "ushm_event_wait") != NULL, "message: %s", last_err());
    for (long ms = 1; ms <= 300; ms = ms * 6 + 4) {
        t0 = now_ms();
        ASSERT_RC(ushm_event_wait(ev, 0, ms), -ETIMEDOUT);
        el = now_ms() - t0;
        ck_assert_msg(el >= (double)ms, "wait(%ld ms) gave up after %.3f ms", ms, el);
        ck_assert_msg(el < (double)ms + late_ms(), "wait(%ld ms) took %.3f ms", ms, el);
    }
    for (unsigned i = 1; i <= 5; i++) {
        ASSERT_RC(ushm_event_notify(ev), 0);
        ck_assert_uint_eq(ushm_event_read(ev), i);
    }
    /* The counter already differs: at once, whatever the timeout. */
    t0 = now_ms();
    ASSERT_RC(ushm_event_wait(ev, 0, -1), 0);
    ASSERT_RC(ushm_event_wait(ev, 4, 100000), 0);
    ASSERT_RC(ushm_event_wait(ev, 6, 0), 0);
    ck_assert_msg(now_ms() - t0 < late_ms(), "waits took %.1f ms", now_ms() - t0);
    ASSERT_RC(ushm_event_wait(ev, 5, 0), -ETIMEDOUT);
    ck_assert_uint_eq(ushm_event_read(&c.sh->ev[0]), 0); /* its neighbours untouched */
    ck_assert_uint_eq(ushm_event_read(&c.sh->ev[2]), 0);
    ctx_close(&c);
}
END_TEST

/*
 * Whether process pid sleeps (state S or D in /proc/<pid>/stat) within ms:
 * after its 'w' a waiter only sleeps in ushm_event_wait(), in the futex or
 * between polls.
 */
static int wait_asleep(pid_t pid, double ms)
{
    char path[64], buf[512], *p;
    double give_up = now_ms() + ms;

    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    do {
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;

        if (f)
            fclose(f);
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (p != NULL && p[1] == ' ' && (p[2] == 'S' || p[2] == 'D'))
            return 1;
        sched_yield();
    } while (now_ms() < give_up);
    return 0;
}

START_TEST(test_event_waiters_killed)
{
    enum { WAITERS = 4 };
    pid_t pid[WAITERS];
    struct ctx c;
    double t0;
    char b;

    ctx_open(&c, 1);
    chan_open();
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < WAITERS; i++)
            pid[i] = spawn(&c, wait_forever_child, round);
        for (int i = 0; i < WAITERS; i++)
            ck_assert(get_byte(chan.up[0], &b) && b == 'w');
        /* Killed only once all of them sleep in the wait, not while still
         * on their way in (tests/sync-internal counts them from inside). */
        for (int i = 0; i < WAITERS; i++)
            ck_assert_msg(wait_asleep(pid[i], 10000), "waiter %ld did not go to sleep "
                          "in ushm_event_wait within 10 s", (long)pid[i]);
        for (int i = 0; i < WAITERS; i++) {
            ck_assert_int_eq(kill(pid[i], SIGKILL), 0);
            ck_assert_int_eq(reap(pid[i]), 256 + SIGKILL);
        }
        /* The dead changed nothing: the counter, and what waiting does. */
        ck_assert_uint_eq(ushm_event_read(&c.sh->ev[0]), (unsigned)round);
        t0 = now_ms();
        ASSERT_RC(ushm_event_wait(&c.sh->ev[0], (unsigned)round, 20), -ETIMEDOUT);
        ck_assert(now_ms() - t0 >= 20.0);
        ASSERT_RC(ushm_event_notify(&c.sh->ev[0]), 0);
        ck_assert_uint_eq(ushm_event_read(&c.sh->ev[0]), (unsigned)round + 1);
    }
    /* A live waiter is still woken. */
    pid[0] = spawn(&c, wait_forever_child, 3);
    ck_assert(get_byte(chan.up[0], &b) && b == 'w');
    ASSERT_RC(ushm_event_notify(&c.sh->ev[0]), 0);
    ASSERT_EXITED_0(pid[0]);
    chan_close();
    ctx_close(&c);
}
END_TEST

void conf_add_sync_event(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;
    tc = add_tcase(s, "sync_event", 120);
    tcase_add_test(tc, test_event_basics);
    tcase_add_test(tc, test_event_waiters_killed);
}
