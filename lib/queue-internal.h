/* SPDX-License-Identifier: MIT */
/* What the files of the message queue share: lib/queue.c (its design), queue-places.c, queue-io.c. */
#ifndef USHM_QUEUE_INTERNAL_H
#define USHM_QUEUE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "queue.h"
#include "sync.h"
#include "sync/internal.h" /* ushm__wait_on_word, ushm__wake_word */

/* Lock-free 32-bit and 64-bit atomics for the queue's own words, which are
 * aligned to their size.  ATOMIC_LLONG_LOCK_FREE says 1 ("sometimes") where
 * a long long in a struct may be less aligned than its size: clang's i386,
 * whose 8-byte atomics are lock-free when aligned (cmpxchg8b), as they are
 * here; the compilers that have it are asked about aligned ones. */
#if defined(__GNUC__) || defined(__clang__)
_Static_assert(__atomic_always_lock_free(4, 0) && __atomic_always_lock_free(8, 0),
               "ushm_queue_t needs lock-free 32-bit and 64-bit atomics");
#elif ATOMIC_INT_LOCK_FREE != 2 || ATOMIC_LLONG_LOCK_FREE != 2
#error "ushm_queue_t needs lock-free 32-bit and 64-bit atomics"
#endif

#define LINE 64
#define ALL_ROLES (USHM_QUEUE_SEND | USHM_QUEUE_RECV)
#define ROLE_GONE 0x4u          /* detached from another thread (see detach) */
#define ROLE_TICKET(r) ((r) >> 8)
#define SCAN_EVERY_MS 150
#define WATCH_MAX 4             /* peers whose end a call notices by a load */
#define CLOCK_EVERY 64          /* calls between two looks at the clock */
#define SPIN_NS 20000L
#define MS 1000000L

/* ---- the shared layout -------------------------------------------------- */

struct q_fixed {
    /* 0: written once, at set-up */
    atomic_uint tag;
    uint32_t spare0_;
    _Atomic uint64_t bytes;
    uint64_t probe;             /* only ever copied onto itself */
    unsigned char pad0_[LINE - 24];
    /* 64, 128: the producers' and the consumers' lines, which only they
     * touch: the lock (see lease_lock), the lock word of the holder that
     * last stored head (tail), and the count of messages */
    atomic_uint plock;
    atomic_uint p_last;
    _Atomic uint64_t sent;
    atomic_uint p_busy;         /* a solo producer's lock word while it is
                                   inside a send (queue-io.c, "solo") */
    unsigned char pad4_[LINE - 20];
    atomic_uint clock;
    atomic_uint c_last;
    _Atomic uint64_t received;
    unsigned char pad5_[LINE - 16];
    /* 192, 256: head and tail, each alone on the line the other side reads
     * (another store there per message is another transfer of the line) */
    _Atomic uint64_t head;
    _Atomic uint64_t last;      /* the newest record's length << 32 | the
                                   key of the head after it (queue-io.c) */
    unsigned char pad1_[LINE - 16];
    _Atomic uint64_t tail;
    unsigned char pad2_[LINE - 8];
    /* 320: rarely written */
    atomic_uint c_wait;         /* 1: a consumer may sleep on it */
    atomic_uint p_wait;         /* 1: a producer may sleep on it */
    atomic_uint gen;            /* + 1 on every attach and detach */
    atomic_uint ever;           /* roles ever attached */
    unsigned char pad3_[LINE - 16];
};

_Static_assert(sizeof(struct q_fixed) == 6 * LINE, "the fixed part is 384 bytes");
_Static_assert(sizeof(ushm_mutex_t) == LINE, "a place is a line");
_Static_assert(offsetof(struct q_fixed, sent) == 72 &&
               offsetof(struct q_fixed, p_busy) == 80 &&
               offsetof(struct q_fixed, received) == 136 &&
               offsetof(struct q_fixed, head) == 192 &&
               offsetof(struct q_fixed, tail) == 256 &&
               offsetof(struct q_fixed, c_wait) == 320,
               "the same offsets on every ABI");

/* The tag: "UQ", the layout's version, the C library and the pointer size
 * (which fix the ushm_mutex_t inside, a pthread mutex).  Layout 4: records
 * in whole 64-byte cells, their headers in an array of their own (3: the
 * header before the bytes, keyed by the record's position). */
#define TAG_MAGIC 0x5551u
#define TAG_LAYOUT 4u
#define LIBC_GLIBC 1u
#define LIBC_MUSL 2u
#define LIBC_OTHER 3u
#if defined(__GLIBC__) && !defined(__UCLIBC__)
#define THIS_LIBC LIBC_GLIBC
#elif defined(__linux__) && !defined(__UCLIBC__) && !defined(__BIONIC__) && \
      !defined(__ANDROID__)
#define THIS_LIBC LIBC_MUSL
#else
#define THIS_LIBC LIBC_OTHER
#endif
#define Q_TAG ((TAG_MAGIC << 16) | (TAG_LAYOUT << 12) | (THIS_LIBC << 8) | \
               ((unsigned)sizeof(void *) << 4))

/* Where everything is, from bytes alone. */
struct q_layout {
    unsigned places;
    size_t role_off, place_off, ring_off, desc_off;
    uint64_t ring;
};

/* ---- the handle, and the handles of this process ------------------------ */

struct ushm_queue {
    struct q_fixed *f;
    atomic_uint *role;
    ushm_mutex_t *place;
    unsigned char *ring;
    _Atomic uint64_t *desc;     /* a record's header, per cell of the ring */
    uint64_t ring_size;
    size_t bytes, msg_max;
    unsigned places, slot, my_role;
    unsigned lock_word;         /* this handle in a lock word (below) */
    int flags;
    unsigned fork_gen;
    pthread_t owner;
    /* What this handle last found of its peers (any of its threads). */
    atomic_uint seen_gen;
    atomic_uint live;           /* ALL_ROLES bits with a live handle, and
                                   << 4 those ever attached, at that scan */
    _Atomic uint64_t next_scan_ns;
    /* The peers' places found live by that scan, each by a word that the
     * system changes when its holder ends and the value it had (see
     * peers_gone); watch_n > WATCH_MAX: not watchable, read the clock. */
    atomic_uint watch_n;
    atomic_uintptr_t watch[WATCH_MAX];
    atomic_uint watch_v[WATCH_MAX];
    atomic_uint clock_in;       /* calls left until the clock is read */
    atomic_uint producers_seen; /* live producer handles at the last scan */
    atomic_uint solo_streak;    /* sends in a row that found the lock free */
    uint64_t tail_seen;         /* under the producers' lock */
    uint64_t head_stored;       /* the last head this handle stored */
    uint64_t tail_stored;       /* the last tail this handle stored */
    size_t head_at, tail_at;    /* where those two are in the ring */
    _Atomic uint64_t head_seen; /* written under the consumers' lock */
    struct ushm_queue *next;    /* the registry */
};

/*
 * The producers' and the consumers' locks (queue-io.c): a word that holds 0
 * when free, else who holds it: the holder's place (bits 0-6, place + 1),
 * whether someone sleeps on it (LOCK_WAITERS), the ticket of the holder's
 * handle (bits 8-30), and LOCK_SOLO for a lone producer that keeps the
 * producers' lock between its sends.
 */
#define LOCK_PLACE(w) ((w) & 0x7fu)
#define LOCK_WAITERS 0x80u
#define LOCK_TICKET(w) (((w) >> 8) & 0x7fffffu)
#define LOCK_SOLO 0x80000000u

static inline unsigned lock_word_of(const struct ushm_queue *q)
{
    return q->lock_word;
}

/* queue-solo-*.c: the barrier that makes solo producers safe.  ready: 1
 * when this process may be one (registered for the barrier, once); the
 * barrier: every CPU running a thread of such a process passes a full
 * memory barrier before it returns 0, or -1 where the system refuses it. */
USHM__HIDDEN int ushm__solo_ready(void);
USHM__HIDDEN int ushm__solo_barrier(void);
USHM__HIDDEN void ushm__solo_forget(void); /* in a child of fork() */

/* queue.c: + 1 in every child of fork() */
USHM__HIDDEN extern atomic_uint ushm__queue_fork_gen;

/* queue-places.c */
USHM__HIDDEN int ushm__queue_mutex_failed(int e, const char *func, const void *mem,
                                          const char *what);
USHM__HIDDEN int ushm__queue_role_bad(unsigned r);
USHM__HIDDEN int ushm__queue_scan(struct ushm_queue *q, const char *func, unsigned *live);
USHM__HIDDEN int ushm__queue_take_place(struct ushm_queue *q, int flags);

/* ---- waking ---------------------------------------------------------------- */

static inline void wake(atomic_uint *w)
{
    if (atomic_exchange_explicit(w, 0, memory_order_seq_cst) != 0)
        ushm__wake_word(w);
}

/* Everyone waiting looks again: at the queue and at who is attached. */
static inline void wake_all(struct q_fixed *f)
{
    atomic_fetch_add_explicit(&f->gen, 1, memory_order_seq_cst);
    atomic_store_explicit(&f->c_wait, 1, memory_order_relaxed);
    atomic_store_explicit(&f->p_wait, 1, memory_order_relaxed);
    wake(&f->c_wait);
    wake(&f->p_wait);
}

/* queue-wait.c: the slow paths of queue-io.c (see there) */
USHM__HIDDEN int ushm__queue_peers_scan(struct ushm_queue *q, const char *func,
                                        unsigned g, unsigned *seen);
USHM__HIDDEN int ushm__queue_check_slow(const char *func, const struct ushm_queue *q,
                                        int role);
USHM__HIDDEN int ushm__queue_lock_wait(struct ushm_queue *q, atomic_uint *lock,
                                       const char *func, long timeout_ms,
                                       uint64_t *deadline_ns);
USHM__HIDDEN int ushm__queue_wait(struct ushm_queue *q, const char *func, int consumer,
                                  uint64_t need, long ms, uint64_t *deadline_p, int *spun);
USHM__HIDDEN int ushm__queue_solo_drain(struct ushm_queue *q, const char *func,
                                        int barrier, long timeout_ms,
                                        uint64_t *deadline_ns);
/* CLOCK_MONOTONIC_COARSE where there is one (a tick's resolution, for the
 * scans' schedule), in ns */
USHM__HIDDEN uint64_t ushm__queue_coarse_ns(void);

/* What taking a lock found (>= 0) : free (TOOK_FREE), after waiting for
 * others (TOOK_WAITED), from a holder that is gone (TOOK_STOLEN), or from a
 * solo producer (TOOK_SOLO).  Only TOOK_FREE can mean that no other handle
 * held it since this one. */
#define TOOK_FREE 0
#define TOOK_STOLEN 1
#define TOOK_SOLO 2
#define TOOK_WAITED 3

/* ---- the news of the peers ------------------------------------------------- */

/*
 * Whether the last scan's news is still good without a new scan: no peer
 * that it found alive has ended since (the words it watches are unchanged),
 * and SCAN_EVERY_MS has not passed, which is looked at every CLOCK_EVERY
 * calls only.  A clock read per call cost as much as the rest of a send of
 * 64 bytes between two CPUs (a system call's page, read under a sequence
 * lock); peers that cannot be watched so (more than WATCH_MAX, or a mutex
 * without such a word) have the clock read on every call instead.
 */
static USHM__ALWAYS_INLINE int news_fresh(struct ushm_queue *q)
{
    unsigned n = atomic_load_explicit(&q->watch_n, memory_order_relaxed), left;

    if (n > WATCH_MAX)
        return ushm__queue_coarse_ns() < atomic_load_explicit(&q->next_scan_ns, memory_order_relaxed);
    for (unsigned i = 0; i < n; i++) {
        const atomic_uint *w = (const atomic_uint *)atomic_load_explicit(
            &q->watch[i], memory_order_relaxed);

        if (atomic_load_explicit(w, memory_order_relaxed) !=
            atomic_load_explicit(&q->watch_v[i], memory_order_relaxed))
            return 0;
    }
    left = atomic_load_explicit(&q->clock_in, memory_order_relaxed);
    if (left > 0) {
        atomic_store_explicit(&q->clock_in, left - 1, memory_order_relaxed);
        return 1;
    }
    atomic_store_explicit(&q->clock_in, CLOCK_EVERY, memory_order_relaxed);
    return ushm__queue_coarse_ns() < atomic_load_explicit(&q->next_scan_ns, memory_order_relaxed);
}

/*
 * 1 when the other side (want: ROLE bits of the peers this call needs) has
 * had a handle attached and has none now; 0 otherwise; or -EPROTO.  It
 * scans when an attach or detach happened since the last scan, when force
 * is set (a waiter's slice has ended), when a peer that the last scan found
 * alive has ended, and at least every SCAN_EVERY_MS; otherwise (every call
 * of a busy queue) it costs a few loads.
 */
static USHM__ALWAYS_INLINE int peers_gone(struct ushm_queue *q, const char *func,
                                          unsigned want, int force)
{
    unsigned g = atomic_load_explicit(&q->f->gen, memory_order_acquire);
    unsigned seen;

    if (force || g != atomic_load_explicit(&q->seen_gen, memory_order_relaxed) ||
        !news_fresh(q)) {
        int err = ushm__queue_peers_scan(q, func, g, &seen);

        if (err < 0)
            return err;
    } else {
        seen = atomic_load_explicit(&q->live, memory_order_relaxed);
    }
    return ((seen >> 4) & want) && !(seen & want);
}

#endif
