/* SPDX-License-Identifier: MIT */
/* ushm_queue_t: send and receive, one message or a batch, the ring, the
 * locks' fast paths, the solo producer (see queue.c; what a call does when it
 * cannot go straight on, waiting included, is queue-wait.c). */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue-internal.h"

/* ---- the handle and the locks ---------------------------------------------- */

/* Every call starts here: its handle, used by the thread that attached it. */
static inline int check_handle(const char *func, const struct ushm_queue *q, int role)
{
    if (q != NULL && (q->flags & role) &&
        q->fork_gen == atomic_load_explicit(&ushm__queue_fork_gen, memory_order_relaxed) &&
        pthread_equal(q->owner, pthread_self()))
        return 0;
    return ushm__queue_check_slow(func, q, role);
}

/*
 * The producers' and the consumers' locks: a word that holds 0 when free,
 * else who holds it: the holder's place (bits 0-6, place + 1), whether
 * someone sleeps on it (LOCK_WAITERS), the ticket of the holder's handle
 * (bits 8-30) and LOCK_SOLO (below).  Taking it is one compare-and-swap,
 * giving it back one exchange (and a wake only when someone sleeps): a
 * robust pthread mutex costs several times that, twice per message.  A
 * holder that died is found through its place as a scan finds it: a ticket
 * that is no longer the place's, or the place's mutex left OWNERDEAD, and
 * the lock is taken from it with a compare-and-swap.  What the lock guards needs no repair
 * (head and tail move in one store each).  A thread that uses a handle
 * after the thread that attached it ended could lose its lock so while it
 * copies: calls from such a thread say -EBADF (see check_owner in
 * queue-wait.c, which also has the waiting for a lock and the theft).
 */

static inline int lease_lock(struct ushm_queue *q, atomic_uint *lock,
                             const char *func, long timeout_ms,
                             uint64_t *deadline_ns)
{
    unsigned w = 0;

    if (atomic_compare_exchange_strong_explicit(lock, &w, lock_word_of(q),
                                                memory_order_acquire,
                                                memory_order_relaxed))
        return TOOK_FREE;
    return ushm__queue_lock_wait(q, lock, func, timeout_ms, deadline_ns);
}

static void lease_unlock(atomic_uint *lock)
{
    if (atomic_exchange_explicit(lock, 0, memory_order_release) & LOCK_WAITERS)
        ushm__wake_word(lock);
}

/* ---- the ring ---------------------------------------------------------------- */

/* Where position pos is in the ring: known_at when pos is known (the last
 * position this handle stored, the common case), else a division. */
static size_t ring_at(const struct ushm_queue *q, uint64_t pos, uint64_t known,
                      size_t known_at)
{
    return pos == known ? known_at : (size_t)(pos % q->ring_size);
}

/* The ring offset need bytes after offset at (need is at most the ring). */
static size_t ring_after(const struct ushm_queue *q, size_t at, uint64_t need)
{
    uint64_t n = (uint64_t)at + need;

    return (size_t)(n >= q->ring_size ? n - q->ring_size : n);
}

/*
 * memcpy() of a message's bytes.  Small ones are copied in pieces of
 * constant size, which the compiler turns into a few loads and stores: the
 * C library's memcpy() (a call, a branch on the size, vector registers)
 * cost about as much as the rest of a send of 64 bytes.
 */
static USHM__ALWAYS_INLINE void copy(unsigned char *restrict d, const unsigned char *restrict s, size_t n)
{
    if (n > 256) {
        memcpy(d, s, n);
        return;
    }
    while (n >= 64) {
        memcpy(d, s, 64);
        d += 64;
        s += 64;
        n -= 64;
    }
    if (n >= 32) {
        memcpy(d, s, 32);
        d += 32;
        s += 32;
        n -= 32;
    }
    if (n >= 16) {
        memcpy(d, s, 16);
        d += 16;
        s += 16;
        n -= 16;
    }
    if (n >= 8) {
        memcpy(d, s, 8);
        d += 8;
        s += 8;
        n -= 8;
    }
    while (n-- > 0)
        *d++ = *s++;
}

/* Copy n bytes into the ring at offset at, wrapping around. */
static USHM__ALWAYS_INLINE void ring_put(const struct ushm_queue *q, size_t at, const void *src, size_t n)
{
    size_t first = (size_t)q->ring_size - at;

    if (n <= first) {
        copy(q->ring + at, src, n);
    } else {
        copy(q->ring + at, src, first);
        copy(q->ring, (const unsigned char *)src + first, n - first);
    }
}

static USHM__ALWAYS_INLINE void ring_get(const struct ushm_queue *q, size_t at, void *dst, size_t n)
{
    size_t first = (size_t)q->ring_size - at;

    if (n <= first) {
        copy(dst, q->ring + at, n);
    } else {
        copy(dst, q->ring + at, first);
        copy((unsigned char *)dst + first, q->ring, n - first);
    }
}

/* The bytes a record of len bytes takes: whole cells, at least one. */
static uint64_t record_size(size_t len)
{
    return len == 0 ? LINE : ((uint64_t)len + LINE - 1) & ~(uint64_t)(LINE - 1);
}

/* A record's header: its length, and the length's complement keyed by
 * where the record starts, so that a header left from an earlier lap of the
 * ring (which a head moved forward by scribbling would expose) never passes
 * for the one that belongs there now. */
static uint64_t record_header(uint32_t len, uint64_t pos)
{
    return (uint64_t)len | (uint64_t)(~len ^ (uint32_t)(pos / LINE)) << 32;
}

/* The header word of the other cells of a record: a length no message has
 * (so a tail that lands there is overwritten), keyed by the cell's position
 * as a record's is.  A receive checks them after its copy: a producer that
 * took a record's cells (trusting a tail that a buggy peer moved forward)
 * wrote its own headers there first, so a message partly rewritten is
 * -EPROTO, not torn. */
#define CELL_MORE 0xffffffffu

static void put_more(const struct ushm_queue *q, size_t at, uint64_t pos, uint64_t need)
{
    for (uint64_t j = LINE; j < need; j += LINE) {
        at = ring_after(q, at, LINE);
        atomic_store_explicit(&q->desc[at / LINE], record_header(CELL_MORE, pos + j),
                              memory_order_relaxed);
    }
}

/* 1 when the header words of the record of len bytes at position t (ring
 * offset at) are all still its own. */
static int cells_intact(const struct ushm_queue *q, size_t at, uint64_t t, uint32_t len)
{
    uint64_t need = record_size(len);

    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&q->desc[at / LINE], memory_order_relaxed) !=
        record_header(len, t))
        return 0;
    for (uint64_t j = LINE; j < need; j += LINE) {
        at = ring_after(q, at, LINE);
        if (atomic_load_explicit(&q->desc[at / LINE], memory_order_relaxed) !=
            record_header(CELL_MORE, t + j))
            return 0;
    }
    return 1;
}

/* The producers' last: the newest record's length, and its complement keyed
 * by the head that ends it (a record that a later head ends is not it; a
 * length scribbled on does not match). */
static uint64_t last_of(uint32_t len, uint64_t end)
{
    return (uint64_t)len << 32 | (uint32_t)(~len ^ (uint32_t)(end / LINE));
}

static int overwritten(const char *func, const struct ushm_queue *q,
                       const char *what, uint64_t a, uint64_t b)
{
    return ushm__fail(EPROTO, "%s(%p): the queue's bytes were overwritten "
                      "(%s: %llu, %llu)", func, (void *)q->f, what,
                      (unsigned long long)a, (unsigned long long)b);
}

/*
 * Solo.  A producer that is the only one attached, and whose sends have
 * found the producers' lock free 16 times in a row, keeps the lock between
 * its sends: it leaves LOCK_SOLO | its word there instead of 0.  A send of
 * a solo producer then takes no lock and makes no fence, as a bare ring's
 * would (every locked instruction after the copy waited for the cache
 * lines the consumer was reading: about a third of a 64-byte send).  It
 * stores its word in p_busy, checks that the lock still says solo, sends,
 * and stores 0 in p_busy.  Another producer (or another thread of the
 * handle) takes the lock over with a compare-and-swap, then calls the
 * system's barrier, which every CPU running the solo producer passes (Linux's
 * membarrier(2), to which every process that may go solo registers): after
 * it either the solo producer's p_busy is seen, and the taker waits for it
 * to be 0 (or its holder dead), or the solo producer's look at the lock
 * comes after the barrier and sees it taken.  Whoever takes the lock from a
 * holder that is gone does the same, and whoever finds p_busy set after
 * taking it waits for it.  A consumer about to sleep, which must not miss
 * the solo producer's next head (its load of c_wait has no fence before
 * it), calls the barrier too, or, where the system refuses it, sleeps in
 * slices of 1 ms while a producer is solo.  Where there is no such barrier
 * (configure --with-queue-solo=none, every system but Linux), or this
 * process cannot register, producers never go solo.  The taker's side is
 * ushm__queue_solo_drain() in queue-wait.c.
 */
#define SOLO_AFTER 16

/*
 * The messages m[0 .. n-1], holding the producers' lock (solo or not) at
 * head h: as many as there is room for, published by one store of head
 * (so a consumer sees the whole batch or none of it).  0 and *done >= 1
 * sent (*woke: a consumer may sleep), 1 no room for m[0], or -EPROTO.
 */
static USHM__ALWAYS_INLINE int put(struct ushm_queue *q, const char *func,
                                   const struct iovec *m, size_t n, uint64_t h,
                                   int solo, int *woke, size_t *done)
{
    struct q_fixed *f = q->f;
    uint64_t t = q->tail_seen;
    size_t at = ring_at(q, h, q->head_stored, q->head_at), i, len = 0;

    for (i = 0; i < n; i++) {
        uint64_t need = record_size(m[i].iov_len);

        if (h - t > q->ring_size || q->ring_size - (h - t) < need) {
            t = atomic_load_explicit(&f->tail, memory_order_acquire);
            /* nor does tail: one behind what was seen was overwritten */
            if (t < q->tail_seen)
                return overwritten(func, q, "tail, the tail seen", t, q->tail_seen);
            q->tail_seen = t;
        }
        /* head never goes back: one that did was overwritten, and writing
         * there would tear the records after it */
        if (h - t > q->ring_size ||
            (i == 0 && (h % LINE != 0 || h < q->head_stored)))
            return overwritten(func, q, "head, tail", h, t);
        if (q->ring_size - (h - t) < need)
            break;
        len = m[i].iov_len;
        atomic_store_explicit(&q->desc[at / LINE], record_header((uint32_t)len, h),
                              memory_order_relaxed);
        if (need > LINE)
            put_more(q, at, h, need);
        if (len > 0)
            ring_put(q, at, m[i].iov_base, len);
        h += need;
        at = ring_after(q, at, need);
    }
    if (i == 0)
        return 1;
    atomic_store_explicit(&f->last, last_of((uint32_t)len, h), memory_order_relaxed);
    atomic_store_explicit(&f->sent,
                          atomic_load_explicit(&f->sent, memory_order_relaxed) + i,
                          memory_order_relaxed);
    /* p_last before head: whoever finds its own word there knows that no
     * head was stored after its own */
    atomic_store_explicit(&f->p_last, lock_word_of(q), memory_order_relaxed);
    if (solo)
        atomic_store_explicit(&f->head, h, memory_order_release);
    else
        atomic_store_explicit(&f->head, h, memory_order_seq_cst);
    q->head_stored = h;
    q->head_at = at;
    *woke = atomic_load_explicit(&f->c_wait, memory_order_seq_cst) != 0;
    *done = i;
    return 0;
}

/* The end of a send that took the lock: give it back, or keep it solo. */
static void release_or_solo(struct ushm_queue *q, int took)
{
    struct q_fixed *f = q->f;
    unsigned streak = took == TOOK_FREE ?
                      atomic_load_explicit(&q->solo_streak, memory_order_relaxed) + 1 : 0;
    unsigned w = lock_word_of(q);

    atomic_store_explicit(&q->solo_streak, streak, memory_order_relaxed);
    if (streak >= SOLO_AFTER &&
        atomic_load_explicit(&q->producers_seen, memory_order_relaxed) == 1 &&
        pthread_equal(q->owner, pthread_self()) && ushm__solo_ready() &&
        atomic_compare_exchange_strong_explicit(&f->plock, &w, w | LOCK_SOLO,
                                                memory_order_seq_cst,
                                                memory_order_relaxed)) {
        /* From here on this producer's loads of c_wait come after no
         * fence: one now, so that a consumer that looked at the lock
         * before it turned solo (and so made no barrier) is seen. */
        atomic_thread_fence(memory_order_seq_cst);
        return;
    }
    lease_unlock(&f->plock);
}

/* A send of n >= 1 messages, checked: as many as there is room for once
 * there is room for the first (see put). */
static USHM__ALWAYS_INLINE ssize_t send_many(struct ushm_queue *q, const char *func,
                                             const struct iovec *m, size_t n,
                                             long timeout_ms)
{
    uint64_t need = record_size(m[0].iov_len), deadline = 0;
    int err, spun = 0;

    for (;;) {
        struct q_fixed *f = q->f;
        unsigned me = lock_word_of(q);
        uint64_t h;
        size_t done = 0;
        int woke = 0, rc, took;

        if ((err = peers_gone(q, func, USHM_QUEUE_RECV, 0)) != 0)
            return err < 0 ? err : ushm__fail(EPIPE, "%s(%p): no consumer is "
                                              "attached any more", func,
                                              (void *)f);
        if (atomic_load_explicit(&f->plock, memory_order_relaxed) == (me | LOCK_SOLO) &&
            pthread_equal(q->owner, pthread_self())) {
            atomic_store_explicit(&f->p_busy, me, memory_order_relaxed);
            /* no fence: a taker's barrier orders these two (see "Solo") */
            atomic_signal_fence(memory_order_seq_cst);
            if (atomic_load_explicit(&f->plock, memory_order_relaxed) == (me | LOCK_SOLO)) {
                rc = put(q, func, m, n, q->head_stored, 1, &woke, &done);
                atomic_store_explicit(&f->p_busy, 0, memory_order_release);
                if (rc < 0)
                    return rc;
                if (rc == 0) {
                    if (woke)
                        wake(&f->c_wait);
                    return (ssize_t)done;
                }
                goto wait;
            }
            atomic_store_explicit(&f->p_busy, 0, memory_order_release);
        }
        if ((took = lease_lock(q, &f->plock, func, timeout_ms, &deadline)) < 0)
            return took;
        if ((took == TOOK_STOLEN || took == TOOK_SOLO ||
             atomic_load_explicit(&f->p_busy, memory_order_acquire) != 0) &&
            (err = ushm__queue_solo_drain(q, func, took == TOOK_STOLEN || took == TOOK_SOLO,
                              timeout_ms, &deadline)) < 0) {
            lease_unlock(&f->plock);
            return err;
        }
        /* The head this handle stored, unless another stored one since
         * (whoever stores head stores p_last first): a look at head would
         * wait for the line the consumers poll.  The same rule as ready()'s,
         * so that a wait and a send never disagree about room. */
        if (atomic_load_explicit(&f->p_last, memory_order_relaxed) == me)
            h = q->head_stored;
        else
            h = atomic_load_explicit(&f->head, memory_order_relaxed);
        rc = put(q, func, m, n, h, 0, &woke, &done);
        if (rc < 0) {
            lease_unlock(&f->plock);
            return rc;
        }
        if (rc == 0) {
            release_or_solo(q, took);
            if (woke)
                wake(&f->c_wait);
            return (ssize_t)done;
        }
        lease_unlock(&f->plock);
    wait:
        if ((err = ushm__queue_wait(q, func, 0, need, timeout_ms, &deadline, &spun)) < 0)
            return err;
    }
}

int ushm_queue_send(ushm_queue_t *q, const void *msg, size_t len,
                    long timeout_ms)
{
    static const char func[] = "ushm_queue_send";
    struct iovec one;
    ssize_t r;
    int err;

    if ((err = check_handle(func, q, USHM_QUEUE_SEND)) < 0)
        return err;
    if (msg == NULL && len > 0)
        return ushm__fail(EINVAL, "%s(%p): msg is NULL", func, (void *)q->f);
    if (len > q->msg_max)
        return ushm__fail(EMSGSIZE, "%s(%p, %zu bytes): longer than the "
                          "queue's %zu (ushm_queue_msg_max)", func,
                          (void *)q->f, len, q->msg_max);
    one.iov_base = (void *)(uintptr_t)msg;
    one.iov_len = len;
    r = send_many(q, func, &one, 1, timeout_ms);
    return r < 0 ? (int)r : 0;
}

/* The most messages the ring can hold at once: a cell each. */
static size_t batch_most(const struct ushm_queue *q, size_t n)
{
    uint64_t cells = q->ring_size / LINE;

    return (uint64_t)n > cells ? (size_t)cells : n;
}

ssize_t ushm_queue_sendv(ushm_queue_t *q, const struct iovec *msgs, size_t n,
                         long timeout_ms)
{
    static const char func[] = "ushm_queue_sendv";
    int err;

    if ((err = check_handle(func, q, USHM_QUEUE_SEND)) < 0)
        return err;
    if (msgs == NULL || n == 0)
        return ushm__fail(EINVAL, "%s(%p): %s", func, (void *)q->f,
                          msgs == NULL ? "msgs is NULL" : "n is 0: no message");
    /* no more than the ring has cells can be sent at once: the rest are
     * not looked at, so that a loop over a long array costs what its
     * messages do, not their number squared; those looked at are checked
     * before any is sent (nothing sent on -EINVAL or -EMSGSIZE) */
    n = batch_most(q, n);
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].iov_base == NULL && msgs[i].iov_len > 0)
            return ushm__fail(EINVAL, "%s(%p): msgs[%zu].iov_base is NULL",
                              func, (void *)q->f, i);
        if (msgs[i].iov_len > q->msg_max)
            return ushm__fail(EMSGSIZE, "%s(%p): msgs[%zu] has %zu bytes, more "
                              "than the queue's %zu (ushm_queue_msg_max); "
                              "nothing was sent", func, (void *)q->f, i,
                              msgs[i].iov_len, q->msg_max);
    }
    return send_many(q, func, msgs, n, timeout_ms);
}

/* The length of the record at t, h - t > 0 bytes being published, or
 * -EPROTO.  One record (a consumer that keeps up) is described by last,
 * on the line just read for head; else its header is read. */
static int64_t record_len(const struct ushm_queue *q, const char *func,
                          uint64_t h, uint64_t t, size_t at, int *from_desc)
{
    uint64_t last = atomic_load_explicit(&q->f->last, memory_order_relaxed), d;
    uint32_t len;

    *from_desc = 0;
    if (last == last_of((uint32_t)(last >> 32), h) &&
        record_size(last >> 32) == h - t && (last >> 32) <= q->msg_max)
        return (int64_t)(last >> 32);
    *from_desc = 1;
    d = atomic_load_explicit(&q->desc[at / LINE], memory_order_relaxed);
    len = (uint32_t)d;
    if (d != record_header(len, t) || len > q->msg_max || record_size(len) > h - t)
        return overwritten(func, q, "a message's length", len, h - t);
    return len;
}

/*
 * A receive of up to n >= 1 messages, checked: once there is one, the
 * oldest ones there, each into b[i] with its length in lens[i], taken by one
 * store of tail.  It ends before a message that does not fit its buffer (the
 * first one: -EMSGSIZE, its length in lens[0]) or whose bytes are not
 * right (the first one: -EPROTO); the next call says why.
 */
static USHM__ALWAYS_INLINE ssize_t recv_many(struct ushm_queue *q, const char *func,
                                             const struct iovec *b, size_t *lens,
                                             size_t n, long timeout_ms)
{
    uint64_t deadline = 0;
    int err, spun = 0;

    for (;;) {
        struct q_fixed *f = q->f;
        unsigned me = lock_word_of(q);
        uint64_t h, t;
        int64_t len = 0;
        size_t at, i;
        int woke, from_desc;

        if ((err = lease_lock(q, &f->clock, func, timeout_ms, &deadline)) < 0)
            return err;
        /* tail is on this side's own line: read, never taken on trust.
         * One that is not what this handle stored, when no other stored
         * one since, was overwritten: a producer may have taken the cells
         * it seemed to free, and the records there may be partly new. */
        t = atomic_load_explicit(&f->tail, memory_order_relaxed);
        if (atomic_load_explicit(&f->c_last, memory_order_relaxed) == me &&
            t != q->tail_stored) {
            lease_unlock(&f->clock);
            return overwritten(func, q, "tail, the tail stored", t, q->tail_stored);
        }
        /* The head this handle last read (or its wait saw) says "not
         * empty" without a look at the producers' line, which would cost
         * a cache-line transfer per message between two CPUs.  A batch
         * looks, to take all there is. */
        h = atomic_load_explicit(&q->head_seen, memory_order_relaxed);
        if (n > 1 || h == t || h - t > q->ring_size) {
            h = atomic_load_explicit(&f->head, memory_order_acquire);
            atomic_store_explicit(&q->head_seen, h, memory_order_relaxed);
        }
        if (h == t) {
            lease_unlock(&f->clock);
            goto wait;
        }
        /* tail never goes back: behind what this handle stored, it was
         * overwritten, and the records there may be partly new ones */
        if (h - t > q->ring_size || t % LINE != 0 || t < q->tail_stored) {
            lease_unlock(&f->clock);
            return overwritten(func, q, "head, tail", h, t);
        }
        at = ring_at(q, t, q->tail_stored, q->tail_at);
        for (i = 0; i < n && t != h; i++) {
            uint64_t rs;

            if ((len = record_len(q, func, h, t, at, &from_desc)) < 0)
                break;
            if ((size_t)len > b[i].iov_len) {
                if (i == 0)
                    lens[0] = (size_t)len;
                break;
            }
            if (len > 0)
                ring_get(q, at, b[i].iov_base, (size_t)len);
            /* a record behind others: its cells, after the copy (see
             * CELL_MORE); the newest one, described by last, was written
             * after any that a producer could have taken */
            if (from_desc && !cells_intact(q, at, t, (uint32_t)len)) {
                len = overwritten(func, q, "a message's cells", (uint64_t)len, t);
                break;
            }
            lens[i] = (size_t)len;
            rs = record_size((size_t)len);
            t += rs;
            at = ring_after(q, at, rs);
        }
        if (i == 0) {
            lease_unlock(&f->clock);
            if (len < 0)
                return (ssize_t)len;
            return ushm__fail(EMSGSIZE, "%s(%p, %zu bytes): the next message "
                              "has %zu bytes; it stays in the queue", func,
                              (void *)f, b[0].iov_len, (size_t)len);
        }
        atomic_store_explicit(&f->received,
                              atomic_load_explicit(&f->received, memory_order_relaxed) + i,
                              memory_order_relaxed);
        atomic_store_explicit(&f->c_last, me, memory_order_relaxed);
        atomic_store_explicit(&f->tail, t, memory_order_seq_cst);
        q->tail_stored = t;
        q->tail_at = at;
        woke = atomic_load_explicit(&f->p_wait, memory_order_seq_cst) != 0;
        lease_unlock(&f->clock);
        if (woke)
            wake(&f->p_wait);
        return (ssize_t)i;
    wait:
        if ((err = ushm__queue_wait(q, func, 1, 0, timeout_ms, &deadline, &spun)) < 0)
            return err;
    }
}

int ushm_queue_recv(ushm_queue_t *q, void *buf, size_t cap, size_t *lenp,
                    long timeout_ms)
{
    static const char func[] = "ushm_queue_recv";
    struct iovec one;
    ssize_t r;
    int err;

    if ((err = check_handle(func, q, USHM_QUEUE_RECV)) < 0)
        return err;
    if (lenp == NULL)
        return ushm__fail(EINVAL, "%s(%p): len is NULL", func, (void *)q->f);
    if (buf == NULL && cap > 0)
        return ushm__fail(EINVAL, "%s(%p): buf is NULL", func, (void *)q->f);
    one.iov_base = buf;
    one.iov_len = cap;
    r = recv_many(q, func, &one, lenp, 1, timeout_ms);
    return r < 0 ? (int)r : 0;
}

ssize_t ushm_queue_recvv(ushm_queue_t *q, const struct iovec *bufs, size_t *lens,
                         size_t n, long timeout_ms)
{
    static const char func[] = "ushm_queue_recvv";
    int err;

    if ((err = check_handle(func, q, USHM_QUEUE_RECV)) < 0)
        return err;
    if (bufs == NULL || lens == NULL || n == 0)
        return ushm__fail(EINVAL, "%s(%p): %s", func, (void *)q->f,
                          bufs == NULL ? "bufs is NULL" : lens == NULL ?
                          "lens is NULL" : "n is 0: no buffer");
    n = batch_most(q, n); /* as in sendv */
    for (size_t i = 0; i < n; i++)
        if (bufs[i].iov_base == NULL && bufs[i].iov_len > 0)
            return ushm__fail(EINVAL, "%s(%p): bufs[%zu].iov_base is NULL",
                              func, (void *)q->f, i);
    return recv_many(q, func, bufs, lens, n, timeout_ms);
}
