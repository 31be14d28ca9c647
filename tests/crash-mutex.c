/* SPDX-License-Identifier: MIT */
/*
 * Holders of a ushm_mutex_t killed at random and replaced: never two
 * inside, USHM_OWNERDEAD for the next locker, never stuck (sigkill_mutex_holders).
 */
#include "crash.h"

/* ---- holders of a ushm_mutex_t killed ---- */

#define MH_LOCKERS 4

struct mh_box {
    ushm_mutex_t lock;
    int inside;          /* holders right now (atomics): never above 1 */
    int violations;
    int in[MH_LOCKERS];  /* 1 while locker i is inside; only it writes it */
    long entries, ownerdead, errors;
};

static void mh_locker(struct mh_box *b, int me)
{
    __atomic_store_n(&b->in[me], 0, __ATOMIC_SEQ_CST); /* its predecessor's */
    for (;;) {
        int rc = ushm_mutex_lock(&b->lock);

        if (rc < 0) {
            __atomic_fetch_add(&b->errors, 1, __ATOMIC_SEQ_CST);
            _exit(2);
        }
        if (rc == USHM_OWNERDEAD) {
            /* The dead holder may have been inside: repair the count. */
            __atomic_fetch_add(&b->ownerdead, 1, __ATOMIC_SEQ_CST);
            __atomic_store_n(&b->inside, 0, __ATOMIC_SEQ_CST);
        }
        if (__atomic_fetch_add(&b->inside, 1, __ATOMIC_SEQ_CST) != 0)
            __atomic_fetch_add(&b->violations, 1, __ATOMIC_SEQ_CST);
        __atomic_store_n(&b->in[me], 1, __ATOMIC_SEQ_CST);
        __atomic_fetch_add(&b->entries, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&b->in[me], 0, __ATOMIC_SEQ_CST);
        __atomic_fetch_sub(&b->inside, 1, __ATOMIC_SEQ_CST);
        if (ushm_mutex_unlock(&b->lock) != 0) {
            __atomic_fetch_add(&b->errors, 1, __ATOMIC_SEQ_CST);
            _exit(3);
        }
    }
}

static pid_t mh_spawn(const char *name, int me)
{
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        ushm_t *h = NULL;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(300);
        /* Its own mapping, at an address of its own. */
        if (ushm_open(&h, name, 0, 0, 0) != 0)
            _exit(4);
        mh_locker(ushm_addr(h), me);
    }
    return pid;
}

void mutex_holders(int rounds, uint64_t seed)
{
    char name[USHM_NAME_MAX + 1], how[320], figures[480], left[160];
    pid_t kid[MH_LOCKERS];
    long seen_holding = 0;
    int bad_exits = 0, spawn_fail = 0, final_rc, ok;
    struct mh_box *b;
    ushm_t *h = NULL;
    uint64_t t0 = fc_now_ns();

    snprintf(name, sizeof name, "/%smutex", prefix);
    if (ushm_open(&h, name, sizeof *b, USHM_CREATE | USHM_EXCL, 0600) != 0) {
        printf("# mutex holders: %s\n", ushm_last_error());
        fc_failed++;
        return;
    }
    b = ushm_addr(h); /* zero-filled: the mutex is ready */
    for (int i = 0; i < MH_LOCKERS; i++)
        if ((kid[i] = mh_spawn(name, i)) < 0)
            spawn_fail++;
    for (int r = 0; r < rounds && spawn_fail == 0; r++) {
        int k = (int)(fc_rand(&seed) % MH_LOCKERS), status;
        struct timespec nap = { 0, (long)(fc_rand(&seed) % 500) * 1000 };

        nanosleep(&nap, NULL); /* a random moment, not a wait for anyone */
        kill(kid[k], SIGKILL);
        while (waitpid(kid[k], &status, 0) == -1 && errno == EINTR)
            ;
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            bad_exits++;
        /* Killed inside: the next locker must hear of it. */
        seen_holding += __atomic_load_n(&b->in[k], __ATOMIC_SEQ_CST) == 1;
        if ((kid[k] = mh_spawn(name, k)) < 0)
            spawn_fail++;
    }
    for (int i = 0; i < MH_LOCKERS; i++) {
        int status;

        if (kid[i] <= 0)
            continue;
        kill(kid[i], SIGKILL);
        while (waitpid(kid[i], &status, 0) == -1 && errno == EINTR)
            ;
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            bad_exits++;
    }
    /* Whatever the last kills hit, the mutex can be had. */
    final_rc = ushm_mutex_timedlock(&b->lock, 10000);
    if (final_rc >= 0)
        ushm_mutex_unlock(&b->lock);
    else
        printf("#   the mutex after the kills: %s\n", ushm_last_error());
    snprintf(figures, sizeof figures, "kills=%d killed_inside=%ld "
             "ownerdead=%ld critical_sections=%ld exclusion_violations=%d "
             "lock_errors=%ld bad_exits=%d final_lock=%s secs=%.1f", rounds,
             seen_holding, b->ownerdead, b->entries, b->violations, b->errors,
             bad_exits, final_rc == 0 ? "0" : final_rc == USHM_OWNERDEAD ?
             "OWNERDEAD" : "FAILED", (fc_now_ns() - t0) / 1e9);
    ok = spawn_fail == 0 && bad_exits == 0 && b->violations == 0 &&
         b->errors == 0 && b->entries > 0 && final_rc >= 0 &&
         (seen_holding == 0 || b->ownerdead + (final_rc == USHM_OWNERDEAD) > 0) &&
         b->ownerdead <= rounds + MH_LOCKERS;
    ushm_close(h);
    ushm_unlink(name);
    if (fc_count_devshm(prefix, NULL, 0) || fc_count_sysv(ours, NULL))
        snprintf(left, sizeof left, "the mutex's segment");
    else
        snprintf(left, sizeof left, "none");
    ok = ok && strcmp(left, "none") == 0;
    snprintf(how, sizeof how, "%d processes lock and unlock one ushm_mutex_t "
             "in a named segment, each mapping it itself; one chosen at random "
             "is SIGKILLed 0 to 500 us into each round and replaced; never two "
             "inside, deaths inside reach later lockers as USHM_OWNERDEAD, the mutex is never stuck", MH_LOCKERS);
    fc_line("CRASH", ok, 4, "sigkill_mutex_holders", how, figures, left);
}
