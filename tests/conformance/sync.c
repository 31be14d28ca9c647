/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: the mutex and the event in this backend's segments
 * (API.md, "Synchronisation inside a segment").  Each case runs twice: on a
 * named segment, which the children map again by name at an address of
 * their own, and on an anonymous one, which they inherit across fork.  What
 * does not depend on the segment (timeouts, errors, signals, holders killed
 * in storms, private memory) is tests/conformance-sync's, run once:
 * sync-mutex.c, sync-robust.c, sync-event.c.
 */
#include "sync-common.h"

/* ------------------------------------------------------------------ */
/* A new segment is ready                                               */

START_TEST(test_segment_ready)
{
    SKIP_WITHOUT_MUTEX();
    struct ctx c;
    ushm_mutex_t *last;
    unsigned char *base;

    ctx_open(&c, _i);
    base = ushm_addr(c.h);
    ck_assert_msg(first_nonzero(base, SEG_SIZE) == NONE, "a new segment is not zero-filled");
    /* No set-up call: the first lock of zero bytes works. */
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m2), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m2), 0);
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m2, 100), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m2), 0);
    /* Anywhere 8-byte aligned: the last 64 bytes of the segment. */
    last = (ushm_mutex_t *)(void *)(base + SEG_SIZE - sizeof(ushm_mutex_t));
    ASSERT_RC(ushm_mutex_timedlock(last, 0), 0);
    ASSERT_RC(ushm_mutex_unlock(last), 0);
    ck_assert_uint_eq(ushm_event_read(&c.sh->ev[0]), 0);
    ASSERT_RC(ushm_event_notify(&c.sh->ev[0]), 0);
    ck_assert_uint_eq(ushm_event_read(&c.sh->ev[0]), 1);

    ctx_close(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Mutual exclusion: 4 processes x 2 threads on a non-atomic counter     */

#define HAMMER_PROCS 4
#define HAMMER_THREADS 2

static long hammer_rounds(void)
{
    return under_valgrind() ? 2000 : 20000;
}

struct hammer_arg {
    struct shared *sh;
    long rounds;
};

static void *hammer_thread(void *p)
{
    struct hammer_arg *a = p;
    struct shared *sh = a->sh;

    for (long i = 0; i < a->rounds; i++) {
        int rc = ushm_mutex_lock(&sh->m);
        long v;

        if (rc != 0) {
            child_error(sh, "pid %ld: ushm_mutex_lock = %d: %s", (long)getpid(), rc,
                        ushm_last_error());
            return NULL;
        }
        if (atomic_fetch_add(&sh->inside, 1) != 0)
            atomic_fetch_add(&sh->violations, 1);
        v = sh->counter;
        if ((i & 63) == 0)
            sched_yield(); /* give the others a chance to break in */
        sh->counter = v + 1;
        atomic_fetch_sub(&sh->inside, 1);
        rc = ushm_mutex_unlock(&sh->m);
        if (rc != 0) {
            child_error(sh, "pid %ld: ushm_mutex_unlock = %d: %s", (long)getpid(), rc,
                        ushm_last_error());
            return NULL;
        }
    }
    return NULL;
}

static int hammer_child(struct ctx *c, struct shared *sh, long rounds)
{
    pthread_t t[HAMMER_THREADS];
    struct hammer_arg a = { sh, rounds };

    (void)c;
    for (int i = 0; i < HAMMER_THREADS; i++)
        if (pthread_create(&t[i], NULL, hammer_thread, &a) != 0)
            return 2;
    for (int i = 0; i < HAMMER_THREADS; i++)
        pthread_join(t[i], NULL);
    return 0;
}

START_TEST(test_mutual_exclusion)
{
    SKIP_WITHOUT_MUTEX();
    pid_t pid[HAMMER_PROCS];
    long rounds = hammer_rounds();
    struct ctx c;

    ctx_open(&c, _i);
    for (int i = 0; i < HAMMER_PROCS; i++)
        pid[i] = spawn(&c, hammer_child, rounds);
    for (int i = 0; i < HAMMER_PROCS; i++)
        ASSERT_EXITED_0(pid[i]);
    ASSERT_NO_CHILD_ERRORS(c.sh);
    ck_assert_int_eq(atomic_load(&c.sh->violations), 0);
    ck_assert_msg(c.sh->counter == HAMMER_PROCS * HAMMER_THREADS * rounds,
                  "%s segment: counter %ld, want %ld: an increment was lost", ctx_kind(&c),
                  c.sh->counter, HAMMER_PROCS * HAMMER_THREADS * rounds);
    ctx_close(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Across processes                                                     */

/* A holder killed: a second process, not the one that reaped the holder,
 * hears of it, then the mutex is plain again. */
static int expect_ownerdead_child(struct ctx *c, struct shared *sh, long arg)
{
    int rc = ushm_mutex_lock(&sh->m);

    (void)c;
    (void)arg;
    if (rc != USHM_OWNERDEAD) {
        child_error(sh, "after the holder died: ushm_mutex_lock = %d, want "
                    "USHM_OWNERDEAD: %s", rc, ushm_last_error());
        return 2;
    }
    rc = ushm_mutex_unlock(&sh->m);
    return rc == 0 ? 0 : 3;
}

START_TEST(test_owner_killed_other_process)
{
    SKIP_WITHOUT_DEATH_NOTICE();
    struct ctx c;
    pid_t pid;

    ctx_open(&c, _i);
    pid = start_holder(&c, 0);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(reap(pid), 256 + SIGKILL);
    chan_close();
    pid = spawn(&c, expect_ownerdead_child, 0);
    ASSERT_EXITED_0(pid);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ctx_close(&c);
}
END_TEST

/* A blocked timed lock gets the mutex as soon as it is free. */
START_TEST(test_timedlock_gets_it)
{
    SKIP_WITHOUT_MUTEX();
    struct ctx c;
    pid_t pid;

    ctx_open(&c, _i);
    pid = start_holder(&c, 0);
    ck_assert(put_byte(chan.down[1], 'u')); /* unlock while we wait */
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 30000), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_EXITED_0(pid);
    chan_close();
    pid = start_holder(&c, 0);
    ck_assert(put_byte(chan.down[1], 'u'));
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, -1), 0); /* < 0: no limit */
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_EXITED_0(pid);
    chan_close();
    ctx_close(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* ushm_close while holding: the mapping stays, the message names it    */

START_TEST(test_close_busy)
{
    SKIP_WITHOUT_MUTEX();
    struct ctx c, other;
    char *base;
    ushm_mutex_t *last;

    ctx_open(&c, _i);
    ctx_open(&other, !_i);
    base = (char *)c.sh;
    last = (ushm_mutex_t *)(void *)(base + SEG_SIZE - sizeof(ushm_mutex_t));
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_close(c.h), -EBUSY);
    ck_assert_msg(strstr(last_err(), "ushm_close") != NULL, "message: %s", last_err());
    if (!c.anon)
        ck_assert_msg(strstr(last_err(), c.name) != NULL, "message does not name %s: %s",
                      c.name, last_err());
    base[100] = 7; /* still mapped */
    /* A mutex held elsewhere does not keep this one from closing... */
    {
        ushm_t *h2 = OPEN_OK(NULL, 4096, USHM_CREATE, 0600);

        ASSERT_RC(close_tracked(h2), 0);
    }
    /* ...and a second handle of the same segment is a separate mapping. */
    if (!c.anon) {
        ushm_t *h2 = OPEN_OK(c.name, 0, 0, 0);

        ASSERT_RC(close_tracked(h2), 0);
    }
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_lock(last), 0); /* the very end of the mapping */
    ASSERT_RC(ushm_close(c.h), -EBUSY);
    ASSERT_RC(ushm_mutex_lock(&other.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(last), 0);
    ck_assert_int_eq(base[100], 7);
    ctx_close(&c); /* the other segment's mutex is no reason to refuse */
    ASSERT_RC(ushm_close(other.h), -EBUSY);
    ASSERT_RC(ushm_mutex_unlock(&other.sh->m), 0);
    ctx_close(&other);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Events across processes                                              */

START_TEST(test_event_wait_forever)
{
    enum { WAITERS = 3 };
    pid_t pid[WAITERS];
    struct ctx c;
    char b;

    ctx_open(&c, _i);
    chan_open();
    for (int i = 0; i < WAITERS; i++)
        pid[i] = spawn(&c, wait_forever_child, 0);
    for (int i = 0; i < WAITERS; i++)
        ck_assert(get_byte(chan.up[0], &b) && b == 'w');
    /* Whether each has gone to sleep yet or not, one notify wakes them all. */
    ASSERT_RC(ushm_event_notify(&c.sh->ev[0]), 0);
    for (int i = 0; i < WAITERS; i++)
        ASSERT_EXITED_0(pid[i]);
    chan_close();
    ctx_close(&c);
}
END_TEST

#define PING_PONGS 2000

static int pong_child(struct ctx *c, struct shared *sh, long arg)
{
    (void)c;
    (void)arg;
    for (unsigned i = 0; i < PING_PONGS; i++) {
        int rc = ushm_event_wait(&sh->ev[0], i, 10000);

        if (rc != 0) {
            child_error(sh, "pong %u: ushm_event_wait = %d: %s", i, rc, ushm_last_error());
            return 2;
        }
        sh->counter++; /* published by the notify */
        ushm_event_notify(&sh->ev[1]);
    }
    return 0;
}

START_TEST(test_event_ping_pong)
{
    struct ctx c;
    double t0;
    pid_t pid;

    ctx_open(&c, _i);
    pid = spawn(&c, pong_child, 0);
    t0 = now_ms();
    for (unsigned i = 0; i < PING_PONGS; i++) {
        ASSERT_RC(ushm_event_notify(&c.sh->ev[0]), 0);
        ASSERT_RC(ushm_event_wait(&c.sh->ev[1], i, 10000), 0);
        ck_assert_uint_eq(ushm_event_read(&c.sh->ev[1]), i + 1);
        ck_assert_int_eq(c.sh->counter, (long)i + 1);
    }
    printf("ping-pong (%s backend, %s segment): %d round trips, %.2f us each\n",
           ushm_backend(), ctx_kind(&c), PING_PONGS, (now_ms() - t0) * 1e3 / PING_PONGS);
    fflush(stdout);
    ASSERT_EXITED_0(pid);
    ck_assert_uint_eq(ushm_event_read(&c.sh->ev[0]), PING_PONGS);
    ctx_close(&c);
}
END_TEST

void conf_add_sync(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;
    /* _i: 0 a named segment, 1 an anonymous one. */
    tc = add_tcase(s, "sync_segments", 120);
    tcase_add_loop_test(tc, test_segment_ready, 0, 2);
    tcase_add_loop_test(tc, test_mutual_exclusion, 0, 2);
    tcase_add_loop_test(tc, test_owner_killed_other_process, 0, 2);
    tcase_add_loop_test(tc, test_timedlock_gets_it, 0, 2);
    tcase_add_loop_test(tc, test_close_busy, 0, 2);
    tcase_add_loop_test(tc, test_event_wait_forever, 0, 2);
    tcase_add_loop_test(tc, test_event_ping_pong, 0, 2);
}
