/* SPDX-License-Identifier: MIT */
/*
 * ushm_queue_t: what a call does when it cannot go straight on (see
 * queue.c and queue-io.c): the scan of who is attached, a handle used from
 * another thread, a lock held by another handle or by one that is gone,
 * waiting for a message or for room, and the hand-over of a solo
 * producer's lock ("Solo" in queue-io.c).  None of it runs per message
 * while the other side keeps up; queue-io.c's fast paths call it.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "queue-internal.h"

static uint64_t mono_ns(void)
{
    struct timespec ts = ushm__mono_now();

    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ushm__queue_coarse_ns(void)
{
#ifdef CLOCK_MONOTONIC_COARSE
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
    return mono_ns();
}

static struct timespec ts_of(uint64_t ns)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    return ts;
}

/* The deadline of a call with timeout_ms (< 0: none, 0), worked out the
 * first time it is needed, from now. */
static uint64_t deadline_of(long timeout_ms, uint64_t now, uint64_t *deadline_ns)
{
    if (timeout_ms <= 0)
        return 0;
    if (*deadline_ns == 0)
        *deadline_ns = now + (uint64_t)timeout_ms * MS;
    return *deadline_ns;
}

/*
 * Scan the places (see peers_gone) and remember what was found: the live
 * handles and the roles ever attached.  Returns that word, or -EPROTO.
 */
int ushm__queue_peers_scan(struct ushm_queue *q, const char *func, unsigned g,
                      unsigned *seen)
{
    struct q_fixed *f = q->f;
    unsigned live, ever;
    int err;

    /* ever before the scan, not after: a handle sets its bit after storing
     * its role (both release), so a bit read here belongs to a handle that
     * the scan finds attached, or that has gone since.  Read after the
     * scan, the bit of a peer attaching meanwhile would make that peer look
     * gone already (a producer's -EPIPE while consumers were attaching). */
    ever = atomic_load_explicit(&f->ever, memory_order_acquire) & ALL_ROLES;
    if ((err = ushm__queue_scan(q, func, &live)) < 0)
        return err;
    /* One word, so that threads sharing the handle never pair one scan's
     * live handles with another's ever. */
    *seen = live | (ever << 4);
    atomic_store_explicit(&q->live, *seen, memory_order_relaxed);
    atomic_store_explicit(&q->seen_gen, g, memory_order_relaxed);
    atomic_store_explicit(&q->next_scan_ns, ushm__queue_coarse_ns() + SCAN_EVERY_MS * (uint64_t)MS,
                          memory_order_relaxed);
    return 0;
}

/*
 * A call from another thread than the one that attached q: that thread must
 * still hold q's place, or its end has detached q (and the locks, which
 * know holders by their place, could be taken from this one): -EBADF.
 */
static int check_owner(const char *func, const struct ushm_queue *q)
{
    unsigned mine = q->my_role;
    int e = ushm_mutex_trylock(&q->place[q->slot]);

    if (e == -EBUSY)
        return 0;
    if (e < 0)
        return ushm__queue_mutex_failed(e, func, q->f, "the handle's place");
    if (atomic_compare_exchange_strong_explicit(&q->role[q->slot], &mine, 0,
                                                memory_order_acq_rel,
                                                memory_order_relaxed))
        wake_all(q->f);
    ushm_mutex_unlock(&q->place[q->slot]);
    return ushm__fail(EBADF, "%s(%p): the thread that attached this handle "
                      "has ended, which detached it", func, (void *)q->f);
}

int ushm__queue_check_slow(const char *func, const struct ushm_queue *q, int role)
{
    if (q == NULL)
        return ushm__fail(EINVAL, "%s: q is NULL", func);
    if (!(q->flags & role))
        return ushm__fail(EBADF, "%s(%p): the handle was attached without %s",
                          func, (void *)q->f, role == USHM_QUEUE_SEND ?
                          "USHM_QUEUE_SEND" : "USHM_QUEUE_RECV");
    if (q->fork_gen != atomic_load_explicit(&ushm__queue_fork_gen, memory_order_relaxed))
        return ushm__fail(EBADF, "%s(%p): the handle was attached by the "
                          "parent of this process: a child of fork() attaches "
                          "its own", func, (void *)q->f);
    if (!pthread_equal(q->owner, pthread_self()))
        return check_owner(func, q);
    return 0;
}

/* 1 when the holder of lock word w is gone, 0 when it lives, <0: bad word. */
static int holder_gone(struct ushm_queue *q, const char *func, unsigned w)
{
    unsigned i = LOCK_PLACE(w) - 1, r;
    int e;

    if (LOCK_PLACE(w) == 0 || i >= q->places)
        return ushm__fail(EPROTO, "%s(%p): the queue's lock holds 0x%08x: "
                          "the queue's bytes were overwritten", func,
                          (void *)q->f, w);
    r = atomic_load_explicit(&q->role[i], memory_order_acquire);
    if ((r & ROLE_GONE) || (ROLE_TICKET(r) & 0x7fffffu) != LOCK_TICKET(w))
        return 1; /* its handle was detached, or its place taken since */
    e = ushm_mutex_trylock(&q->place[i]);
    if (e == -EBUSY || e == -EDEADLK)
        return 0;
    if (e < 0)
        return ushm__queue_mutex_failed(e, func, q->f, "a place of the queue");
    /* its attaching thread died: detach its handle, as a scan does */
    if (atomic_compare_exchange_strong_explicit(&q->role[i], &r, 0,
                                                memory_order_acq_rel,
                                                memory_order_relaxed))
        wake_all(q->f);
    ushm_mutex_unlock(&q->place[i]);
    return 1;
}

int ushm__queue_lock_wait(struct ushm_queue *q, atomic_uint *lock, const char *func,
                           long timeout_ms, uint64_t *deadline_ns)
{
    unsigned me = lock_word_of(q), w;
    long backoff = 0;

    for (unsigned spin = 0;; spin++) {
        uint64_t now, d, until;
        int gone;

        w = atomic_load_explicit(lock, memory_order_relaxed);
        if (w == 0) {
            if (atomic_compare_exchange_weak_explicit(lock, &w, me,
                                                      memory_order_acquire,
                                                      memory_order_relaxed))
                return TOOK_WAITED;
            continue;
        }
        if (w & LOCK_SOLO) {
            /* A lone producer keeps it between its sends and never gives
             * it back: take it over; ushm__queue_solo_drain() then
             * waits for a send it may be inside of. */
            if (atomic_compare_exchange_strong_explicit(lock, &w, me,
                                                        memory_order_acquire,
                                                        memory_order_relaxed))
                return TOOK_SOLO;
            continue;
        }
        if (spin < 200) { /* a copy under way ends in microseconds */
            ushm__cpu_relax();
            continue;
        }
        if ((gone = holder_gone(q, func, w)) < 0)
            return gone;
        if (gone) {
            /* steal it, keeping the sleepers' flag for our release */
            if (atomic_compare_exchange_strong_explicit(lock, &w,
                                                        me | (w & LOCK_WAITERS),
                                                        memory_order_acquire,
                                                        memory_order_relaxed))
                return TOOK_STOLEN;
            continue;
        }
        now = mono_ns();
        d = deadline_of(timeout_ms == 0 ? 5 : timeout_ms, now, deadline_ns);
        if (timeout_ms >= 0 && now >= d)
            return ushm__fail(ETIMEDOUT, "%s(%p): the queue's lock stayed held "
                              "until the time ran out", func, (void *)q->f);
        if (!(w & LOCK_WAITERS) &&
            !atomic_compare_exchange_strong_explicit(lock, &w, w | LOCK_WAITERS,
                                                     memory_order_relaxed,
                                                     memory_order_relaxed))
            continue;
        /* asleep until a release, at most a scan's slice: a holder that
         * died wakes nobody */
        until = now + SCAN_EVERY_MS * (uint64_t)MS;
        if (timeout_ms >= 0 && d < until)
            until = d;
        {
            struct timespec ts = ts_of(until);

            ushm__wait_on_word(lock, w | LOCK_WAITERS, &ts, &backoff);
        }
    }
}

/* A message to take (consumer: the head seen is kept for the receive that
 * follows, which then reads the producers' line no more), or room.  Its
 * head (a producer's) is the one the call will use: its own last store
 * while no other handle stored since (see send), so that a head
 * overwritten meanwhile cannot make the wait say "ready" to a send that
 * then finds no room, for ever.  A consumer's tail that is not the one it
 * stored (overwritten) is "ready" too: the receive says -EPROTO.  (A solo
 * producer's send goes on from the head it stored, whatever p_last says.) */
static int ready(struct ushm_queue *q, int consumer, uint64_t need)
{
    struct q_fixed *f = q->f;
    unsigned me = lock_word_of(q);
    uint64_t h = !consumer &&
                 (atomic_load_explicit(&f->p_last, memory_order_relaxed) == me ||
                  atomic_load_explicit(&f->plock, memory_order_relaxed) == (me | LOCK_SOLO)) ?
                 q->head_stored : atomic_load_explicit(&f->head, memory_order_seq_cst);
    uint64_t t = atomic_load_explicit(&f->tail, memory_order_seq_cst);

    if (consumer) {
        if (atomic_load_explicit(&f->c_last, memory_order_relaxed) == me &&
            t != q->tail_stored)
            return 1;
        if (h == t)
            return 0;
        atomic_store_explicit(&q->head_seen, h, memory_order_relaxed);
        return 1;
    }
    return h - t > q->ring_size || q->ring_size - (h - t) >= need;
}

/* Wait until the queue has a message (consumer) or room for need bytes, the
 * other side is gone (-EPIPE), or deadline_ns passes (-ETIMEDOUT). */
int ushm__queue_wait(struct ushm_queue *q, const char *func, int consumer,
                    uint64_t need, long ms, uint64_t *deadline_p, int *spun)
{
    struct q_fixed *f = q->f;
    atomic_uint *word = consumer ? &f->c_wait : &f->p_wait;
    unsigned want = consumer ? USHM_QUEUE_SEND : USHM_QUEUE_RECV;
    long backoff = 0;
    int gone;

    if (!*spun && ms != 0 && ushm__spin_worthwhile()) {
        uint64_t start = mono_ns();

        *spun = 1;
        for (unsigned i = 1;; i++) {
            ushm__cpu_relax();
            if (ready(q, consumer, need))
                return 0;
            if (i % 32 == 0 && mono_ns() - start >= (uint64_t)SPIN_NS)
                break;
        }
    }
    for (int force = 0;;) {
        uint64_t now, until, deadline_ns, slice;

        if (ready(q, consumer, need))
            return 0;
        /* a scan when someone attached or detached, or a slice has passed */
        if ((gone = peers_gone(q, func, want, force)) < 0)
            return gone;
        if (gone) {
            if (ready(q, consumer, need))
                return 0;
            return ushm__fail(EPIPE, "%s(%p): %s", func, (void *)f, consumer ?
                              "the queue is empty and no producer is attached "
                              "any more" : "no consumer is attached any more");
        }
        now = mono_ns();
        deadline_ns = deadline_of(ms, now, deadline_p);
        if (ms == 0 || (deadline_ns != 0 && now >= deadline_ns))
            return ushm__fail(ETIMEDOUT, "%s(%p, %ld ms): the queue stayed %s",
                              func, (void *)f, ms, consumer ? "empty" :
                              "too full for the message");
        atomic_store_explicit(word, 1, memory_order_seq_cst);
        /* a solo producer's look at c_wait comes after no fence: the
         * barrier orders it (see "Solo" in send), or short naps do */
        slice = SCAN_EVERY_MS * (uint64_t)MS;
        if (consumer &&
            (atomic_load_explicit(&f->plock, memory_order_seq_cst) & LOCK_SOLO) &&
            ushm__solo_barrier() != 0)
            slice = MS;
        if (ready(q, consumer, need))
            return 0;
        until = now + slice;
        if (deadline_ns != 0 && deadline_ns < until)
            until = deadline_ns;
        {
            struct timespec ts = ts_of(until);

            ushm__wait_on_word(word, 1, &ts, &backoff);
        }
        /* the slice ran out (no wake): look at the peers now, whatever
         * the coarse clock of the scans' schedule says */
        force = mono_ns() + MS >= until;
    }
}

int ushm__queue_solo_drain(struct ushm_queue *q, const char *func, int barrier,
                      long timeout_ms, uint64_t *deadline_ns)
{
    struct q_fixed *f = q->f;
    unsigned me = lock_word_of(q), b;
    int own_thread = pthread_equal(q->owner, pthread_self());

    if (barrier && ushm__solo_barrier() != 0) {
        /* This process cannot make the barrier (a seccomp filter, say,
         * where the solo producer's could): p_busy, stored before that
         * producer looked at the lock, is visible to every CPU well
         * within a millisecond. */
        struct timespec ms1 = { 0, MS };

        nanosleep(&ms1, NULL);
    }
    for (unsigned spin = 0; (b = atomic_load_explicit(&f->p_busy, memory_order_acquire)) != 0; spin++) {
        int gone;

        if (b == me && own_thread) {
            gone = 1; /* ours, from before: this thread is in no send */
        } else if ((gone = holder_gone(q, func, b)) < 0) {
            return gone;
        }
        if (gone) {
            atomic_compare_exchange_strong_explicit(&f->p_busy, &b, 0,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed);
            continue;
        }
        if (spin < 1000) {
            ushm__cpu_relax();
            continue;
        }
        {
            uint64_t now = mono_ns(), d = deadline_of(timeout_ms == 0 ? 5 : timeout_ms,
                                                      now, deadline_ns);
            struct timespec us50 = { 0, 50000L };

            if (timeout_ms >= 0 && now >= d)
                return ushm__fail(ETIMEDOUT, "%s(%p): the queue's lock stayed "
                                  "held (a send of its solo producer) until "
                                  "the time ran out", func, (void *)f);
            nanosleep(&us50, NULL);
        }
    }
    return 0;
}
