/* SPDX-License-Identifier: MIT */
/*
 * Holders of a ushm_mutex_t killed at random and replaced: never two
 * inside, USHM_OWNERDEAD for the next locker, never stuck (sigkill_mutex_holders).
 */
#include "crash.h"

/* ---- holders of a ushm_mutex_t killed ---- */

#define MH_LOCKERS 4

#define MH_KILLS_KEPT 64

struct mh_box {
    ushm_mutex_t lock;
    int inside;          /* holders right now (atomics): never above 1 */
    int violations;
    int in[MH_LOCKERS];  /* 1 while locker i is inside; only it writes it */
    long entries, ownerdead, errors;
    /* How soon a death inside reaches the next locker: the pid inside, and
     * the latest kills (pid, then the CLOCK_MONOTONIC ns just before). */
    int holder;
    struct { _Alignas(8) uint64_t ns; int pid; } killed[MH_KILLS_KEPT];
    long kills, noticed;
    _Alignas(8) uint64_t notice_sum_ns; /* 8: i386 aligns a uint64_t to 4 */
    _Alignas(8) uint64_t notice_max_ns;
};

/* A locker that got USHM_OWNERDEAD from the death of the holder pid:
 * the time since it was killed, if that kill is still on record. */
static void mh_noticed(struct mh_box *b, int dead)
{
    uint64_t now = fc_now_ns(), ns = 0, max;
    long kills = __atomic_load_n(&b->kills, __ATOMIC_SEQ_CST);

    for (long i = kills - 1; i >= 0 && i >= kills - MH_KILLS_KEPT && ns == 0; i--)
        if (__atomic_load_n(&b->killed[i % MH_KILLS_KEPT].pid, __ATOMIC_SEQ_CST) == dead)
            ns = now - __atomic_load_n(&b->killed[i % MH_KILLS_KEPT].ns, __ATOMIC_SEQ_CST);
    if (ns == 0)
        return;
    __atomic_fetch_add(&b->noticed, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&b->notice_sum_ns, ns, __ATOMIC_SEQ_CST);
    max = __atomic_load_n(&b->notice_max_ns, __ATOMIC_SEQ_CST);
    while (ns > max && !__atomic_compare_exchange_n(&b->notice_max_ns, &max, ns, 0,
                                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        ;
}

static void mh_locker(struct mh_box *b, int me)
{
    int self = (int)getpid();

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
            mh_noticed(b, __atomic_load_n(&b->holder, __ATOMIC_SEQ_CST));
        }
        __atomic_store_n(&b->holder, self, __ATOMIC_SEQ_CST);
        if (__atomic_fetch_add(&b->inside, 1, __ATOMIC_SEQ_CST) != 0)
            __atomic_fetch_add(&b->violations, 1, __ATOMIC_SEQ_CST);
        __atomic_store_n(&b->in[me], 1, __ATOMIC_SEQ_CST);
        __atomic_fetch_add(&b->entries, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&b->in[me], 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&b->holder, 0, __ATOMIC_SEQ_CST);
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
    char name[USHM_NAME_MAX + 1], how[320], figures[640], left[160];
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
        int k = (int)(fc_rand(&seed) % MH_LOCKERS), status, slot;
        struct timespec nap = { 0, (long)(fc_rand(&seed) % 500) * 1000 };

        nanosleep(&nap, NULL); /* a random moment, not a wait for anyone */
        slot = (int)(b->kills % MH_KILLS_KEPT);
        __atomic_store_n(&b->killed[slot].pid, 0, __ATOMIC_SEQ_CST);
        __atomic_store_n(&b->killed[slot].ns, fc_now_ns(), __ATOMIC_SEQ_CST);
        __atomic_store_n(&b->killed[slot].pid, (int)kid[k], __ATOMIC_SEQ_CST);
        __atomic_fetch_add(&b->kills, 1, __ATOMIC_SEQ_CST);
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
             "lock_errors=%ld bad_exits=%d final_lock=%s secs=%.1f "
             "dead_holder_noticed=%ld avg_ms=%.2f max_ms=%.2f", rounds,
             seen_holding, b->ownerdead, b->entries, b->violations, b->errors,
             bad_exits, final_rc == 0 ? "0" : final_rc == USHM_OWNERDEAD ?
             "OWNERDEAD" : "FAILED", (fc_now_ns() - t0) / 1e9, b->noticed,
             b->noticed > 0 ? b->notice_sum_ns / 1e6 / (double)b->noticed : 0.0,
             b->notice_max_ns / 1e6);
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

/* The state letter of process pid in /proc/PID/stat, or 0. */
static char proc_state(pid_t pid)
{
    char path[48], buf[256], *p;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    p = fgets(buf, sizeof buf, f);
    fclose(f);
    if (p == NULL || (p = strrchr(buf, ')')) == NULL)
        return 0;
    return p[1] == ' ' ? p[2] : 0;
}

/*
 * How soon a locker already asleep hears of a holder killed without waking
 * anyone: the bound README gives (the portable mutex looks at the holder
 * every 10 ms; the kernel hands the robust pthread mutex over at once).
 * The killed holder is left unreaped until the waiter has answered, as a
 * parent that is busy elsewhere would leave it.
 */
#define MN_BOUND_MS 1000.0 /* a failure only when far past any bound */

struct mn_box {
    ushm_mutex_t lock;
    uint64_t got_ns;    /* when the waiter's lock returned */
    int rc;
};

void mutex_notice(int rounds)
{
    char how[320], figures[320], left[160] = "none";
    double sum = 0, max = 0;
    int done = 0, bad = 0;
    struct mn_box *b;
    ushm_t *h = NULL;

    if (ushm_open(&h, NULL, sizeof *b, USHM_CREATE, 0600) != 0) {
        printf("# mutex notice: %s\n", ushm_last_error());
        fc_failed++;
        return;
    }
    b = ushm_addr(h); /* anonymous: shared with the children forked below */
    for (int r = 0; r < rounds && bad == 0; r++) {
        int up[2], status;
        pid_t holder, waiter;
        uint64_t killed;
        double ms;
        char c = 0;

        if (pipe(up) != 0) {
            bad++;
            break;
        }
        fflush(stdout);
        if ((holder = fork()) == 0) {
            alarm(60);
            if (ushm_mutex_lock(&b->lock) < 0)
                _exit(2);
            if (write(up[1], "h", 1) != 1)
                _exit(3);
            for (;;)
                pause();
        }
        if (holder < 0 || read(up[0], &c, 1) != 1 || c != 'h') {
            bad++;
            break;
        }
        if ((waiter = fork()) == 0) {
            alarm(60);
            b->rc = ushm_mutex_lock(&b->lock);
            __atomic_store_n(&b->got_ns, fc_now_ns(), __ATOMIC_SEQ_CST);
            if (b->rc >= 0)
                ushm_mutex_unlock(&b->lock);
            _exit(0);
        }
        /* Asleep inside the lock: what is measured is its next look. */
        for (int i = 0; i < 100000 && proc_state(waiter) != 'S'; i++)
            sched_yield();
        killed = fc_now_ns();
        kill(holder, SIGKILL);
        while (waitpid(waiter, &status, 0) == -1 && errno == EINTR)
            ;
        while (waitpid(holder, NULL, 0) == -1 && errno == EINTR)
            ;
        close(up[0]);
        close(up[1]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
            b->rc != USHM_OWNERDEAD) {
            printf("#   round %d: the waiter's lock gave %d (status 0x%x)\n", r,
                   b->rc, status);
            bad++;
            break;
        }
        ms = (__atomic_load_n(&b->got_ns, __ATOMIC_SEQ_CST) - killed) / 1e6;
        sum += ms;
        max = ms > max ? ms : max;
        done++;
    }
    ushm_close(h);
    snprintf(figures, sizeof figures, "rounds=%d owner_dead=%d avg_ms=%.2f "
             "max_ms=%.2f bound_checked_ms=%.0f", rounds, done,
             done > 0 ? sum / done : 0.0, max, MN_BOUND_MS);
    snprintf(how, sizeof how, "a holder SIGKILLed (left unreaped) while "
             "another process sleeps in ushm_mutex_lock(): the time from the "
             "kill to the sleeper's USHM_OWNERDEAD, every round");
    fc_line("CRASH", bad == 0 && done == rounds && max < MN_BOUND_MS, 4,
            "sigkill_holder_noticed", how, figures, left);
}
