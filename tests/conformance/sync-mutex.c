/* SPDX-License-Identifier: MIT */
/*
 * tests/conformance-sync: the mutex (API.md, "ushm_mutex_t"): zero bytes
 * are ready, in private memory too; busy, timeouts, -EDEADLK and -EPERM,
 * bad arguments, many held at once, ownership across fork, and timed waits
 * under a storm of signals.  None of it depends on the backend: it runs
 * once, in anonymous segments (sync.c has the cases per backend).
 */
#include "sync-common.h"

#include <sys/time.h>

/* ------------------------------------------------------------------ */
/* Zero bytes are ready, in private memory too                          */

START_TEST(test_private_memory)
{
    SKIP_WITHOUT_MUTEX();
    static ushm_mutex_t private_m;
    static ushm_event_t private_ev;

    ASSERT_RC(ushm_mutex_lock(&private_m), 0);
    ASSERT_RC(ushm_mutex_unlock(&private_m), 0);
    ASSERT_RC(ushm_event_notify(&private_ev), 0);
    ASSERT_RC(ushm_event_wait(&private_ev, 0, -1), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Busy, timeouts, wrong use                                            */

START_TEST(test_trylock_busy_and_timeout)
{
    SKIP_WITHOUT_MUTEX();
    struct ctx c;
    double t0, el;
    pid_t pid;

    ctx_open(&c, 1);
    pid = start_holder(&c, 0);
    t0 = now_ms();
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m), -EBUSY);
    ck_assert_msg(now_ms() - t0 < late_ms(), "trylock took %.1f ms", now_ms() - t0);
    ck_assert_msg(strstr(last_err(), "ushm_mutex_trylock") != NULL, "message: %s", last_err());
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 0), -ETIMEDOUT);
    for (long ms = 1; ms <= 300; ms = ms * 6 + 4) { /* 1, 10, 64, 388 */
        t0 = now_ms();
        ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, ms), -ETIMEDOUT);
        el = now_ms() - t0;
        ck_assert_msg(el >= (double)ms, "timedlock(%ld ms) gave up after %.3f ms", ms, el);
        ck_assert_msg(el < (double)ms + late_ms(), "timedlock(%ld ms) took %.3f ms", ms, el);
    }
    ck_assert_msg(strstr(last_err(), "ushm_mutex_timedlock") != NULL, "message: %s", last_err());
    /* Another process holds it: unlocking it here is not ours to do. */
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), -EPERM);
    release_holder(&c, pid);
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 1000), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ctx_close(&c);
}
END_TEST

static void *trylock_from_thread(void *p)
{
    return (void *)(intptr_t)ushm_mutex_trylock(p);
}

static void *unlock_from_thread(void *p)
{
    return (void *)(intptr_t)ushm_mutex_unlock(p);
}

START_TEST(test_deadlk_eperm)
{
    SKIP_WITHOUT_MUTEX();
    struct ctx c;
    pthread_t t;
    void *rc;

    ctx_open(&c, 1);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), -EPERM); /* never locked */
    ck_assert_msg(strstr(last_err(), "ushm_mutex_unlock") != NULL, "message: %s", last_err());
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), -EDEADLK);
    ck_assert_msg(strstr(last_err(), "ushm_mutex_lock") != NULL, "message: %s", last_err());
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m), -EDEADLK);
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 10), -EDEADLK);
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 0), -EDEADLK);
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, -1), -EDEADLK);
    /* Another thread of this process neither holds it nor may unlock it. */
    ck_assert_int_eq(pthread_create(&t, NULL, trylock_from_thread, &c.sh->m), 0);
    pthread_join(t, &rc);
    ck_assert_int_eq((int)(intptr_t)rc, -EBUSY);
    ck_assert_int_eq(pthread_create(&t, NULL, unlock_from_thread, &c.sh->m), 0);
    pthread_join(t, &rc);
    ck_assert_int_eq((int)(intptr_t)rc, -EPERM);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), -EPERM);
    /* Two at once, released in either order. */
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m2), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m2), 0);
    ctx_close(&c);
}
END_TEST

/* Many held at once by one thread (more than any small fixed table). */
START_TEST(test_many_held)
{
    SKIP_WITHOUT_MUTEX();
    enum { N = 100 };
    ushm_mutex_t *m;
    struct ctx c;

    ctx_open(&c, 1);
    m = (ushm_mutex_t *)(void *)((char *)c.sh + 4096);
    for (int i = 0; i < N; i++)
        ASSERT_RC(ushm_mutex_lock(&m[i]), 0);
    for (int i = 0; i < N; i++)
        ASSERT_RC(ushm_mutex_lock(&m[i]), -EDEADLK);
    ASSERT_RC(ushm_close(c.h), -EBUSY);
    for (int i = N; i-- > 0;)
        ASSERT_RC(ushm_mutex_unlock(&m[i]), 0);
    for (int i = 0; i < N; i++)
        ASSERT_RC(ushm_mutex_unlock(&m[i]), -EPERM);
    ctx_close(&c);
}
END_TEST

static void check_einval(const char *what, int rc)
{
    ck_assert_msg(rc == -EINVAL, "%s = %d (%s), want -EINVAL", what, rc, rcstr(rc));
    ck_assert_msg(last_err()[0] != '\0', "%s: no message", what);
}

START_TEST(test_einval)
{
    struct ctx c;
    char *base;

    ctx_open(&c, 1);
    base = (char *)c.sh;
    check_einval("ushm_mutex_lock(NULL)", ushm_mutex_lock(NULL));
    check_einval("ushm_mutex_trylock(NULL)", ushm_mutex_trylock(NULL));
    check_einval("ushm_mutex_timedlock(NULL)", ushm_mutex_timedlock(NULL, 10));
    check_einval("ushm_mutex_unlock(NULL)", ushm_mutex_unlock(NULL));
    check_einval("ushm_event_notify(NULL)", ushm_event_notify(NULL));
    check_einval("ushm_event_wait(NULL)", ushm_event_wait(NULL, 0, 10));
    ck_assert_uint_eq(ushm_event_read(NULL), 0);
    for (int off = 1; off < 8; off++) {
        ushm_mutex_t *m = (ushm_mutex_t *)(void *)(base + 1024 + off);
        ushm_event_t *ev = (ushm_event_t *)(void *)(base + 2048 + off);

        check_einval("ushm_mutex_lock(misaligned)", ushm_mutex_lock(m));
        ck_assert_msg(strstr(last_err(), "align") != NULL, "message: %s", last_err());
        check_einval("ushm_mutex_trylock(misaligned)", ushm_mutex_trylock(m));
        check_einval("ushm_mutex_timedlock(misaligned)", ushm_mutex_timedlock(m, 10));
        check_einval("ushm_mutex_unlock(misaligned)", ushm_mutex_unlock(m));
        check_einval("ushm_event_notify(misaligned)", ushm_event_notify(ev));
        check_einval("ushm_event_wait(misaligned)", ushm_event_wait(ev, 0, 10));
    }
    /* Nothing was written by the refused calls. */
    ck_assert_msg(first_nonzero(base, SEG_SIZE) == NONE, "a refused call wrote to the segment");
    ctx_close(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A storm of signals                                                   */

static volatile sig_atomic_t alarms;

static void count_alarm(int sig)
{
    (void)sig;
    alarms++;
}

struct storm_state {
    struct sigaction old;
    struct itimerval old_timer;
};

static void alarm_storm_start(struct storm_state *s)
{
    struct sigaction sa;
    struct itimerval it = { { 0, 1000 }, { 0, 1000 } };

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: every system call is interrupted */
    alarms = 0;
    ck_assert_int_eq(sigaction(SIGALRM, &sa, &s->old), 0);
    ck_assert_int_eq(setitimer(ITIMER_REAL, &it, &s->old_timer), 0);
}

static void alarm_storm_stop(struct storm_state *s)
{
    struct itimerval off = { { 0, 0 }, { 0, 0 } };

    struct sigaction ign;

    setitimer(ITIMER_REAL, &off, NULL);
    /* Ignoring it discards one still pending, which must not reach the
     * handler put back (Check's kills the process group with CK_FORK=no). */
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGALRM, &ign, NULL);
    sigaction(SIGALRM, &s->old, NULL);
}

/* Wait a while (on an event no one notifies), then notify ev[0]. */
static int late_notify_child(struct ctx *c, struct shared *sh, long ms)
{
    (void)c;
    if (ushm_event_wait(&sh->ev[3], 0, ms) != -ETIMEDOUT)
        return 2;
    return ushm_event_notify(&sh->ev[0]) == 0 ? 0 : 3;
}

START_TEST(test_signal_storm)
{
    SKIP_WITHOUT_MUTEX();
    struct storm_state st;
    struct ctx c;
    double t0, el;
    pid_t pid;
    int rc;

    ctx_open(&c, 1);
    pid = start_holder(&c, 0);
    alarm_storm_start(&st);
    t0 = now_ms();
    rc = ushm_mutex_timedlock(&c.sh->m, 300);
    el = now_ms() - t0;
    alarm_storm_stop(&st);
    ck_assert_msg(rc == -ETIMEDOUT, "timedlock under a signal storm = %d (%s): %s", rc,
                  rcstr(rc), last_err());
    ck_assert_msg(el >= 300.0 && el < 300.0 + late_ms(),
                  "timedlock(300 ms) under a signal storm took %.3f ms", el);
    ck_assert_msg(alarms > 20, "only %d signals arrived", (int)alarms);

    /* A lock without a limit, released while the signals fly. */
    alarm_storm_start(&st);
    ck_assert(put_byte(chan.down[1], 'u'));
    rc = ushm_mutex_lock(&c.sh->m);
    alarm_storm_stop(&st);
    ck_assert_msg(rc == 0, "lock under a signal storm = %d (%s): %s", rc, rcstr(rc), last_err());
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_EXITED_0(pid);
    chan_close();

    alarm_storm_start(&st);
    t0 = now_ms();
    rc = ushm_event_wait(&c.sh->ev[0], 0, 300);
    el = now_ms() - t0;
    alarm_storm_stop(&st);
    ck_assert_msg(rc == -ETIMEDOUT, "event wait under a signal storm = %d (%s): %s", rc,
                  rcstr(rc), last_err());
    ck_assert_msg(el >= 300.0 && el < 300.0 + late_ms(),
                  "event wait(300 ms) under a signal storm took %.3f ms", el);
    ck_assert_msg(alarms > 20, "only %d signals arrived", (int)alarms);

    pid = spawn(&c, late_notify_child, 200);
    alarm_storm_start(&st);
    rc = ushm_event_wait(&c.sh->ev[0], 0, -1);
    alarm_storm_stop(&st);
    ck_assert_msg(rc == 0, "event wait(-1) under a signal storm = %d (%s): %s", rc,
                  rcstr(rc), last_err());
    ck_assert_uint_eq(ushm_event_read(&c.sh->ev[0]), 1);
    ASSERT_EXITED_0(pid);
    ctx_close(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Across fork                                                          */

/* A forked child does not hold its parent's mutex, and may close. */
static int forked_child(struct ctx *c, struct shared *sh, long arg)
{
    int rc;
    char b;

    (void)arg;
    if ((rc = ushm_mutex_trylock(&sh->m)) != -EBUSY) {
        child_error(sh, "child: trylock of the parent's mutex = %d", rc);
        return 2;
    }
    if ((rc = ushm_mutex_unlock(&sh->m)) != -EPERM) {
        child_error(sh, "child: unlock of the parent's mutex = %d", rc);
        return 3;
    }
    put_byte(chan.up[1], 'c');
    if (!get_byte(chan.down[0], &b))
        return 4;
    if ((rc = ushm_mutex_lock(&sh->m)) != 0) {
        child_error(sh, "child: lock = %d: %s", rc, ushm_last_error());
        return 5;
    }
    if ((rc = ushm_mutex_unlock(&sh->m)) != 0)
        return 6;
    /* The inherited handle: the parent's lock at fork time is not ours. */
    if (c->anon && (rc = ushm_close(c->h)) != 0) {
        child_error(sh, "child: ushm_close(inherited) = %d: %s", rc, ushm_last_error());
        return 7;
    }
    return 0;
}

START_TEST(test_fork)
{
    SKIP_WITHOUT_MUTEX();
    struct ctx c;
    pid_t pid;
    char b;

    ctx_open(&c, 1);
    chan_open();
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    pid = spawn(&c, forked_child, 0);
    ck_assert_msg(get_byte(chan.up[0], &b) && b == 'c', "child: %s", c.sh->msg);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ck_assert(put_byte(chan.down[1], 'g'));
    ASSERT_EXITED_0(pid);
    chan_close();
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ctx_close(&c);
}
END_TEST

void conf_add_sync_mutex(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;
    tc = add_tcase(s, "sync_mutex", 120);
    tcase_add_test(tc, test_private_memory);
    tcase_add_test(tc, test_deadlk_eperm);
    tcase_add_test(tc, test_many_held);
    tcase_add_test(tc, test_einval);
    tcase_add_test(tc, test_trylock_busy_and_timeout);
    tcase_add_test(tc, test_fork);

    tc = add_tcase(s, "sync_signals", 120);
    tcase_add_test(tc, test_signal_storm);
}
