/* SPDX-License-Identifier: MIT */
/*
 * Stress: many processes opening, writing, verifying, closing and removing
 * a few shared names at once, on the backend this program is linked with
 * (tests/stress-posix, tests/stress-sysv).
 *
 * 16 processes x 2000 operations.  One operation: ushm_open(USHM_CREATE) of
 * one of 4 names with a fixed size (must always succeed, with exactly that
 * size); under the segment's ushm_mutex_t (zero bytes in a fresh segment,
 * so first locked by whoever maps it first, at an address of its own), check
 * the record left
 * by the previous writer (a generation, a seed, data derived from the seed
 * and a checksum: a fresh segment is all zero) and write a new one; close;
 * one time in 8 unlink the name (0, or -ENOENT when another process removed
 * it first).  One time in 4 the process also opens the name again without
 * USHM_CREATE (0, or -ENOENT if it was removed meanwhile) and checks the
 * record read-only.  Each process must end with the descriptors and
 * mappings it started with; at the end every name is checked once more and
 * removed, and nothing of ours may be left in /dev/shm or /proc/sysvipc/shm
 * (nor, since no creator is killed here, a size-0 object in either POSIX
 * protocol).
 *
 * Then 4 creators race 2 unlinkers on one name, while (POSIX) an observer
 * looks at the name in /dev/shm as fast as it can: where segments are
 * published whole (O_TMPFILE + linkat) it must never see one of size 0, nor
 * may a join without USHM_CREATE above find one empty; with the fallback
 * protocol both are counted (a creator between shm_open and its reserve).
 *
 * Then a token ring: the same number of processes pass a token round and
 * round through one ushm_event_t that all of them wait on, the token under a
 * ushm_mutex_t; no wake-up may be lost (every wait has a 10 s limit).
 *
 * USHM_STRESS_PROCS and USHM_STRESS_OPS override 16 and 2000.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sched.h>
#include <sys/mman.h>

#include "fault-common.h"

#define NNAMES 4
#define SEG_SIZE (16 * KiB) /* 4 pages: each operation maps it afresh */
#define MAXPROCS 256

/*
 * The segment as 64-bit words: a header, then data.  The first word of each
 * 4 KiB page is a touch word, only ever used by an atomic no-op outside the
 * lock, so that the page faults of a fresh mapping are taken before the lock
 * and not while fifteen other processes wait for it.
 */
struct record {
    uint64_t touch; /* page 0's touch word */
    ushm_mutex_t lock;
    uint64_t gen;   /* 0: never written */
    uint64_t seed;
    uint64_t sum;
    uint64_t writer;
};
#define PAGE_WORDS 512
#define SEG_WORDS (SEG_SIZE / sizeof(uint64_t))
#define HEAD_WORDS (sizeof(struct record) / sizeof(uint64_t))
#define FOR_DATA(w) \
    for (size_t w = HEAD_WORDS; w < SEG_WORDS; w++) if (w % PAGE_WORDS != 0)

struct stats {
    unsigned long ops, creates, unlinks, unlink_enoent, joins, join_enoent;
    unsigned long open_fail, size_bad, sum_bad, close_fail, unlink_fail;
    unsigned long join_fail, leak, lock_fail, ownerdead, join_empty;
    char first_problem[200];
};

static char names[NNAMES][USHM_NAME_MAX + 1];
static char prefix[24];
static pid_t kids[MAXPROCS];
static int nkids;

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t *words(struct record *r)
{
    return (uint64_t *)(void *)r;
}

static uint64_t checksum(struct record *r)
{
    uint64_t h = 1469598103934665603ull ^ r->gen ^ (r->seed << 1);

    FOR_DATA(w)
        h = (h ^ words(r)[w]) * 1099511628211ull;
    return h;
}

/* A write to each page that leaves it as it is: an atomic add of 0 to its
 * first 4 bytes (an 8-byte one is a library call on i386 with clang). */
static void prefault(struct record *r)
{
    for (size_t w = 0; w < SEG_WORDS; w += PAGE_WORDS)
        __atomic_fetch_add((unsigned *)(void *)&words(r)[w], 0u, __ATOMIC_RELAXED);
}

static void note(struct stats *s, const char *fmt, ...) FC_PRINTF(2, 3);

/* Nobody dies here: USHM_OWNERDEAD would be a bug as much as a failure. */
static void lock(struct stats *s, struct record *r)
{
    int rc = ushm_mutex_lock(&r->lock);

    if (rc == USHM_OWNERDEAD) {
        s->ownerdead++;
        note(s, "ushm_mutex_lock: USHM_OWNERDEAD, and nobody died");
    } else if (rc != 0) {
        s->lock_fail++;
        note(s, "ushm_mutex_lock: %s", ushm_last_error());
    }
}

static void unlock(struct stats *s, struct record *r)
{
    if (ushm_mutex_unlock(&r->lock) != 0) {
        s->lock_fail++;
        note(s, "ushm_mutex_unlock: %s", ushm_last_error());
    }
}

/* The record is whole: all zero, or data, seed and sum that agree. */
static int verify(struct record *r)
{
    if (r->gen == 0) {
        if (r->seed != 0 || r->sum != 0 || r->writer != 0)
            return 0;
        FOR_DATA(w)
            if (words(r)[w] != 0)
                return 0;
        return 1;
    }
    FOR_DATA(w)
        if (words(r)[w] != splitmix(r->seed + w))
            return 0;
    return r->sum == checksum(r);
}

static void write_record(struct record *r, uint64_t seed)
{
    r->gen++;
    r->seed = seed;
    r->writer = (uint64_t)getpid();
    FOR_DATA(w)
        words(r)[w] = splitmix(seed + w);
    r->sum = checksum(r);
}

static void note(struct stats *s, const char *fmt, ...)
{
    va_list ap;

    if (s->first_problem[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(s->first_problem, sizeof s->first_problem, fmt, ap);
    va_end(ap);
}

static void worker(struct stats *s, int ops, int go)
{
    uint64_t seed = fc_now_ns() ^ ((uint64_t)getpid() << 20);
    int fds0 = fc_count_fds(), maps0 = fc_count_maps();
    char c;

    /* Everyone starts together: the parent closes the pipe. */
    while (read(go, &c, 1) == -1 && errno == EINTR)
        ;
    close(go);
    fds0--;
    for (int i = 0; i < ops; i++) {
        int k = (int)(fc_rand(&seed) % NNAMES), rc;
        ushm_t *h = NULL;
        struct record *r;

        s->ops++;
        rc = ushm_open(&h, names[k], SEG_SIZE, USHM_CREATE, 0600);
        if (rc != 0) {
            s->open_fail++;
            note(s, "open-or-create %s: %s", names[k], ushm_last_error());
            continue;
        }
        if (ushm_size(h) != SEG_SIZE) {
            s->size_bad++;
            note(s, "%s: size %zu", names[k], ushm_size(h));
        }
        s->creates += ushm_created(h) == 1;
        r = ushm_addr(h);
        prefault(r);
        lock(s, r);
        if (!verify(r)) {
            s->sum_bad++;
            note(s, "%s: record of generation %llu by pid %llu does not "
                 "verify", names[k], (unsigned long long)r->gen,
                 (unsigned long long)r->writer);
        }
        write_record(r, fc_rand(&seed));
        unlock(s, r);

        if (fc_rand(&seed) % 4 == 0) {
            /* Join: the same name again, without USHM_CREATE. */
            ushm_t *j = NULL;

            s->joins++;
            rc = ushm_open(&j, names[k], 0, 0, 0);
            if (rc == -ENOENT) {
                s->join_enoent++;
                /* Not removed but still being made (fallback only). */
                if (strstr(ushm_last_error(), "empty") != NULL)
                    s->join_empty++;
            } else if (rc != 0) {
                s->join_fail++;
                note(s, "open %s without USHM_CREATE: %s", names[k],
                     ushm_last_error());
            } else {
                struct record *q = ushm_addr(j);

                if (ushm_size(j) != SEG_SIZE) {
                    s->size_bad++;
                    note(s, "%s joined: size %zu", names[k], ushm_size(j));
                }
                prefault(q);
                lock(s, q);
                if (!verify(q)) {
                    s->sum_bad++;
                    note(s, "%s joined: record does not verify", names[k]);
                }
                unlock(s, q);
                if (ushm_close(j) != 0)
                    s->close_fail++;
            }
        }
        if (ushm_close(h) != 0) {
            s->close_fail++;
            note(s, "close %s: %s", names[k], ushm_last_error());
        }
        if (fc_rand(&seed) % 8 == 0) {
            rc = ushm_unlink(names[k]);
            if (rc == 0) {
                s->unlinks++;
            } else if (rc == -ENOENT) {
                s->unlink_enoent++;
            } else {
                s->unlink_fail++;
                note(s, "unlink %s: %s", names[k], ushm_last_error());
            }
        }
    }
    if (fc_count_fds() != fds0 || fc_count_maps() != maps0) {
        s->leak++;
        note(s, "pid %ld: descriptors %d -> %d, mappings %d -> %d",
             (long)getpid(), fds0, fc_count_fds(), maps0, fc_count_maps());
    }
}

static int ours(long key, long cpid, void *arg)
{
    (void)arg;
    /* Not by the pids of exited workers: other programs of make check
     * soon reuse them (pid_max may be 32768). */
    for (int i = 0; i < NNAMES; i++)
        if ((uint32_t)key == fc_sysv_key(names[i]))
            return 1;
    return cpid == getpid();
}

/*
 * Creators against removers on one name: every open-or-create must succeed
 * with the full size and, when it created the segment, zero-filled memory,
 * while other processes unlink the name as fast as they can.
 */
struct race {
    int creators_done;
    unsigned long creates, opens, fails, size_bad, dirty, unlinks, enoent;
    unsigned long unlink_fail;
    unsigned long seen_whole, seen_empty, seen_wrong; /* the observer */
    char first_problem[200];
};

static void race_creator(struct race *rc_, const char *name, int ops)
{
    unsigned long creates = 0, opens = 0, fails = 0, size_bad = 0, dirty = 0;

    for (int i = 0; i < ops; i++) {
        ushm_t *h = NULL;
        int rc = ushm_open(&h, name, SEG_SIZE, USHM_CREATE, 0600);

        if (rc != 0) {
            if (fails++ == 0 &&
                !__atomic_exchange_n(&rc_->first_problem[0], 'x',
                                     __ATOMIC_SEQ_CST))
                snprintf(rc_->first_problem + 1,
                         sizeof rc_->first_problem - 1, ": %s",
                         ushm_last_error());
            continue;
        }
        opens++;
        if (ushm_size(h) != SEG_SIZE)
            size_bad++;
        if (ushm_created(h)) {
            volatile unsigned char *p = ushm_addr(h);

            creates++;
            /* Nobody writes in this test: a fresh segment reads zero,
             * and stays so after we mark nothing. */
            if (p[0] != 0 || p[SEG_SIZE - 1] != 0)
                dirty++;
        }
        ushm_close(h);
    }
    __atomic_fetch_add(&rc_->creates, creates, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&rc_->opens, opens, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&rc_->fails, fails, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&rc_->size_bad, size_bad, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&rc_->dirty, dirty, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&rc_->creators_done, 1, __ATOMIC_SEQ_CST);
}

static void race_remover(struct race *r, const char *name, int ncreators)
{
    unsigned long unlinks = 0, enoent = 0, bad = 0;

    /* Until every creator is done (an atomic, no sleeping). */
    while (__atomic_load_n(&r->creators_done, __ATOMIC_SEQ_CST) < ncreators) {
        int rc = ushm_unlink(name);

        if (rc == 0)
            unlinks++;
        else if (rc == -ENOENT)
            enoent++;
        else
            bad++;
    }
    __atomic_fetch_add(&r->unlinks, unlinks, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&r->enoent, enoent, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&r->unlink_fail, bad, __ATOMIC_SEQ_CST);
}

/* POSIX: what holds the name in /dev/shm, looked at until the creators are
 * done: never a size other than 0 or SEG_SIZE; size 0 is counted. */
static void race_observer(struct race *r, const char *name, int ncreators)
{
    unsigned long whole = 0, empty = 0, wrong = 0;

    while (__atomic_load_n(&r->creators_done, __ATOMIC_SEQ_CST) < ncreators) {
        struct stat sb;

        if (fc_posix_look(name, &sb) != 0)
            continue;
        if (sb.st_size == 0)
            empty++;
        else if (sb.st_size == SEG_SIZE && S_ISREG(sb.st_mode))
            whole++;
        else
            wrong++;
    }
    __atomic_fetch_add(&r->seen_whole, whole, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&r->seen_empty, empty, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&r->seen_wrong, wrong, __ATOMIC_SEQ_CST);
}

static void race_case(int ncreators, int nremovers, int ops)
{
    struct race *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    char name[USHM_NAME_MAX + 1], how[320], figures[600], left[160];
    int go[2], died = 0, n = 0, ok, left_dev, left_sysv;
    int nobservers = fc_is_posix() ? 1 : 0, atomic = fc_posix_atomic();
    pid_t pids[64];
    uint64_t t0, t1;

    snprintf(name, sizeof name, "/%srace", prefix);
    if (r == MAP_FAILED || pipe(go) != 0) {
        printf("# race: setup: %s\n", strerror(errno));
        fc_failed++;
        return;
    }
    memset(r, 0, sizeof *r);
    for (int i = 0; i < ncreators + nremovers + nobservers && i < 64; i++) {
        pid_t pid;

        fflush(stdout);
        if ((pid = fork()) == -1) {
            died++;
            break;
        }
        if (pid == 0) {
            char c;

            close(go[1]);
            while (read(go[0], &c, 1) == -1 && errno == EINTR)
                ;
            if (i < ncreators)
                race_creator(r, name, ops);
            else if (i < ncreators + nremovers)
                race_remover(r, name, ncreators);
            else
                race_observer(r, name, ncreators);
            _exit(0);
        }
        pids[n++] = pid;
        if (nkids < MAXPROCS)
            kids[nkids++] = pid;
    }
    t0 = fc_now_ns();
    close(go[0]);
    close(go[1]);
    for (int i = 0; i < n; i++) {
        int status;

        while (waitpid(pids[i], &status, 0) == -1 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            died++;
    }
    t1 = fc_now_ns();
    if (r->first_problem[0] != '\0')
        printf("#   first failure%s\n", r->first_problem + 1);
    ushm_unlink(name);
    left_dev = fc_count_devshm(prefix, NULL, 0);
    left_sysv = fc_count_sysv(ours, NULL);
    if (left_dev || left_sysv)
        snprintf(left, sizeof left, "%d /dev/shm entries, %d SysV segments",
                 left_dev, left_sysv);
    else
        snprintf(left, sizeof left, "none");
    snprintf(how, sizeof how, "%d processes x %d open-or-create+close of one "
             "name (%zu KiB) while %d processes unlink it in a loop%s",
             ncreators, ops, (size_t)SEG_SIZE / KiB, nremovers,
             !nobservers ? ""
             : atomic ? " and 1 watches /dev/shm: published whole, size 0 "
                        "never allowed"
             : " and 1 watches /dev/shm: fallback protocol, size 0 counted");
    snprintf(figures, sizeof figures, "opens=%lu of %lu secs=%.2f "
             "ops_per_s=%.0f created=%lu open_failures=%lu size_wrong=%lu "
             "not_zero=%lu unlinks=%lu unlink_enoent=%lu unlink_failures=%lu "
             "workers_died=%d", r->opens, (unsigned long)ncreators * ops,
             (t1 - t0) / 1e9, r->opens / ((t1 - t0) / 1e9), r->creates,
             r->fails, r->size_bad, r->dirty, r->unlinks, r->enoent,
             r->unlink_fail, died);
    if (nobservers) {
        size_t l = strlen(figures);

        snprintf(figures + l, sizeof figures - l, " seen_whole=%lu "
                 "seen_size0=%lu seen_wrong_size=%lu", r->seen_whole,
                 r->seen_empty, r->seen_wrong);
    }
    ok = r->fails == 0 && r->size_bad == 0 && r->dirty == 0 &&
         r->unlink_fail == 0 && died == 0 &&
         r->opens == (unsigned long)ncreators * ops &&
         r->seen_wrong == 0 && !(atomic && r->seen_empty > 0) &&
         strcmp(left, "none") == 0;
    fc_line("STRESS", ok, 4, "create_unlink_race", how, figures, left);
    munmap(r, sizeof *r);
}

/*
 * A token ring: n processes, each waits on the one shared event until the
 * token (under the mutex) is its own, passes it on and notifies everyone.
 * All of them wake on every notify and all but one go back to sleep: the
 * pattern of reading the counter before looking must never lose a wake-up.
 */
struct ring {
    ushm_mutex_t lock;
    ushm_event_t turn;
    unsigned long token;     /* passes so far; the holder is token % n */
    unsigned long timeouts, wrong, lock_fail;
    char first_problem[200];
};

static void ring_problem(struct ring *r, const char *what)
{
    if (!__atomic_exchange_n(&r->first_problem[0], 'x', __ATOMIC_SEQ_CST))
        snprintf(r->first_problem + 1, sizeof r->first_problem - 1, ": %s: %s",
                 what, ushm_last_error());
}

static void ring_member(struct ring *r, int me, int n, unsigned long passes)
{
    unsigned long mine = 0;

    while (mine < passes) {
        unsigned seen = ushm_event_read(&r->turn);
        unsigned long token;
        int rc = ushm_mutex_lock(&r->lock);

        if (rc != 0) {
            __atomic_fetch_add(&r->lock_fail, 1, __ATOMIC_SEQ_CST);
            ring_problem(r, "ushm_mutex_lock");
            return;
        }
        token = r->token;
        if (token % (unsigned long)n == (unsigned long)me) {
            if (token / (unsigned long)n != mine)
                __atomic_fetch_add(&r->wrong, 1, __ATOMIC_SEQ_CST);
            r->token = token + 1;
            mine++;
        }
        ushm_mutex_unlock(&r->lock);
        if (token % (unsigned long)n == (unsigned long)me) {
            ushm_event_notify(&r->turn);
            continue;
        }
        if (ushm_event_wait(&r->turn, seen, 10000) == -ETIMEDOUT) {
            __atomic_fetch_add(&r->timeouts, 1, __ATOMIC_SEQ_CST);
            ring_problem(r, "a lost wake-up");
            return;
        }
    }
}

static void token_ring(int n, unsigned long passes)
{
    ushm_t *h = NULL;
    struct ring *r;
    int died = 0, m = 0, ok;
    pid_t pids[MAXPROCS];
    uint64_t t0, t1;
    char how[256], figures[400];

    if (n < 2)
        n = 2;
    if (ushm_open(&h, NULL, sizeof *r, USHM_CREATE, 0600) != 0) {
        printf("# token ring: %s\n", ushm_last_error());
        fc_failed++;
        return;
    }
    r = ushm_addr(h); /* zero-filled: the mutex and the event are ready */
    t0 = fc_now_ns();
    for (int i = 0; i < n; i++) {
        pid_t pid;

        fflush(stdout);
        if ((pid = fork()) == -1) {
            died++;
            break;
        }
        if (pid == 0) {
            alarm(600); /* a lost wake-up must not hang the run */
            ring_member(r, i, n, passes);
            _exit(0);
        }
        pids[m++] = pid;
        if (nkids < MAXPROCS)
            kids[nkids++] = pid;
    }
    for (int i = 0; i < m; i++) {
        int status;

        while (waitpid(pids[i], &status, 0) == -1 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            died++;
    }
    t1 = fc_now_ns();
    if (r->first_problem[0] != '\0')
        printf("#   first failure%s\n", r->first_problem + 1);
    snprintf(how, sizeof how, "%d processes pass a token round a ring %lu "
             "times each, all waiting on one ushm_event_t (10 s limit per "
             "wait), the token under a ushm_mutex_t", n, passes);
    snprintf(figures, sizeof figures, "passes=%lu of %lu secs=%.2f "
             "passes_per_s=%.0f lost_wakeups=%lu out_of_turn=%lu "
             "lock_failures=%lu notifies=%u workers_died=%d", r->token,
             passes * (unsigned long)n, (t1 - t0) / 1e9,
             r->token / ((t1 - t0) / 1e9), r->timeouts, r->wrong,
             r->lock_fail, ushm_event_read(&r->turn), died);
    ok = r->token == passes * (unsigned long)n && r->timeouts == 0 &&
         r->wrong == 0 && r->lock_fail == 0 && died == 0;
    fc_line("STRESS", ok, 4, "event_token_ring", how, figures, "none");
    if (ushm_close(h) != 0) {
        printf("# token ring: %s\n", ushm_last_error());
        fc_failed++;
    }
}

int main(void)
{
    const char *ep = getenv("USHM_STRESS_PROCS"), *eo = getenv("USHM_STRESS_OPS");
    int nprocs = ep != NULL && atoi(ep) > 0 ? atoi(ep) : 16;
    int ops = eo != NULL && atoi(eo) > 0 ? atoi(eo) : 2000;
    struct stats *st, sum;
    int go[2], died = 0, left_dev, left_sysv, final_bad = 0, ok;
    int atomic = fc_posix_atomic();
    int fds0, maps0;
    uint64_t t0, t1;
    char how[320], figures[700], left[200];

    setvbuf(stdout, NULL, _IOLBF, 0);
    fc_check_backend("stress");
    if (nprocs > MAXPROCS)
        nprocs = MAXPROCS;
    snprintf(prefix, sizeof prefix, "stress%ld_", (long)getpid());
    for (int k = 0; k < NNAMES; k++)
        snprintf(names[k], sizeof names[k], "/%s%d", prefix, k);
    st = mmap(NULL, sizeof *st * (size_t)nprocs, PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    fc_count_maps();
    fds0 = fc_count_fds();
    maps0 = fc_count_maps();
    if (st == MAP_FAILED || pipe(go) != 0) {
        printf("# stress: setup: %s\n0 passed, 1 failed\n", strerror(errno));
        return 1;
    }
    printf("# stress: backend %s, %d processes x %d operations on %d names "
           "of %zu bytes\n", ushm_backend(), nprocs, ops, NNAMES,
           (size_t)SEG_SIZE);

    for (int i = 0; i < nprocs; i++) {
        pid_t pid;

        fflush(stdout);
        if ((pid = fork()) == -1) {
            printf("# fork: %s\n", strerror(errno));
            died++;
            break;
        }
        if (pid == 0) {
            close(go[1]);
            worker(&st[i], ops, go[0]);
            _exit(0);
        }
        kids[nkids++] = pid;
    }
    t0 = fc_now_ns();
    close(go[0]);
    close(go[1]); /* go */
    for (int i = 0; i < nkids; i++) {
        int status;

        while (waitpid(kids[i], &status, 0) == -1 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            died++;
            printf("# worker %ld ended with status 0x%x\n", (long)kids[i],
                   status);
        }
    }
    t1 = fc_now_ns();

    memset(&sum, 0, sizeof sum);
    for (int i = 0; i < nkids; i++) {
        sum.ops += st[i].ops;
        sum.creates += st[i].creates;
        sum.unlinks += st[i].unlinks;
        sum.unlink_enoent += st[i].unlink_enoent;
        sum.joins += st[i].joins;
        sum.join_enoent += st[i].join_enoent;
        sum.open_fail += st[i].open_fail;
        sum.size_bad += st[i].size_bad;
        sum.sum_bad += st[i].sum_bad;
        sum.close_fail += st[i].close_fail;
        sum.unlink_fail += st[i].unlink_fail;
        sum.join_fail += st[i].join_fail;
        sum.leak += st[i].leak;
        sum.join_empty += st[i].join_empty;
        sum.lock_fail += st[i].lock_fail;
        sum.ownerdead += st[i].ownerdead;
        if (st[i].first_problem[0] != '\0')
            printf("#   worker %d: %s\n", i, st[i].first_problem);
    }

    /* What is left of each name still verifies; then remove it.  No
     * creator was killed, so no protocol may have left a size-0 object. */
    for (int k = 0; k < NNAMES; k++) {
        ushm_t *h = NULL;
        int rc;

        if (fc_is_posix()) {
            struct stat sb;

            if (fc_posix_look(names[k], &sb) == 0 && sb.st_size == 0) {
                final_bad++;
                printf("#   %s at the end: size 0\n", names[k]);
            }
        }
        rc = ushm_open(&h, names[k], 0, 0, 0);

        if (rc == 0) {
            if (ushm_size(h) != SEG_SIZE || !verify(ushm_addr(h))) {
                final_bad++;
                printf("#   %s at the end: size %zu or record wrong\n",
                       names[k], ushm_size(h));
            }
            ushm_close(h);
            if (ushm_unlink(names[k]) != 0) {
                final_bad++;
                printf("#   unlink %s: %s\n", names[k], ushm_last_error());
            }
        } else if (rc != -ENOENT) {
            final_bad++;
            printf("#   open %s at the end: %s\n", names[k], ushm_last_error());
        }
        ushm_unlink(names[k]); /* a size-0 object, should one be left */
    }

    left_dev = fc_count_devshm(prefix, NULL, 0);
    left_sysv = fc_count_sysv(ours, NULL);
    if (left_dev || left_sysv || fc_count_fds() != fds0 ||
        fc_count_maps() != maps0 || sum.leak)
        snprintf(left, sizeof left, "%d /dev/shm entries, %d SysV segments, "
                 "%d descriptors, %d mappings, %lu workers leaked", left_dev,
                 left_sysv, fc_count_fds() - fds0, fc_count_maps() - maps0,
                 sum.leak);
    else
        snprintf(left, sizeof left, "none");

    snprintf(how, sizeof how, "%d processes x %d ops: open-or-create one of "
             "%d names (%zu KiB), verify + rewrite a checksummed record under "
             "the segment's ushm_mutex_t, close; 1 in 4 also join without "
             "USHM_CREATE; 1 in 8 unlink%s", nkids, ops, NNAMES,
             (size_t)SEG_SIZE / KiB, !fc_is_posix() ? ""
             : atomic ? "; published whole: a join never finds an empty "
                        "object"
             : "; fallback protocol: joins that find an empty object "
               "counted");
    snprintf(figures, sizeof figures, "ops=%lu secs=%.2f ops_per_s=%.0f "
             "creates=%lu unlinks=%lu unlink_enoent=%lu joins=%lu "
             "join_enoent=%lu open_failures=%lu join_failures=%lu "
             "size_wrong=%lu checksum_wrong=%lu close_failures=%lu "
             "unlink_failures=%lu lock_failures=%lu ownerdead=%lu "
             "workers_died=%d final_wrong=%d join_found_empty=%lu",
             sum.ops, (t1 - t0) / 1e9, sum.ops / ((t1 - t0) / 1e9),
             sum.creates, sum.unlinks, sum.unlink_enoent, sum.joins,
             sum.join_enoent, sum.open_fail, sum.join_fail, sum.size_bad,
             sum.sum_bad, sum.close_fail, sum.unlink_fail, sum.lock_fail,
             sum.ownerdead, died, final_bad, sum.join_empty);
    ok = sum.ops == (unsigned long)nprocs * (unsigned long)ops &&
         sum.open_fail == 0 && sum.join_fail == 0 && sum.size_bad == 0 &&
         sum.sum_bad == 0 && sum.close_fail == 0 && sum.unlink_fail == 0 &&
         sum.lock_fail == 0 && sum.ownerdead == 0 &&
         died == 0 && final_bad == 0 && !(atomic && sum.join_empty > 0) &&
         strcmp(left, "none") == 0;
    fc_line("STRESS", ok, 4, "open_write_verify", how, figures, left);
    munmap(st, sizeof *st * (size_t)nprocs);

    race_case(4, 2, ops * 2);
    token_ring(nprocs, ops / 4);
    return fc_finish();
}
