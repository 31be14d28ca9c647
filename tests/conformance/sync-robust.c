/* SPDX-License-Identifier: MIT */
/*
 * tests/conformance-sync: a holder that dies (API.md, "ushm_mutex_t"):
 * killed while it holds, its thread ended while it holds, and a storm of
 * SIGKILLs on lockers (some of them in the lazy initialisation of zero
 * bytes).  The next locker gets the mutex, with USHM_OWNERDEAD once; never
 * two inside.  Runs once, in anonymous segments (sync.c has the case of a
 * holder killed in each backend's named and anonymous segments).
 */
#include "sync-common.h"

/* ------------------------------------------------------------------ */
/* A holder that dies                                                   */

START_TEST(test_owner_killed)
{
    SKIP_WITHOUT_DEATH_NOTICE();
    struct ctx c;
    pid_t pid;

    ctx_open(&c, 1);
    for (int round = 0; round < 3; round++) {
        pid = start_holder(&c, 0);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(reap(pid), 256 + SIGKILL);
        chan_close();
        /* The first locker hears of the death, in any of the three calls. */
        if (round == 0)
            ASSERT_RC(ushm_mutex_lock(&c.sh->m), USHM_OWNERDEAD);
        else if (round == 1)
            ASSERT_RC(ushm_mutex_trylock(&c.sh->m), USHM_OWNERDEAD);
        else
            ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 1000), USHM_OWNERDEAD);
        ck_assert_int_eq(c.sh->counter, 12345);
        c.sh->counter = 0; /* repaired */
        ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
        ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
        ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    }
    ctx_close(&c);
}
END_TEST

static void *lock_and_exit(void *p)
{
    intptr_t rc = ushm_mutex_lock(p);

    return (void *)rc; /* exits holding it */
}

static int thread_exit_child(struct ctx *c, struct shared *sh, long arg)
{
    pthread_t t;
    void *rc;

    (void)c;
    (void)arg;
    if (pthread_create(&t, NULL, lock_and_exit, &sh->m2) != 0)
        return 2;
    pthread_join(t, &rc);
    return rc == NULL ? 0 : 3;
}

START_TEST(test_owner_thread_exited)
{
    SKIP_WITHOUT_DEATH_NOTICE();
    struct ctx c;
    pthread_t t;
    void *rc;
    pid_t pid;

    ctx_open(&c, 1);
    /* In this process. */
    ck_assert_int_eq(pthread_create(&t, NULL, lock_and_exit, &c.sh->m), 0);
    ck_assert_int_eq(pthread_join(t, &rc), 0);
    ck_assert_msg(rc == NULL, "the thread's lock failed: %d", (int)(intptr_t)rc);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), USHM_OWNERDEAD);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    /* In another process that lives on after its thread. */
    pid = spawn(&c, thread_exit_child, 0);
    ASSERT_EXITED_0(pid);
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m2), USHM_OWNERDEAD);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m2), 0);
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m2), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m2), 0);
    ctx_close(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Kill storm                                                           */

static int storm_child(struct ctx *c, struct shared *sh, long arg)
{
    (void)c;
    (void)arg;
    for (;;) {
        int rc = ushm_mutex_lock(&sh->m);

        if (rc < 0) {
            child_error(sh, "storm: ushm_mutex_lock = %d: %s", rc, ushm_last_error());
            return 2;
        }
        if (rc == USHM_OWNERDEAD) {
            atomic_fetch_add(&sh->ownerdead, 1);
            atomic_store(&sh->inside, 0); /* the dead holder was inside */
        }
        if (atomic_fetch_add(&sh->inside, 1) != 0)
            atomic_fetch_add(&sh->violations, 1);
        atomic_fetch_add(&sh->entries, 1);
        sh->counter++;
        atomic_fetch_sub(&sh->inside, 1);
        rc = ushm_mutex_unlock(&sh->m);
        if (rc != 0) {
            child_error(sh, "storm: ushm_mutex_unlock = %d: %s", rc, ushm_last_error());
            return 3;
        }
    }
}

/*
 * Fresh mutexes for the kill storm's walkers: each walker zeroes its own
 * share of them and locks each once, over and over, so that it spends much
 * of its time in the lazy initialisation, where the kills land.
 */
#define WALK_OFFSET 8192
#define WALK_COUNT ((SEG_SIZE - WALK_OFFSET) / 64)
#define WALKERS 2

static ushm_mutex_t *walk_array(struct shared *sh)
{
    return (ushm_mutex_t *)(void *)((char *)sh + WALK_OFFSET);
}

static int walk_child(struct ctx *c, struct shared *sh, long which)
{
    size_t share = WALK_COUNT / WALKERS;
    ushm_mutex_t *w = walk_array(sh) + (size_t)which * share;

    (void)c;
    atomic_fetch_add(&sh->started, 1);
    for (;;) {
        memset(w, 0, share * sizeof *w);
        for (size_t k = 0; k < share; k++) {
            int rc = ushm_mutex_lock(&w[k]);

            if (rc != 0) {
                child_error(sh, "walker: ushm_mutex_lock(#%zu) = %d: %s", k, rc,
                            ushm_last_error());
                return 2;
            }
            if ((rc = ushm_mutex_unlock(&w[k])) != 0) {
                child_error(sh, "walker: ushm_mutex_unlock = %d: %s", rc,
                            ushm_last_error());
                return 3;
            }
        }
    }
}

static void nap_us(long us)
{
    struct timespec ts = { 0, us * 1000 };

    nanosleep(&ts, NULL); /* a random moment to kill at, not a wait */
}

START_TEST(test_kill_storm)
{
    SKIP_WITHOUT_DEATH_NOTICE();
    enum { LOCKERS = 1 + WALKERS };
    double seconds = under_valgrind() ? 4.0 : 2.5, t_end, t_cap;
    long min_kills = under_valgrind() ? 30 : 300;
    unsigned seed = (unsigned)getpid() * 2654435761u;
    long kills = 0, rounds = 0, zeroed = 0;
    struct ctx c;

    ctx_open(&c, 1);
    /* A few seconds, and hundreds of kills however slow the machine. */
    t_end = now_ms() + seconds * 1e3;
    t_cap = now_ms() + 30e3;
    while ((now_ms() < t_end || kills < min_kills) && now_ms() < t_cap) {
        pid_t pid[LOCKERS];
        int alive = LOCKERS, rc;

        /* Every other round starts from zero bytes: kills land in the lazy
         * initialisation too. */
        if (rounds % 2 == 0) {
            memset(&c.sh->m, 0, sizeof c.sh->m);
            memset(walk_array(c.sh), 0, WALK_COUNT * sizeof(ushm_mutex_t));
            atomic_store(&c.sh->inside, 0);
            zeroed++;
        }
        for (int i = 0; i < LOCKERS; i++)
            pid[i] = rounds % 2 == 0 && i > 0 ?
                     spawn(&c, walk_child, i - 1) :
                     spawn(&c, storm_child, 0);
        /* Walkers initialise for about a millisecond once they run. */
        if (rounds % 2 == 0) {
            double give_up = now_ms() + 10000;

            while (atomic_load(&c.sh->started) < LOCKERS - 1 && now_ms() < give_up)
                sched_yield();
            atomic_store(&c.sh->started, 0);
        }
        if (rounds % 2 == 0) {
            /* All at once, so no walker finishes another's initialisation. */
            if (rand_r(&seed) % 2 != 0)
                nap_us(rand_r(&seed) % 100u);
            for (int i = 0; i < LOCKERS; i++)
                ck_assert_int_eq(kill(pid[i], SIGKILL), 0);
        }
        while (alive > 0) {
            int k = (int)(rand_r(&seed) % (unsigned)alive);

            if (rounds % 2 != 0) {
                nap_us(rand_r(&seed) % 2000u);
                ck_assert_int_eq(kill(pid[k], SIGKILL), 0);
            }
            rc = reap(pid[k]);
            ck_assert_msg(rc == 256 + SIGKILL, "a locker ended with %d: %s", rc, c.sh->msg);
            kills++;
            pid[k] = pid[--alive];
        }
        /* Every walker's mutex, killed mid-initialisation or not, can still
         * be locked. */
        for (int k = 0; rounds % 2 == 0 && k < WALK_COUNT; k++) {
            ushm_mutex_t *m = &walk_array(c.sh)[k];

            rc = ushm_mutex_timedlock(m, 10000);
            ck_assert_msg(rc == 0 || rc == USHM_OWNERDEAD, "walk mutex %d: timedlock = %d: %s",
                          k, rc, last_err());
            ASSERT_RC(ushm_mutex_unlock(m), 0);
        }
        /* Between rounds the mutex still works. */
        rc = ushm_mutex_timedlock(&c.sh->m, 10000);
        ck_assert_msg(rc == 0 || rc == USHM_OWNERDEAD, "after round %ld: timedlock = %d: %s",
                      rounds, rc, last_err());
        atomic_store(&c.sh->inside, 0);
        ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
        rounds++;
    }
    printf("kill storm (%s backend, %s segment): %ld kills in %ld rounds (%ld from zero "
           "bytes), %ld critical sections, %ld owner-dead recoveries\n", ushm_backend(),
           ctx_kind(&c), kills, rounds, zeroed,
           (long)atomic_load(&c.sh->entries), (long)atomic_load(&c.sh->ownerdead));
    fflush(stdout);
    ASSERT_NO_CHILD_ERRORS(c.sh);
    ck_assert_int_eq(atomic_load(&c.sh->violations), 0);
    ck_assert_msg(kills >= min_kills, "only %ld kills in 30 s", kills);
    ck_assert_msg(atomic_load(&c.sh->entries) > 0, "no locker ever got in");
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ctx_close(&c);
}
END_TEST

void conf_add_sync_robust(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;
    tc = add_tcase(s, "sync_robust", 300);
    tcase_add_test(tc, test_owner_killed);
    tcase_add_test(tc, test_owner_thread_exited);
    tcase_add_test(tc, test_kill_storm);
}
