/* SPDX-License-Identifier: MIT */
/*
 * tests/conformance-sync: the mutex and event where they are really used
 * (API.md 0.3): other threads and other mappings, read-only mappings, bytes
 * overwritten by a careless peer, PID namespaces, and the condition wait
 * ushm_event_wait_locked().  Every wait has a deadline.
 */
#define _GNU_SOURCE /* unshare(CLONE_NEWPID) */
#include "sync-common.h"

#include <sched.h>

/* ---- threads and mappings ---- */

struct holder_arg {
    ushm_mutex_t *m;
    int go[2], done[2];
};

static void *thread_holds(void *p)
{
    struct holder_arg *a = p;
    char b;
    int rc = ushm_mutex_lock(a->m);

    put_byte(a->done[1], rc == 0 ? 'l' : 'x');
    get_byte(a->go[0], &b);
    rc = ushm_mutex_unlock(a->m);
    put_byte(a->done[1], rc == 0 ? 'u' : 'x');
    return NULL;
}

/* ushm_close() while another thread holds a mutex in the mapping. */
START_TEST(test_close_busy_other_thread)
{
    SKIP_WITHOUT_MUTEX();
    struct holder_arg a;
    pthread_t t;
    ushm_t *h;
    char b;

    ASSERT_RC(ushm_open(&h, NULL, 4096, USHM_CREATE, 0600), 0);
    a.m = (ushm_mutex_t *)ushm_addr(h) + 1;
    pipe_ok(a.go);
    pipe_ok(a.done);
    ck_assert_int_eq(pthread_create(&t, NULL, thread_holds, &a), 0);
    ck_assert(get_byte(a.done[0], &b) && b == 'l');
    ASSERT_RC(ushm_close(h), -EBUSY);
    ck_assert_msg(strstr(last_err(), "thread") != NULL, "message: %s", last_err());
    put_byte(a.go[1], 'g');
    ck_assert(get_byte(a.done[0], &b) && b == 'u');
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ASSERT_RC(ushm_close(h), 0);
    close_pipe(a.go);
    close_pipe(a.done);
}
END_TEST

/* Locked through one mapping, unlocked through another of the segment. */
START_TEST(test_second_mapping)
{
    SKIP_WITHOUT_MUTEX();
    char name[NAMEBUF];
    ushm_mutex_t *ma, *mb;
    ushm_t *a, *b;

    a = OPEN_OK(NEW_NAME(name), 4096, USHM_CREATE | USHM_EXCL, 0600);
    b = OPEN_OK(name, 0, 0, 0);
    ck_assert_ptr_ne(ushm_addr(a), ushm_addr(b));
    ma = ushm_addr(a);
    mb = ushm_addr(b);
    ASSERT_RC(ushm_mutex_lock(ma), 0);
    ASSERT_RC(ushm_mutex_trylock(mb), -EDEADLK); /* the same mutex */
    ASSERT_RC(ushm_close(a), -EBUSY);            /* locked through a */
    ASSERT_RC(ushm_mutex_unlock(mb), 0);
    ASSERT_RC(ushm_mutex_unlock(ma), -EPERM);    /* nothing held any more */
    ASSERT_RC(ushm_mutex_lock(mb), 0);
    ASSERT_RC(ushm_mutex_unlock(ma), 0);
    CLOSE_OK(a);
    CLOSE_OK(b);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/* ---- read-only mappings ---- */

static int rdonly_waiter(const char *name, unsigned seen)
{
    ushm_t *h;
    int rc = ushm_open(&h, name, 0, USHM_RDONLY, 0);

    if (rc != 0)
        return 10;
    alarm(20); /* a hang fails with a signal */
    rc = ushm_event_wait(&((struct shared *)ushm_addr(h))->ev[0], seen, -1);
    return rc == 0 ? 0 : 11;
}

START_TEST(test_rdonly)
{
    char name[NAMEBUF];
    struct shared *rw, *ro;
    ushm_t *w, *r;
    int status;
    pid_t pid;

    w = OPEN_OK(NEW_NAME(name), SEG_SIZE, USHM_CREATE | USHM_EXCL, 0600);
    r = OPEN_OK(name, 0, USHM_RDONLY, 0);
    rw = ushm_addr(w);
    ro = ushm_addr(r);
    if (!no_mutex(__func__)) {
        ASSERT_RC(ushm_mutex_lock(&ro->m), -EACCES);
        ck_assert_msg(strstr(last_err(), "USHM_RDONLY") != NULL, "message: %s", last_err());
        ASSERT_RC(ushm_mutex_trylock(&ro->m), -EACCES);
        ASSERT_RC(ushm_mutex_timedlock(&ro->m, 10), -EACCES);
        ASSERT_RC(ushm_mutex_unlock(&ro->m), -EPERM);
        ASSERT_RC(ushm_mutex_lock(&rw->m), 0); /* the writable mapping works */
        ASSERT_RC(ushm_mutex_unlock(&ro->m), -EACCES);
        ASSERT_RC(ushm_mutex_unlock(&rw->m), 0);
    }
    ASSERT_RC(ushm_event_notify(&ro->ev[0]), -EACCES);
    ASSERT_RC(ushm_event_notify(&rw->ev[0]), 0);
    ck_assert_uint_eq(ushm_event_read(&ro->ev[0]), 1);
    ASSERT_RC(ushm_event_wait(&ro->ev[0], 1, 20), -ETIMEDOUT);
    /* A reader that maps it read-only waits for a writer's notify. */
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(rdonly_waiter(name, 1));
    ASSERT_RC(ushm_event_notify(&rw->ev[0]), 0);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the read-only waiter ended with status 0x%x", status);
    CLOSE_OK(r);
    CLOSE_OK(w);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/* ---- a careless peer overwrites the bytes ---- */

START_TEST(test_mutex_overwritten)
{
    SKIP_WITHOUT_MUTEX();
    unsigned char saved[sizeof(ushm_mutex_t)];
    struct ctx c;
    pid_t pid;

    ctx_open(&c, 1);
    pid = start_holder(&c, 0);
    memcpy(saved, &c.sh->m, sizeof saved);
    /* The state word zeroed while another process holds it. */
    memset(c.sh->m.opaque_, 0, 4);
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m), -EPROTO);
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 20), -EPROTO);
    ck_assert_msg(strstr(last_err(), "overwritten") != NULL, "message: %s", last_err());
    /* A right state word over a body that lost its pthread mutex. */
    memcpy(&c.sh->m, saved, sizeof saved);
    memset(c.sh->m.opaque_ + 8, 0, 40);
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m), -EPROTO);
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 20), -EPROTO);
    /* Put back, the holder unlocks as usual. */
    memcpy(&c.sh->m, saved, sizeof saved);
    release_holder(&c, pid);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ctx_close(&c);
}
END_TEST

/* A waiter whose event is zeroed and changed without a wake-up still sees
 * the change (within a second, API.md; here: before its alarm). */
static int wait_then_report(struct ctx *c, struct shared *sh, long seen)
{
    (void)c;
    put_byte(chan.up[1], 'w');
    alarm(20);
    return ushm_event_wait(&sh->ev[2], (unsigned)seen, -1) == 0 ? 0 : 12;
}

START_TEST(test_event_overwritten)
{
    struct ctx c;
    unsigned v = 7;
    pid_t pid;
    char b;

    ctx_open(&c, 1);
    chan_open();
    pid = spawn(&c, wait_then_report, 0);
    ck_assert(get_byte(chan.up[0], &b) && b == 'w');
    /* Zeroed, then the counter written: no notify, so no wake-up. */
    memset(&c.sh->ev[2], 0, sizeof c.sh->ev[2]);
    memcpy(c.sh->ev[2].opaque_, &v, sizeof v);
    ASSERT_EXITED_0(pid);
    chan_close();
    ctx_close(&c);
}
END_TEST

/* ---- the condition wait ---- */

static int change_and_notify(struct ctx *c, struct shared *sh, long die)
{
    (void)c;
    if (ushm_mutex_lock(&sh->m) < 0)
        return 20;
    sh->counter = 42;
    if (ushm_event_notify(&sh->ev[3]) < 0)
        return 21;
    if (die)
        _exit(0); /* holding m */
    return ushm_mutex_unlock(&sh->m) == 0 ? 0 : 22;
}

START_TEST(test_wait_locked)
{
    SKIP_WITHOUT_DEATH_NOTICE();
    struct ctx c;
    double t0;
    pid_t pid;
    int rc;

    ctx_open(&c, 1);
    /* Not holding it: -EPERM at once. */
    t0 = now_ms();
    ASSERT_RC(ushm_event_wait_locked(&c.sh->ev[3], &c.sh->m, 10000), -EPERM);
    ck_assert_msg(now_ms() - t0 < 5000, "waited %.0f ms", now_ms() - t0);
    /* A timeout comes back holding the mutex. */
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_event_wait_locked(&c.sh->ev[3], &c.sh->m, 20), -ETIMEDOUT);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), -EDEADLK);
    /* The state changed under the mutex, then notified: never missed. */
    c.sh->counter = 0;
    pid = spawn(&c, change_and_notify, 0);
    while (c.sh->counter != 42) {
        rc = ushm_event_wait_locked(&c.sh->ev[3], &c.sh->m, 20000);
        ck_assert_msg(rc == 0, "wait_locked = %d: %s", rc, last_err());
    }
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_EXITED_0(pid);
    /* The notifier dies holding the mutex: relocked with USHM_OWNERDEAD. */
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    c.sh->counter = 0;
    pid = spawn(&c, change_and_notify, 1);
    /* It notifies while it holds the mutex, so the relock meets its death. */
    rc = ushm_event_wait_locked(&c.sh->ev[3], &c.sh->m, 20000);
    ck_assert_msg(rc == USHM_OWNERDEAD && c.sh->counter == 42,
                  "wait_locked as the holder died = %d, counter %ld: %s", rc,
                  c.sh->counter, last_err());
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_EXITED_0(pid);
    ctx_close(&c);
}
END_TEST

/* ---- PID namespaces ---- */

/* In a new PID namespace (pid 1 there): every call is -EXDEV. */
static int in_new_pidns(struct ctx *c, struct shared *sh, long arg)
{
    pid_t pid;
    int status;

    (void)c;
    (void)arg;
    if (unshare(CLONE_NEWPID) != 0)
        return 77;
    pid = fork();
    if (pid < 0)
        return 30;
    if (pid == 0) {
        int a = ushm_mutex_lock(&sh->m), b = ushm_mutex_trylock(&sh->m);
        int t = ushm_mutex_timedlock(&sh->m, 10), u = ushm_mutex_unlock(&sh->m);

        if (a != -EXDEV || b != -EXDEV || t != -EXDEV || u != -EXDEV) {
            child_error(sh, "in a new PID namespace: lock %d, trylock %d, "
                        "timedlock %d, unlock %d (want -EXDEV): %s", a, b, t, u,
                        ushm_last_error());
            _exit(31);
        }
        _exit(strstr(ushm_last_error(), "PID namespace") != NULL ? 0 : 32);
    }
    if (waitpid(pid, &status, 0) != pid)
        return 33;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 34;
}

START_TEST(test_other_pidns)
{
    SKIP_WITHOUT_MUTEX();
    struct ctx c;
    pid_t pid, holder;
    int st;

    if (skip_unless_root(__func__))
        return;
    ctx_open(&c, 1);
    /* Set up and held in this namespace by a process that is pid 1 in
     * none: the one in the new namespace is pid 1 there. */
    holder = start_holder(&c, 0);
    pid = spawn(&c, in_new_pidns, 0);
    st = reap(pid);
    if (st == 77) {
        release_holder(&c, holder);
        ctx_close(&c);
        skip_case(__func__, "unshare(CLONE_NEWPID) is not allowed here");
        return;
    }
    ck_assert_msg(st == 0, "child status %d: %s", st, c.sh->msg);
    release_holder(&c, holder);
    ctx_close(&c);
}
END_TEST

/*
 * Set-ups killed inside a PID namespace: a process that is pid 1 there
 * first touches a zero-filled mutex and is SIGKILLed at a random moment;
 * the next process of that namespace completes or redoes the set-up, and a
 * process of this namespace gets -EXDEV or (the claim dead) takes it over,
 * never hangs.  Each call under a deadline.
 */
/* pid 1 of a new namespace: sets a victim on m, kills it at a random
 * moment, and has the next process of the namespace lock m. */
static int setup_storm_init(struct shared *sh, ushm_mutex_t *m, long r)
{
    pid_t victim, next;
    int st, rc;

    victim = fork();
    if (victim < 0)
        return 40;
    if (victim == 0)
        for (;;)
            if (ushm_mutex_lock(m) >= 0)
                ushm_mutex_unlock(m);
    for (volatile long spin = 0; spin < (r * 7919) % 20000; spin++)
        ;
    kill(victim, SIGKILL);
    waitpid(victim, &st, 0);
    next = fork();
    if (next < 0)
        return 41;
    if (next == 0) {
        alarm(20);
        rc = ushm_mutex_timedlock(m, 10000);
        if (rc < 0)
            child_error(sh, "round %ld: timedlock in the namespace = %d: %s", r, rc,
                        ushm_last_error());
        _exit(rc < 0 ? 42 : 0);
    }
    if (waitpid(next, &st, 0) != next || !WIFEXITED(st))
        return 43;
    return WEXITSTATUS(st);
}

/* A namespace dies with its pid 1: a new one each round. */
static int setup_storm_ns(struct ctx *c, struct shared *sh, long r)
{
    ushm_mutex_t *m = (ushm_mutex_t *)((char *)sh + SEG_SIZE / 2) + r;
    pid_t init;
    int st;

    (void)c;
    if (unshare(CLONE_NEWPID) != 0)
        return 77;
    init = fork();
    if (init < 0)
        return 45;
    if (init == 0)
        _exit(setup_storm_init(sh, m, r));
    if (waitpid(init, &st, 0) != init || !WIFEXITED(st))
        return 46;
    return WEXITSTATUS(st);
}

START_TEST(test_setup_storm_pidns)
{
    SKIP_WITHOUT_DEATH_NOTICE();
    enum { ROUNDS = 20 };
    struct ctx c;
    pid_t pid;
    int st;

    if (skip_unless_root(__func__))
        return;
    ctx_open(&c, 1);
    for (long r = 0; r < ROUNDS; r++) {
        pid = spawn(&c, setup_storm_ns, r);
        st = reap(pid);
        if (st == 77) {
            ctx_close(&c);
            skip_case(__func__, "unshare(CLONE_NEWPID) is not allowed here");
            return;
        }
        ck_assert_msg(st == 0, "round %ld: status %d: %s", r, st, c.sh->msg);
    }
    /* From this namespace: -EXDEV, or the set-up was never finished there
     * and is this one's now; never a hang (the case has a deadline). */
    for (int r = 0; r < ROUNDS; r++) {
        ushm_mutex_t *m = (ushm_mutex_t *)((char *)c.sh + SEG_SIZE / 2) + r;
        int rc = ushm_mutex_timedlock(m, 5000);

        ck_assert_msg(rc == -EXDEV || rc == 0 || rc == USHM_OWNERDEAD,
                      "round %d: timedlock from the first namespace = %d: %s", r, rc,
                      last_err());
        if (rc >= 0)
            ASSERT_RC(ushm_mutex_unlock(m), 0);
    }
    ctx_close(&c);
}
END_TEST

/*
 * Holders killed while another thread closes: thread A holds a mutex in
 * each of two mappings, thread B keeps closing the first; the process is
 * SIGKILLed at a random moment.  Both mutexes must reach the next locker
 * (0 or USHM_OWNERDEAD), never stay stuck: before 0.3 the close succeeded
 * and the kernel's cleanup stopped at the unmapped mutex.
 */
struct two_maps {
    ushm_t *first;
    ushm_mutex_t *m1, *m2;
    atomic_int holding;
};

static void *close_first(void *p)
{
    struct two_maps *t = p;

    while (!atomic_load(&t->holding))
        sched_yield();
    for (;;)
        if (ushm_close(t->first) == 0)
            return NULL; /* only once nothing is held there */
}

static int hold_two_then_die(struct ctx *c, struct shared *sh, long arg)
{
    struct two_maps t;
    pthread_t b;

    (void)arg;
    if (ushm_open(&t.first, c->name, 0, 0, 0) != 0)
        return 50;
    t.m1 = ushm_addr(t.first);
    t.m2 = &sh->m2;
    atomic_init(&t.holding, 0);
    if (pthread_create(&b, NULL, close_first, &t) != 0)
        return 51;
    if (ushm_mutex_lock(t.m1) < 0 || ushm_mutex_lock(t.m2) < 0)
        return 52;
    atomic_store(&t.holding, 1);
    put_byte(chan.up[1], 'h');
    for (;;)
        pause(); /* killed holding both */
}

START_TEST(test_holder_killed_while_closing)
{
    SKIP_WITHOUT_DEATH_NOTICE();
    struct ctx c;
    char b;

    ctx_open(&c, 0);
    for (int r = 0; r < 20; r++) {
        pid_t pid;
        int rc1, rc2;

        chan_open();
        pid = spawn(&c, hold_two_then_die, 0);
        ck_assert(get_byte(chan.up[0], &b) && b == 'h');
        for (volatile long spin = 0; spin < (r * 7919) % 50000; spin++)
            ;
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(reap(pid), 256 + SIGKILL);
        chan_close();
        rc1 = ushm_mutex_timedlock(&c.sh->m, 5000);
        rc2 = ushm_mutex_timedlock(&c.sh->m2, 5000);
        ck_assert_msg(rc1 == USHM_OWNERDEAD && rc2 == USHM_OWNERDEAD,
                      "round %d: after the holder died: %d and %d: %s", r, rc1, rc2,
                      last_err());
        ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
        ASSERT_RC(ushm_mutex_unlock(&c.sh->m2), 0);
    }
    ctx_close(&c);
}
END_TEST

void conf_add_sync_shared(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;
    tc = add_tcase(s, "sync_shared", 120);
    tcase_add_test(tc, test_close_busy_other_thread);
    tcase_add_test(tc, test_second_mapping);
    tcase_add_test(tc, test_rdonly);
    tcase_add_test(tc, test_mutex_overwritten);
    tcase_add_test(tc, test_event_overwritten);
    tcase_add_test(tc, test_wait_locked);
    tcase_add_test(tc, test_other_pidns);
    tcase_add_test(tc, test_setup_storm_pidns);
    tcase_add_test(tc, test_holder_killed_while_closing);
}
